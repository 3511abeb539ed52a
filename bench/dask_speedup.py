"""Trials on dask.distributed against the process pool, on this machine.

    python bench/dask_speedup.py [--seconds 0.25] [--trials 12] [--noop-trials 30]

For 1, 2 and 4 trials at once, the same engine runs `--trials` sleeping trials (three reports each, as a
trial waiting on I/O or a GPU) and half as many CPU-bound ones, on the process pool and on a dask
LocalCluster of as many worker processes (127.0.0.1, one thread each). Each executor is opened and warmed
(one trial a worker: its child process started) before the clock starts. Prints each run's seconds, the
speedup over the pool with 1 worker, and the overhead a trial: wall time over the ideal (trials x seconds /
workers) a trial, and the seconds of a no-op trial with 1 worker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _dask_trials as trials  # noqa: E402 - beside this file, found by name on the workers too

from tui_tuner import SearchSpace, make_searcher  # noqa: E402
from tui_tuner.engine import Engine  # noqa: E402
from tui_tuner.executors.dask import DaskExecutor  # noqa: E402
from tui_tuner.executors.pool import ProcessExecutor  # noqa: E402

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
WORKERS = (1, 2, 4)


class Fixed:
    """`function(params + seconds, trial)`, picklable: the workers import `function` from the shipped bench/."""

    def __init__(self, function, seconds: float) -> None:
        self.function, self.seconds = function, seconds

    def __call__(self, params, trial):
        return self.function({**params, "seconds": self.seconds}, trial)


async def timed(executor, objective, count: int) -> float:
    engine = Engine(objective, make_searcher("random", SPACE, seed=0), executor, trials=count, seed=0)
    begin = time.perf_counter()
    await engine.run()
    return time.perf_counter() - begin


async def measure(kind: str, workers: int, seconds: float, count: int, noops: int) -> dict[str, float]:
    if kind == "pool":
        executor = ProcessExecutor(workers)
    else:
        executor = DaskExecutor(f"local:{workers}", workers=workers, code_folder=str(Path(__file__).parent))
    await executor.open()
    try:
        await timed(executor, Fixed(trials.noop, 0), workers)  # warm: every worker's process started
        return {"sleep": await timed(executor, Fixed(trials.sleepy, seconds), count),
                "cpu": await timed(executor, Fixed(trials.burn, seconds), count // 2),
                "noop": await timed(executor, Fixed(trials.noop, 0), noops) / noops if workers == 1 else float("nan")}
    finally:
        await executor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.25, help="each trial's sleep or CPU time")
    parser.add_argument("--trials", type=int, default=12, help="sleeping trials a run (CPU-bound: half as many)")
    parser.add_argument("--noop-trials", type=int, default=30, help="no-op trials for the overhead at 1 worker")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)

    results = {(kind, n): asyncio.run(measure(kind, n, args.seconds, args.trials, args.noop_trials))
               for kind in ("pool", "dask") for n in WORKERS}
    base = results["pool", 1]
    print(f"{args.trials} sleeping and {args.trials // 2} CPU-bound trials of {args.seconds:g} s; speedup over the "
          f"pool with 1 worker; overhead: wall time over the ideal, a trial")
    print(f"{'executor':>9} {'workers':>7} {'sleep s':>8} {'speedup':>8} {'ms/trial':>9} {'cpu s':>7} {'speedup':>8} "
          f"{'ms/trial':>9}")
    for (kind, n), r in results.items():
        over_sleep = (r["sleep"] - args.trials * args.seconds / n) / args.trials * 1e3
        cpu_trials = args.trials // 2
        over_cpu = (r["cpu"] - cpu_trials * args.seconds / min(n, os.cpu_count() or 1)) / cpu_trials * 1e3
        print(f"{kind:>9} {n:>7} {r['sleep']:>8.2f} {base['sleep'] / r['sleep']:>8.2f} {over_sleep:>9.1f} "
              f"{r['cpu']:>7.2f} {base['cpu'] / r['cpu']:>8.2f} {over_cpu:>9.1f}")
    print(f"no-op trial, 1 worker: pool {results['pool', 1]['noop'] * 1e3:.1f} ms, "
          f"dask {results['dask', 1]['noop'] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
