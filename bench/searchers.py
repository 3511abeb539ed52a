"""Our searchers against Optuna, scikit-optimize and Hyperopt, side by side, through one ask/tell adapter each.

    pip install -e '.[bench]'          # the peers: never needed by users or tests
    python bench/searchers.py [--trials 50] [--seeds 5] [--problems branin ackley5 ...] [--timing-only]

Problems (all minimised): Branin, Ackley 5-D, Rosenbrock 4-D, Hartmann 6-D, a mixed space (two log-floats,
an int, a 3-way categorical) and a real scikit-learn task (SVC on digits, 3-fold CV error). Per problem:
the median over seeds of the best value after 10, 25 and 50 trials, and each searcher's rank by its median
at the end (1 = best; ties share); then the mean rank over problems. Then the median ask+tell time after
50, 100, 200 and 400 told trials (random configs told, then 5 timed asks) on the mixed problem.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import time
import warnings

import numpy as np

from _peers import numeric_only, ranks, run_one, searchers
from tui_tuner import SearchSpace

CHECKPOINTS = (10, 25, 50)

# ------------------------------------------------------------------------------------------------ problems


def branin(c):
    x1, x2 = c["x1"], c["x2"]
    return (x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2 + 10 * (
        1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def ackley(c):
    x = np.array([c[f"x{i}"] for i in range(5)])
    return float(-20 * np.exp(-0.2 * np.sqrt((x ** 2).mean())) - np.exp(np.cos(2 * np.pi * x).mean()) + 20 + np.e)


def rosenbrock(c):
    x = np.array([c[f"x{i}"] for i in range(4)])
    return float(((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum())


HARTMANN_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                       [17, 8, 0.05, 10, 0.1, 14]])
HARTMANN_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                              [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(c):
    x = np.array([c[f"x{i}"] for i in range(6)])
    return float(-np.dot([1.0, 1.2, 3.0, 3.2], np.exp(-(HARTMANN_A * (x - HARTMANN_P) ** 2).sum(1))))


def mixed(c):
    """A tuning-like surface: the rates matter on a log scale and interact, the int has an optimum, the
    categorical shifts and rescales."""
    a, b = math.log10(c["lr"]), math.log10(c["wd"])
    shift = {"adam": 0.0, "sgd": 0.4, "rmsprop": 0.2}[c["opt"]]
    scale = {"adam": 1.0, "sgd": 1.6, "rmsprop": 1.2}[c["opt"]]
    return scale * ((a + 2.5 + 0.3 * (b + 4)) ** 2 + 0.3 * (b + 4) ** 2) + 0.05 * (c["units"] - 90) ** 2 / 100 + shift


class SvcDigits:
    """SVC on scikit-learn's digits: 3-fold cross-validated error for C, gamma and the kernel."""

    def __init__(self):
        from sklearn.datasets import load_digits
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        self.X, self.y = StandardScaler().fit_transform(X[:900]), y[:900]

    def __call__(self, c):
        from sklearn.model_selection import cross_val_score
        from sklearn.svm import SVC

        model = SVC(C=c["C"], gamma=c["gamma"], kernel=c["kernel"])
        return 1.0 - float(cross_val_score(model, self.X, self.y, cv=3).mean())


def problems():
    box = lambda n, lo, hi: {f"x{i}": {"type": "float", "low": lo, "high": hi} for i in range(n)}
    return {
        "branin": (SearchSpace.from_dict({"x1": {"type": "float", "low": -5, "high": 10},
                                          "x2": {"type": "float", "low": 0, "high": 15}}), branin),
        "ackley5": (SearchSpace.from_dict(box(5, -32.768, 32.768)), ackley),
        "rosenbrock4": (SearchSpace.from_dict(box(4, -5, 10)), rosenbrock),
        "hartmann6": (SearchSpace.from_dict(box(6, 0, 1)), hartmann6),
        "mixed": (SearchSpace.from_dict({
            "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
            "wd": {"type": "float", "low": 1e-7, "high": 1e-1, "log": True},
            "units": {"type": "int", "low": 8, "high": 512},
            "opt": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]}}), mixed),
        "svc_digits": (SearchSpace.from_dict({
            "C": {"type": "float", "low": 1e-3, "high": 1e3, "log": True},
            "gamma": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
            "kernel": {"type": "categorical", "choices": ["rbf", "poly", "sigmoid"]}}), SvcDigits()),
    }

def quality(args, make_all) -> None:
    all_ranks: dict[str, list[float]] = {}
    for name, (space, objective) in problems().items():
        if args.problems and name not in args.problems:
            continue
        finals, table = {}, []
        for sname, make in make_all.items():
            if sname == "optuna-cmaes" and not numeric_only(space):
                continue  # CMA-ES where numeric
            curves = [run_one(make, space, objective, seed, args.trials).curve for seed in range(args.seeds)]
            medians = [statistics.median(c[k - 1] for c in curves) for k in CHECKPOINTS if k <= args.trials]
            finals[sname] = medians[-1]
            table.append((sname, medians))
        r = ranks(finals)
        print(f"\n{name} ({len(space)}-D, {args.seeds} seeds): median best after {', '.join(map(str, CHECKPOINTS))} "
              f"trials, rank at {args.trials}")
        for sname, medians in table:
            print(f"  {sname:14}" + "".join(f"{m:>12.5g}" for m in medians) + f"{r[sname]:>7.1f}")
            all_ranks.setdefault(sname, []).append(r[sname])
    print(f"\nmean rank over problems ({args.trials} trials):")
    for sname, rs in sorted(all_ranks.items(), key=lambda kv: statistics.mean(kv[1])):
        print(f"  {sname:14}{statistics.mean(rs):>6.2f}  ({len(rs)} problems)")


def timing(args, make_all) -> None:
    space, objective = problems()["mixed"]
    print("\nmedian ask+tell seconds after N told trials (mixed problem; random configs told, 5 timed asks)")
    print(f"  {'':14}" + "".join(f"{n:>10}" for n in args.told))
    for sname, make in make_all.items():
        if sname == "optuna-cmaes":
            continue
        searcher = make(space, 0)
        rng = np.random.default_rng(0)
        told, row = 0, []
        for target in args.told:
            if sname == "hyperopt-tpe":  # it takes only results of its own suggestions
                while told < target:
                    config = searcher.ask()
                    searcher.tell(config, objective(config))
                    told += 1
            else:
                configs = [space.sample(rng) for _ in range(target - told)]
                values = [objective(c) for c in configs]
                if hasattr(searcher, "tell_many"):
                    searcher.tell_many(configs, values)
                else:
                    for config, value in zip(configs, values):
                        searcher.tell(config, value)
                told = target
            times = []
            for _ in range(5):
                start = time.perf_counter()
                config = searcher.ask()
                searcher.tell(config, objective(config))
                times.append(time.perf_counter() - start)
                told += 1
            row.append(statistics.median(times))
        print(f"  {sname:14}" + "".join(f"{t:>10.4f}" for t in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="*")
    parser.add_argument("--searchers", nargs="*")
    parser.add_argument("--told", type=int, nargs="*", default=[50, 100, 200, 400])
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("hyperopt").setLevel(logging.ERROR)
    make_all = {k: v for k, v in searchers().items() if not args.searchers or k in args.searchers}
    if not args.timing_only:
        quality(args, make_all)
    if not args.no_timing:
        timing(args, make_all)


if __name__ == "__main__":
    main()
