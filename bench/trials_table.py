"""`tui-tuner trials` on a long study: time and peak memory at 10,000 and 100,000 trials, per format.

    python bench/trials_table.py [--trials 100000]

The journal is made up (a study record, then each trial started, 3 reports, and finished 80%, failed 10%,
pruned 10%), written as the study writes it. Linear work shows as a time ratio near 10 between the two sizes.
Target (issue 12): 100,000 trials streamed, no quadratic work.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tui_tuner.storage import JOURNAL_NAME, dumps


def make_study(directory: Path, trials: int) -> int:
    """A study directory of `trials` made-up trials; returns the journal's size in bytes."""
    rng, t = random.Random(0), 1.7e9
    directory.mkdir(parents=True)
    with open(directory / JOURNAL_NAME, "w") as f:
        f.write(dumps({"event": "study", "name": "bench", "metric": "loss", "direction": "minimize", "time": t,
                       "settings": {"strategy": "random", "seed": 0}, "base_dir": "."}) + "\n")
        for n in range(trials):
            params = {"x": rng.random(), "lr": 10 ** rng.uniform(-4, -1), "units": rng.randint(16, 512),
                      "opt": rng.choice(["adam", "sgd"])}
            f.write(dumps({"event": "started", "number": n, "params": params, "seed": n, "time": t}) + "\n")
            for step in range(3):
                f.write(dumps({"event": "reported", "number": n, "step": step, "values": {"loss": 1 / (step + 1)},
                               "time": t}) + "\n")
            end = rng.random()
            if end < 0.8:
                f.write(dumps({"event": "finished", "number": n, "value": params["x"], "duration": 1.0,
                               "metrics": {"loss": params["x"], "acc": 1 - params["x"]}, "time": t + 1}) + "\n")
            elif end < 0.9:
                f.write(dumps({"event": "failed", "number": n, "reason": "boom", "duration": 1.0, "time": t + 1}) + "\n")
            else:
                f.write(dumps({"event": "pruned", "number": n, "step": 2, "duration": 1.0, "time": t + 1}) + "\n")
            t += 1
    return (directory / JOURNAL_NAME).stat().st_size


def measure(directory: Path, fmt: str) -> tuple[float, float, int]:
    """(seconds, peak MB, rows) of `tui-tuner trials DIR --format fmt` in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "trials", str(directory), "--format", fmt],
                         capture_output=True, check=True).stdout
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    rows = out.count(b"\n") - (1 if fmt == "csv" else 2 if fmt == "json" else 0)
    return seconds, peak, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [args.trials // 10, args.trials]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'trials':>8} {'journal MB':>10} {'format':>6} {'seconds':>8} {'peak MB':>8}")
        times = {}
        for trials in sizes:
            directory = Path(tmp) / str(trials)
            size = make_study(directory, trials)
            for fmt in ("csv", "jsonl", "json"):
                seconds, peak, rows = measure(directory, fmt)
                assert rows == trials, (rows, trials)
                times[trials, fmt] = seconds
                print(f"{trials:>8} {size / 1e6:>10.1f} {fmt:>6} {seconds:>8.2f} {peak:>8.0f}")
        ratio = times[sizes[1], "csv"] / times[sizes[0], "csv"]
        print(f"csv time ratio {sizes[1]:,} / {sizes[0]:,} trials: {ratio:.1f} (10 is linear)")


if __name__ == "__main__":
    main()
