"""Multi-objective search against Optuna, side by side in one process: hypervolume at 50 and 200 trials.

    python bench/multi_objective.py [--trials 50 200] [--seeds 3] [--seeds-at-max 3] [--problems zdt1 ...]

Ours: genetic (steady-state NSGA-II) and bayes (a GP a metric, expected hypervolume improvement). Optuna's:
NSGAIISampler and TPESampler (multivariate). Problems with known fronts, all minimised over [0, 1]^d, the
problem set split before any tuning: ZDT1 (d=6) and DTLZ2 (3 metrics, d=6) are the tuning problems; ZDT2
(concave front) and ZDT3 (disconnected front), both d=6, are held out. And a real one, front unknown: a
decision tree on digits (4 params), 3-fold CV error against the fitted tree's pickled size as log10(bytes) /
6, through our estimator objective. Hypervolume against a fixed reference point (1.1 in every metric), as a
share of the true front's (1.0 = the whole front found; the real problem's as it is); median over seeds, three
at each budget by default (`--seeds-at-max` runs fewer at the largest, should a slower machine need it to stay
under five minutes).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

import numpy as np

from tui_tuner import SearchSpace, make_searcher
from tui_tuner.analysis.pareto import hypervolume
from tui_tuner.space import IntParam

D = 6
REFERENCE = 1.1


def zdt_g(x: np.ndarray) -> float:
    return 1 + 9 * x[1:].mean()


def zdt1(x):
    g = zdt_g(x)
    return x[0], g * (1 - np.sqrt(x[0] / g))


def zdt2(x):
    g = zdt_g(x)
    return x[0], g * (1 - (x[0] / g) ** 2)


def zdt3(x):
    g = zdt_g(x)
    return x[0], g * (1 - np.sqrt(x[0] / g) - x[0] / g * np.sin(10 * np.pi * x[0]))


def dtlz2(x):
    g = ((x[2:] - 0.5) ** 2).sum()
    a, b = x[0] * np.pi / 2, x[1] * np.pi / 2
    return (1 + g) * np.cos(a) * np.cos(b), (1 + g) * np.cos(a) * np.sin(b), (1 + g) * np.sin(a)


def optimal_hypervolume(problem: str) -> float:
    """The hypervolume of the whole known front: exact for DTLZ2 (the cube less the unit sphere's octant),
    a 20,001-point sample of the front for the ZDTs (g at its minimum, 1)."""
    if problem == "dtlz2":
        return REFERENCE ** 3 - np.pi / 6
    t = np.linspace(0, 1, 20001)
    f2 = {"zdt1": lambda: 1 - np.sqrt(t), "zdt2": lambda: 1 - t ** 2,
          "zdt3": lambda: 1 - np.sqrt(t) - t * np.sin(10 * np.pi * t)}[problem]()
    return hypervolume(np.column_stack([t, f2]), [REFERENCE, REFERENCE])


SPACE = SearchSpace.from_dict({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(D)})
TREE_PARAMS = {"max_depth": {"type": "int", "low": 1, "high": 30, "log": True},
               "min_samples_leaf": {"type": "int", "low": 1, "high": 50, "log": True},
               "max_features": {"type": "float", "low": 0.1, "high": 1.0},
               "ccp_alpha": {"type": "float", "low": 1e-5, "high": 0.05, "log": True}}


def on_vector(function):
    """A test function of x in [0, 1]^D as a function of a config."""
    return lambda config: function(np.array([config[f"x{i}"] for i in range(D)]))


class TreeOnDigits:
    """The real problem: a decision tree on digits through our estimator objective, 3-fold CV error against
    the fitted tree's size (`model_size`, pickled bytes: deterministic, unlike a clock), as log10(bytes) / 6."""

    def __init__(self) -> None:
        from tui_tuner.spec import spec_from_dict

        self.objective = spec_from_dict({"objective": {
            "model": "sklearn.tree.DecisionTreeClassifier", "dataset": "digits",
            "metric": ["accuracy", "model_size"], "validation": {"kfold": 3}}, "params": TREE_PARAMS}).objective

    def __call__(self, config: dict) -> tuple[float, float]:
        from tui_tuner.trial import Trial

        result = self.objective(config, Trial.offline(seed=0, params=config))
        return 1 - result["accuracy"], np.log10(result["model_size"]) / 6


PROBLEMS = {"zdt1": (on_vector(zdt1), 2, SPACE), "dtlz2": (on_vector(dtlz2), 3, SPACE),
            "zdt2": (on_vector(zdt2), 2, SPACE), "zdt3": (on_vector(zdt3), 2, SPACE),
            "tree_digits": (TreeOnDigits(), 2, SearchSpace.from_dict(TREE_PARAMS))}
TUNING, HELD_OUT, REAL = ("zdt1", "dtlz2"), ("zdt2", "zdt3"), ("tree_digits",)


def run_ours(strategy: str, problem: str, trials: int, seed: int) -> np.ndarray:
    function, m, space = PROBLEMS[problem]
    searcher = make_searcher(strategy, space, seed=seed, direction=["minimize"] * m)
    points = []
    for _ in range(trials):
        config = searcher.ask()
        points.append(function(config))
        searcher.tell(config, points[-1])
    return np.array(points)


def suggest(trial, space: SearchSpace) -> dict:
    """The same space through Optuna's suggest API (numbers only: all these problems have)."""
    config = {}
    for p in space.params:
        kind = trial.suggest_int if isinstance(p, IntParam) else trial.suggest_float
        config[p.name] = kind(p.name, p.low, p.high, log=p.log)
    return config


def run_optuna(sampler_name: str, problem: str, trials: int, seed: int) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    function, m, space = PROBLEMS[problem]
    if sampler_name == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate is "experimental"
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    study = optuna.create_study(directions=["minimize"] * m, sampler=sampler)
    study.optimize(lambda t: function(suggest(t, space)), n_trials=trials)
    return np.array([t.values for t in study.trials])


RUNNERS = {"ours genetic": lambda *a: run_ours("genetic", *a), "ours bayes": lambda *a: run_ours("bayes", *a),
           "optuna NSGA-II": lambda *a: run_optuna("nsga2", *a), "optuna TPE": lambda *a: run_optuna("tpe", *a)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seeds-at-max", type=int, default=3)
    parser.add_argument("--problems", nargs="+", default=[*TUNING, *HELD_OUT, *REAL], choices=sorted(PROBLEMS))
    args = parser.parse_args()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    started = time.time()
    optimum = {p: optimal_hypervolume(p) if p not in REAL else 1.0 for p in args.problems}
    budget = max(args.trials)
    table: dict[tuple[str, str, int], float] = {}
    seconds: dict[str, float] = {name: 0.0 for name in RUNNERS}
    for problem in args.problems:
        m = PROBLEMS[problem][1]
        for name, runner in RUNNERS.items():
            shares = {t: [] for t in args.trials}
            for seed in range(args.seeds):
                # one run to the largest budget per seed; smaller budgets read its first trials
                runs_to = budget if seed < args.seeds_at_max else max(t for t in args.trials if t < budget) \
                    if len(args.trials) > 1 else budget
                tic = time.perf_counter()
                points = runner(problem, runs_to, seed)
                seconds[name] += time.perf_counter() - tic
                for t in args.trials:
                    if t <= runs_to:
                        shares[t].append(hypervolume(points[:t], [REFERENCE] * m) / optimum[problem])
            for t in args.trials:
                table[problem, name, t] = statistics.median(shares[t])
        print(f"  {problem} done ({time.time() - started:.0f}s)", flush=True)

    names = list(RUNNERS)
    for title, problems in (("tuning problems: hypervolume / the true front's (1.0 = the whole front)", TUNING),
                            ("held-out problems: hypervolume / the true front's", HELD_OUT),
                            ("a real problem, front unknown: hypervolume (higher is better)", REAL)):
        problems = [p for p in problems if p in args.problems]
        if not problems:
            continue
        print(f"\n{title}, median over seeds")
        print(f"{'problem':11} {'trials':>6}  " + "  ".join(f"{n:>14}" for n in names))
        for problem in problems:
            for t in args.trials:
                cells = [table[problem, n, t] for n in names]
                best = max(cells)
                print(f"{problem:11} {t:>6}  " + "  ".join(
                    f"{c:>13.3f}{'*' if c == best else ' '}" for c in cells))
    print("\n* = best at that budget. Seconds spent per searcher (all problems, all seeds): "
          + ", ".join(f"{n} {s:.0f}" for n, s in seconds.items()))
    print(f"seeds: {args.seeds} at {', '.join(str(t) for t in args.trials if t < budget)} trials, "
          f"{min(args.seeds, args.seeds_at_max)} at {budget}; total {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
