"""What bayes should be told of a pruned trial: a failure, its last reported value, or the worst finished value.

    python bench/pruned_trials.py [--trials 60] [--seeds 0 1 2 3 4 5 6 7] [--pruner successive_halving]

Learning curves on a 3-D space (the final loss a sum of three wells, each curve falling towards it from a
config-dependent start, a little noise a step) run one trial at a time under the pruner, in process: bayes
asks, the curve is reported step by step, a pruned trial is told by `tell_pruned`. For each way of telling
(bayes's `pruned` option) and seed: the best final loss, the epochs trained, the trials pruned. Smaller is
better for all three; the median over seeds is printed last.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from tui_tuner import SearchSpace, make_searcher
from tui_tuner.pruners import make_pruner, pruner_from_yaml
from tui_tuner.searchers.bayes import PRUNED

SPACE = SearchSpace.from_dict({name: {"type": "float", "low": 0.0, "high": 1.0} for name in ("a", "b", "c")})
CENTRES = np.array([[0.2, 0.8, 0.3], [0.75, 0.25, 0.85], [0.5, 0.5, 0.1]])
DEPTHS = np.array([1.0, 1.3, 0.8])
EPOCHS = 27  # rungs of successive halving (factor 3) at epochs 1, 3, 9, 27


def final_loss(x: np.ndarray) -> float:
    """At least 0.2, the best (about 0.2) near (0.75, 0.25, 0.85)."""
    return float(1.5 - (DEPTHS * np.exp(-((x - CENTRES) ** 2).sum(1) / 0.04)).sum())


def curve(config: dict, seed: int) -> list[float]:
    """The loss at each epoch: from about 1.5 + start(x) down to the final loss, a little noise a step."""
    x = np.array([config[k] for k in ("a", "b", "c")])
    rng = np.random.default_rng([seed, *np.round(x * 1e6).astype(int)])
    start = 1.0 + x[0] - x[2]  # how far above its final value a config starts: pruning misjudges some
    steps = np.arange(EPOCHS)
    return list(final_loss(x) + start * 0.8 ** steps + rng.normal(0, 0.01, EPOCHS))


def run(pruned: str, seed: int, trials: int, pruner_name: str) -> tuple[float, int, int]:
    """(best final loss, epochs trained, trials pruned) of one study."""
    searcher = make_searcher("bayes", SPACE, seed=seed, pruned=pruned)
    pruner = make_pruner(pruner_from_yaml(pruner_name, file=None), "loss", "minimize")
    best, epochs, pruned_count = float("inf"), 0, 0
    for number in range(trials):
        config = searcher.ask()
        values = curve(config, seed)
        for step, value in enumerate(values):
            epochs += 1
            if pruner.on_report(number, step, {"loss": value}):
                searcher.tell_pruned(config, step, value)
                pruner.on_finish(number, "pruned")
                pruned_count += 1
                break
        else:
            searcher.tell(config, values[-1])
            pruner.on_finish(number, "finished")
            best = min(best, values[-1])
    return best, epochs, pruned_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--pruner", default="successive_halving")
    args = parser.parse_args()
    print(f"bayes, {args.trials} trials a study, {args.pruner} pruner, {EPOCHS} epochs a full trial; the best "
          f"final loss possible is about 0.2")
    print(f"{'told as':>8} " + " ".join(f"{f'seed {s}':>8}" for s in args.seeds) + f" {'median':>8} "
          f"{'epochs':>7} {'pruned':>7}")
    for pruned in PRUNED:
        results = [run(pruned, seed, args.trials, args.pruner) for seed in args.seeds]
        bests = [r[0] for r in results]
        print(f"{pruned:>8} " + " ".join(f"{b:>8.4f}" for b in bests) + f" {statistics.median(bests):>8.4f} "
              f"{statistics.median(r[1] for r in results):>7.0f} {statistics.median(r[2] for r in results):>7.0f}")


if __name__ == "__main__":
    main()
