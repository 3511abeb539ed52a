"""Engine overhead and parallel speedup, against the standard library's process pool run side by side.

    python bench/engine_overhead.py [--trials 400] [--cpu-trials 8]

1. Per-trial overhead: a no-op objective through the full engine (searcher ask/tell, events, worker pipe)
   with 1 and 2 workers, next to `concurrent.futures.ProcessPoolExecutor` mapping the same no-op.
2. Speedup: a 0.5 s CPU-bound objective on 2 workers over 1 worker.
Targets (issue 2): overhead under 5 ms a trial, speedup at least 1.8.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import time

from tui_tuner import SearchSpace, make_searcher
from tui_tuner.engine import Engine
from tui_tuner.executors.pool import ProcessExecutor

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


def noop(params, trial=None):
    return 0.0


def burn(params, trial=None, seconds=0.5):
    """Pure-Python CPU work for about `seconds` (no sleeping: it must occupy a core)."""
    end = time.process_time() + seconds
    x = 0
    while time.process_time() < end:
        for i in range(10_000):
            x += i * i
    return float(x % 7)


async def engine_seconds(objective, trials: int, workers: int) -> float:
    executor = ProcessExecutor(workers)
    engine = Engine(objective, make_searcher("random", SPACE, seed=0), executor, trials=trials, seed=0)
    executor.start()
    await asyncio.sleep(0.5)  # workers up before the clock starts, as for the pool below
    begin = time.perf_counter()
    await engine.run()
    elapsed = time.perf_counter() - begin
    await executor.close()
    return elapsed


def pool_seconds(objective, trials: int, workers: int) -> float:
    ctx = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        list(pool.map(objective, [{"x": 0.0}] * workers))  # warm up: workers started
        begin = time.perf_counter()
        list(pool.map(objective, [{"x": i / trials} for i in range(trials)]))
        return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400, help="no-op trials per run")
    parser.add_argument("--cpu-trials", type=int, default=8, help="0.5 s trials per run for the speedup")
    args = parser.parse_args()

    print(f"no-op objective, {args.trials} trials")
    print(f"{'workers':>8} {'engine ms/trial':>16} {'trials/s':>9} {'pool ms/task':>13} {'engine/pool':>12}")
    for workers in (1, 2):
        ours = asyncio.run(engine_seconds(noop, args.trials, workers)) / args.trials
        peer = pool_seconds(noop, args.trials, workers) / args.trials
        print(f"{workers:>8} {ours * 1e3:>16.2f} {1 / ours:>9.0f} {peer * 1e3:>13.3f} {ours / peer:>12.1f}")

    print(f"\n0.5 s CPU-bound objective, {args.cpu_trials} trials")
    one = asyncio.run(engine_seconds(burn, args.cpu_trials, 1))
    two = asyncio.run(engine_seconds(burn, args.cpu_trials, 2))
    pool_one = pool_seconds(burn, args.cpu_trials, 1)
    pool_two = pool_seconds(burn, args.cpu_trials, 2)
    print(f"engine: 1 worker {one:.2f} s, 2 workers {two:.2f} s, speedup {one / two:.2f}")
    print(f"pool:   1 worker {pool_one:.2f} s, 2 workers {pool_two:.2f} s, speedup {pool_one / pool_two:.2f}")


if __name__ == "__main__":
    main()
