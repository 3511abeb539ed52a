"""Our fANOVA importance against Optuna's FanovaImportanceEvaluator, side by side, on functions whose answer
is known.

    python bench/importance.py [--trials 200] [--seeds 0 1 2] [--held-out] [--big 10000]

For each function and seed, the same random configs go to both; printed: each param's share by each
(mean over seeds), the rank agreement (Kendall tau between the two rankings, and whether the top param is
the same), the analytic shares (by the law of total variance for the conditional function), and the seconds
each took. `--held-out` adds the function kept apart while the estimator was built (run it last, once).
`--big N` times ours on N trials of a 21-param space.
Optuna ranks only the params every trial holds, so it leaves a conditional param out.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from types import SimpleNamespace

import numpy as np
from scipy.stats import kendalltau

from tui_tuner.analysis.importance import param_importance
from tui_tuner.space import CategoricalParam, IntParam, SearchSpace

FUNCTIONS = {
    # name: (params, f(config, rng), analytic shares)
    "linear 10:1:0": (
        {"x1": {"type": "float", "low": 0.0, "high": 1.0}, "x2": {"type": "float", "low": 0.0, "high": 1.0},
         "x3": {"type": "float", "low": 0.0, "high": 1.0}},
        lambda c, rng: 10 * c["x1"] + c["x2"] + rng.normal(0, 0.1),
        {"x1": 100 / 101, "x2": 1 / 101, "x3": 0.0},
    ),
    "categorical + log + int": (
        {"opt": {"type": "categorical", "choices": ["a", "b", "c"]},
         "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
         "units": {"type": "int", "low": 1, "high": 8}},
        lambda c, rng: {"a": 0.0, "b": 5.0, "c": 10.0}[c["opt"]] + math.log10(c["lr"]) + rng.normal(0, 0.1),
        # var over 3 equal choices of {0,5,10} = 50/3; log10(lr) uniform over 4 decades: 16/12
        {"opt": (50 / 3) / (50 / 3 + 16 / 12), "lr": (16 / 12) / (50 / 3 + 16 / 12), "units": 0.0},
    ),
    "conditional": (
        {"optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
         "momentum": {"type": "float", "low": 0.0, "high": 1.0, "when": {"optimizer": "sgd"}},
         "x": {"type": "float", "low": 0.0, "high": 1.0}},
        lambda c, rng: (6 * c["momentum"] if c["optimizer"] == "sgd" else 2.0) + 0.5 * c["x"] + rng.normal(0, 0.1),
        # by total variance: between optimizers 0.25, momentum within sgd 0.5 * 3, x 0.25 / 12
        {"optimizer": 0.25 / (1.75 + 1 / 48), "momentum": 1.5 / (1.75 + 1 / 48), "x": (1 / 48) / (1.75 + 1 / 48)},
    ),
}
HELD_OUT = {
    "held-out: bowl + step": (
        {"a": {"type": "float", "low": -2.0, "high": 2.0}, "b": {"type": "int", "low": 0, "high": 20},
         "c": {"type": "categorical", "choices": ["p", "q", "r", "s"]},
         "d": {"type": "float", "low": 1e-3, "high": 10.0, "log": True}},
        lambda c, rng: 3 * c["a"] ** 2 + (2.0 if c["b"] > 10 else 0.0) + rng.normal(0, 0.1),
        # var(3 a^2) = 9 (16/5 - 16/9) = 12.8; var of the step: 4 (10/21) (11/21)
        {"a": 12.8 / (12.8 + 440 / 441), "b": (440 / 441) / (12.8 + 440 / 441), "c": 0.0, "d": 0.0},
    ),
}


def optuna_shares(space: SearchSpace, configs: list[dict], values: list[float], seed: int) -> dict[str, float]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    def distribution(p):
        if isinstance(p, CategoricalParam):
            return CategoricalDistribution(list(p.choices))
        if isinstance(p, IntParam):
            return IntDistribution(p.low, p.high, log=p.log)
        return FloatDistribution(p.low, p.high, log=p.log)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for config, value in zip(configs, values):
        study.add_trial(optuna.trial.create_trial(
            params=config, distributions={k: distribution(space[k]) for k in config}, value=value))
    return get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))


def compare(name: str, params: dict, f, analytic, trials: int, seeds: list[int]) -> None:
    space = SearchSpace.from_dict(params)
    ours, theirs, taus, tops, t_ours, t_theirs = [], [], [], [], [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        configs = [space.sample(rng) for _ in range(trials)]
        values = [float(f(c, rng)) for c in configs]
        records = [SimpleNamespace(state="finished", value=v, params=c) for c, v in zip(configs, values)]
        start = time.perf_counter()
        mine = param_importance(records, space, seed=seed).importance
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        other = optuna_shares(space, configs, values, seed)
        t_theirs.append(time.perf_counter() - start)
        common = [k for k in space.names if k in other]
        taus.append(kendalltau([mine[k] for k in common], [other[k] for k in common]).statistic)
        tops.append(max(common, key=mine.get) == max(common, key=other.get))
        ours.append(mine)
        theirs.append(other)
    print(f"\n{name}: {trials} trials, seeds {seeds}")
    print(f"  {'param':<10} {'ours':>7} {'optuna':>7} {'analytic':>9}")
    for k in space.names:
        mine = statistics.mean(o[k] for o in ours)
        other = statistics.mean(o[k] for o in theirs) if all(k in o for o in theirs) else None
        truth = analytic[k]
        print(f"  {k:<10} {mine:7.3f} {'-' if other is None else f'{other:.3f}':>7} "
              f"{'-' if truth is None else f'{truth:.3f}':>9}  (ours per seed: "
              f"{', '.join(f'{o[k]:.3f}' for o in ours)})")
    print(f"  rank agreement: Kendall tau {statistics.mean(taus):.2f}, same top param {sum(tops)}/{len(tops)}")
    print(f"  seconds: ours {statistics.mean(t_ours):.2f}, optuna {statistics.mean(t_theirs):.2f}")


def time_big(n: int) -> None:
    """Ours on n trials of a 21-param space (floats, log floats, ints, categoricals, a conditional)."""
    params = {f"f{i}": {"type": "float", "low": 1e-4, "high": 1.0, "log": i % 2 == 0} for i in range(12)}
    params.update({f"c{i}": {"type": "categorical", "choices": list(range(8))} for i in range(4)})
    params.update({f"i{i}": {"type": "int", "low": 1, "high": 500} for i in range(4)})
    params["m"] = {"type": "float", "low": 0.0, "high": 1.0, "when": {"c0": [0, 1, 2]}}
    space = SearchSpace.from_dict(params)
    rng = np.random.default_rng(0)
    records = []
    for _ in range(n):
        c = space.sample(rng)
        value = sum(math.log(c[f"f{i}"]) if i % 2 == 0 else c[f"f{i}"] for i in range(12)) + c["c1"] \
            + c["i0"] / 100 + c.get("m", 0.0) + rng.normal()
        records.append(SimpleNamespace(state="finished", value=value, params=c))
    start = time.perf_counter()
    result = param_importance(records, space)
    print(f"\n{n} trials, {len(space)} params: ours in {time.perf_counter() - start:.2f} s ({result.note}); "
          f"{result.ranking(8)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--held-out", action="store_true", help="also the function kept apart while building")
    parser.add_argument("--big", type=int, default=10000, help="time ours on this many trials (0: skip)")
    args = parser.parse_args()
    functions = {**FUNCTIONS, **(HELD_OUT if args.held_out else {})}
    for name, (params, f, analytic) in functions.items():
        compare(name, params, f, analytic, args.trials, args.seeds)
    if args.big:
        time_big(args.big)


if __name__ == "__main__":
    main()
