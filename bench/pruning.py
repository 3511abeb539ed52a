"""Successive halving against no pruning on the flagship digits MLP study, side by side.

    python bench/pruning.py [--trials 40] [--seeds 0 1 2] [--workers 2]

For each seed, the same random configs (same study seed) run twice: once to the end, once under the
study's successive-halving pruner. Printed per seed: the best validation accuracy and the total epochs
trained by each. Target (issue 4): the pruned study within 0.5 points of the unpruned best with at most
half of its epochs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tui_tuner.spec import load_spec
from tui_tuner.study import Study

STUDY = Path(__file__).parent.parent / "sample_spaces" / "mlp_digits.yaml"


def run(spec, directory: Path, *, seed: int, trials: int, workers: int) -> tuple[float, int, int, float]:
    """(best value, epochs trained, trials pruned, seconds) of one study run."""
    study = Study.create(spec, directory, seed=seed, trials=trials, workers=workers)
    start = time.perf_counter()
    asyncio.run(study.run())
    seconds = time.perf_counter() - start
    records = study.log.records.values()
    epochs = sum(len(r.reports) for r in records)
    return study.log.best().value, epochs, sum(r.state == "pruned" for r in records), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pruned_spec = load_spec(STUDY)
    full_spec = replace(pruned_spec, pruner=None)
    print(f"{STUDY.name}: {args.trials} random trials a study, {args.workers} workers, pruner "
          f"{pruned_spec.pruner}")
    print(f"{'seed':>4} {'best (full)':>12} {'best (SHA)':>11} {'diff pts':>9} {'epochs full':>12} "
          f"{'epochs SHA':>11} {'ratio':>6} {'pruned':>7} {'time ratio':>11}")
    gaps, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            full = run(full_spec, Path(tmp) / f"full-{seed}", seed=seed, trials=args.trials, workers=args.workers)
            sha = run(pruned_spec, Path(tmp) / f"sha-{seed}", seed=seed, trials=args.trials, workers=args.workers)
            gap, ratio = 100 * (sha[0] - full[0]), sha[1] / full[1]
            gaps.append(gap)
            ratios.append(ratio)
            print(f"{seed:>4} {full[0]:>12.4f} {sha[0]:>11.4f} {gap:>+9.2f} {full[1]:>12} {sha[1]:>11} "
                  f"{ratio:>6.2f} {sha[2]:>7} {sha[3] / full[3]:>11.2f}")
    print(f"median: accuracy difference {statistics.median(gaps):+.2f} points (target >= -0.5), "
          f"epochs ratio {statistics.median(ratios):.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
