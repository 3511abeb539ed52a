"""What ordered pruning costs: the same study pruned in trial order (the default) and as reports arrive.

    python bench/ordered_pruning.py [--trials 24] [--workers 2 4] [--study sample_spaces/mlp_digits.yaml]

Each study runs twice ordered and twice unordered, side by side, with the same seed and workers. Printed per
worker count: wall time of each (the ratio is the idle time ordered pruning costs: a trial's answer waits
until the trials numbered before it have reached the step), the epochs trained, the best value, and how
many trials the two runs of each mode decided differently (ordered: none, whatever the timing).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tui_tuner.spec import load_spec
from tui_tuner.study import Study

STUDY = Path(__file__).parent.parent / "sample_spaces" / "mlp_digits.yaml"


def run(spec, directory: Path, *, trials: int, workers: int) -> dict:
    study = Study.create(spec, directory, trials=trials, workers=workers)
    start = time.perf_counter()
    asyncio.run(study.run())
    records = study.log.records.values()
    return {"seconds": time.perf_counter() - start, "epochs": sum(len(r.reports) for r in records),
            "best": study.log.best().value, "decisions": {r.number: (r.state, r.pruned_step) for r in records}}


def differing(a: dict, b: dict) -> int:
    return sum(a["decisions"].get(n) != b["decisions"].get(n) for n in a["decisions"].keys() | b["decisions"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--study", type=Path, default=STUDY, help="a study file with a pruner")
    args = parser.parse_args()
    spec = load_spec(args.study)
    if spec.pruner is None:
        parser.error(f"{args.study} has no pruner")
    modes = {"ordered": replace(spec, pruner={**spec.pruner, "ordered": True}),
             "unordered": replace(spec, pruner={**spec.pruner, "ordered": False})}
    print(f"{args.study.name}: {args.trials} trials, pruner {spec.pruner['name']}")
    print(f"{'workers':>7} {'mode':>10} {'seconds':>15} {'time ratio':>10} {'epochs':>11} {'best':>17} "
          f"{'decided apart':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            runs = {mode: [] for mode in modes}
            for repeat in range(2):  # interleaved, so both modes meet the same machine load
                for mode, mode_spec in modes.items():
                    runs[mode].append(run(mode_spec, Path(tmp) / f"{mode}-{workers}-{repeat}", trials=args.trials,
                                          workers=workers))
            base = sum(r["seconds"] for r in runs["unordered"])
            for mode, (a, b) in runs.items():
                print(f"{workers:>7} {mode:>10} {a['seconds']:>7.1f} {b['seconds']:>7.1f} "
                      f"{(a['seconds'] + b['seconds']) / base:>10.2f} {a['epochs']:>5} {b['epochs']:>5} "
                      f"{a['best']:>8.4f} {b['best']:>8.4f} {differing(a, b):>13}")


if __name__ == "__main__":
    main()
