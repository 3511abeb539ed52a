"""The overhead governor on and off, side by side: a bayes study of short trials that must not wait on its searcher.

    python bench/governor.py [--trials 200] [--workers 2] [--trial-ms 50] [--seed 0]

The same study (a 4-D Hartmann-like objective that sleeps `--trial-ms` a trial) runs with the governor off
(ask_share None) and on (the default share, 5%). Printed for each: wall time, the share of it spent in asks,
the median ask, the best value found, and what the governor did. Target (issue 13): the study under the
governor close to trials x trial time / workers, its asks within a few times the share.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np

from tui_tuner import SearchSpace, make_searcher
from tui_tuner.engine import Engine
from tui_tuner.executors.pool import ProcessExecutor
from tui_tuner.spec import ASK_SHARE

SPACE = SearchSpace.from_dict({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(4)})
CENTRES = np.array([[0.2, 0.8, 0.3, 0.6], [0.7, 0.2, 0.9, 0.4], [0.5, 0.5, 0.1, 0.9]])
DEPTHS = np.array([1.0, 1.2, 0.8])


class Sleepy:
    """A sum of three Gaussian wells (the best -1.2 near (0.7, 0.2, 0.9, 0.4)) after sleeping `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, params, trial=None):
        time.sleep(self.seconds)
        x = np.array([params[f"x{i}"] for i in range(4)])
        return float(-(DEPTHS * np.exp(-((x - CENTRES) ** 2).sum(1) / 0.05)).sum())


async def run(share: float | None, args) -> tuple[float, Engine, float]:
    """(wall seconds, the engine, best value) of one study."""
    executor = ProcessExecutor(args.workers)
    searcher = make_searcher("bayes", SPACE, seed=args.seed)
    engine = Engine(Sleepy(args.trial_ms / 1000), searcher, executor, trials=args.trials, seed=args.seed,
                    ask_share=share)
    notes = []
    engine.subscribe(lambda event: notes.append(engine.governor_note))
    executor.start()
    await asyncio.sleep(0.5)  # workers up before the clock starts
    begin = time.perf_counter()
    await engine.run()
    elapsed = time.perf_counter() - begin
    await executor.close()
    best = searcher.best()
    engine.notes = [n for n in dict.fromkeys(notes) if n]  # each note the run showed, in order
    return elapsed, engine, best[1] if best else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trial-ms", type=float, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    floor = args.trials * args.trial_ms / 1000 / args.workers
    print(f"bayes, {args.trials} trials of {args.trial_ms:g} ms on {args.workers} workers (no overhead: {floor:.1f} s)")
    print(f"{'governor':>10} {'wall s':>8} {'asks s':>8} {'ask share':>10} {'median ask ms':>14} "
          f"{'last 50 asks ms':>16} {'best':>8}")
    rows = {}
    for label, share in (("off", None), (f"on {ASK_SHARE:.0%}", ASK_SHARE)):
        elapsed, engine, best = asyncio.run(run(share, args))
        asks = engine.ask_seconds
        rows[label] = elapsed
        print(f"{label:>10} {elapsed:>8.2f} {sum(asks):>8.2f} {sum(asks) / elapsed:>10.1%} "
              f"{statistics.median(asks) * 1e3:>14.1f} {statistics.median(asks[-50:]) * 1e3:>16.1f} {best:>8.4f}")
        for note in engine.notes[-3:]:
            print(f"{'':>10} {note}")
    off, on = rows.values()
    print(f"wall time on/off: {on / off:.2f}")


if __name__ == "__main__":
    main()
