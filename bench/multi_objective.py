"""Multi-objective search against Optuna, side by side in one process: hypervolume at 50 and 200 trials.

    python bench/multi_objective.py [--trials 50 200] [--seeds 3] [--seeds-at-max 3] [--problems zdt1 ...]

Ours: genetic (steady-state NSGA-II) and bayes (ParEGO on our GP). Optuna's: NSGAIISampler and TPESampler
(multivariate). Problems with known fronts, all minimised over [0, 1]^d, the problem set split before any
tuning: ZDT1 (d=6) and DTLZ2 (3 metrics, d=6) are the tuning problems; ZDT2 (concave front) and ZDT3
(disconnected front), both d=6, are held out. Hypervolume against a fixed reference point (1.1 in every
metric), as a share of the true front's (1.0 = the whole front found); median over seeds, three at each
budget by default (`--seeds-at-max` runs fewer at the largest, should a slower machine need it to stay
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


PROBLEMS = {"zdt1": (zdt1, 2), "dtlz2": (dtlz2, 3), "zdt2": (zdt2, 2), "zdt3": (zdt3, 2)}
TUNING, HELD_OUT = ("zdt1", "dtlz2"), ("zdt2", "zdt3")
SPACE = SearchSpace.from_dict({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(D)})


def run_ours(strategy: str, problem: str, trials: int, seed: int) -> np.ndarray:
    function, m = PROBLEMS[problem]
    searcher = make_searcher(strategy, SPACE, seed=seed, direction=["minimize"] * m)
    points = []
    for _ in range(trials):
        config = searcher.ask()
        points.append(function(np.array([config[f"x{i}"] for i in range(D)])))
        searcher.tell(config, points[-1])
    return np.array(points)


def run_optuna(sampler_name: str, problem: str, trials: int, seed: int) -> np.ndarray:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    function, m = PROBLEMS[problem]
    if sampler_name == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate is "experimental"
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    study = optuna.create_study(directions=["minimize"] * m, sampler=sampler)
    study.optimize(lambda t: function(np.array([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(D)])),
                   n_trials=trials)
    return np.array([t.values for t in study.trials])


RUNNERS = {"ours genetic": lambda *a: run_ours("genetic", *a), "ours bayes": lambda *a: run_ours("bayes", *a),
           "optuna NSGA-II": lambda *a: run_optuna("nsga2", *a), "optuna TPE": lambda *a: run_optuna("tpe", *a)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seeds-at-max", type=int, default=3)
    parser.add_argument("--problems", nargs="+", default=[*TUNING, *HELD_OUT], choices=sorted(PROBLEMS))
    args = parser.parse_args()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    started = time.time()
    optimum = {p: optimal_hypervolume(p) for p in args.problems}
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
    for title, problems in (("tuning problems", TUNING), ("held-out problems", HELD_OUT)):
        problems = [p for p in problems if p in args.problems]
        if not problems:
            continue
        print(f"\n{title}: hypervolume / the true front's (median over seeds; 1.0 = the whole front)")
        print(f"{'problem':8} {'trials':>6}  " + "  ".join(f"{n:>14}" for n in names))
        for problem in problems:
            for t in args.trials:
                cells = [table[problem, n, t] for n in names]
                best = max(cells)
                print(f"{problem:8} {t:>6}  " + "  ".join(
                    f"{c:>13.3f}{'*' if c == best else ' '}" for c in cells))
    print("\n* = best at that budget. Seconds spent per searcher (all problems, all seeds): "
          + ", ".join(f"{n} {s:.0f}" for n, s in seconds.items()))
    print(f"seeds: {args.seeds} at {', '.join(str(t) for t in args.trials if t < budget)} trials, "
          f"{args.seeds_at_max} at {budget}; total {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
