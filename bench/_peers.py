"""The searchers a bench compares, each behind one ask/tell adapter, and how a run is measured and ranked.

Shared by bench/searchers.py and bench/bo_suite.py. The peers (Optuna, scikit-optimize, Hyperopt) are the
`[bench]` extra of pyproject.toml, never a runtime dependency: each is imported only when its adapter is built.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tui_tuner import make_searcher
from tui_tuner.space import CategoricalParam, IntParam

# ------------------------------------------------------------------------------------------------ adapters


class Ours:
    def __init__(self, name, space, seed):
        self.searcher = make_searcher(name, space, seed=seed)

    def ask(self):
        return self.searcher.ask()

    def tell(self, config, value):
        self.searcher.tell(config, value)

    def best(self):
        """The config the searcher calls best (for `bayes` on noisy values, not a lucky draw): a user's pick."""
        return self.searcher.best()[0]


class OptunaAdapter:
    def __init__(self, sampler, space, seed):
        import optuna
        from optuna import distributions as d

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.dists = {}
        for p in space.params:
            if isinstance(p, CategoricalParam):
                self.dists[p.name] = d.CategoricalDistribution(list(p.choices))
            elif isinstance(p, IntParam):
                self.dists[p.name] = d.IntDistribution(p.low, p.high, log=p.log)
            else:
                self.dists[p.name] = d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        self.study = optuna.create_study(sampler=sampler(seed), direction="minimize")
        self.trials = {}

    def ask(self):
        trial = self.study.ask(self.dists)
        config = dict(trial.params)
        self.trials[id(config)] = trial
        return config

    def tell(self, config, value):
        trial = self.trials.pop(id(config), None)
        if trial is None:  # a config it did not ask for
            import optuna

            self.study.add_trial(optuna.trial.create_trial(params=config, distributions=self.dists, value=value))
        else:
            self.study.tell(trial, value)


def optuna_sampler(kind):
    def build(seed):
        import optuna

        if kind == "tpe":  # univariate: Optuna 5 made multivariate the default
            return optuna.samplers.TPESampler(seed=seed, multivariate=False)
        if kind == "mtpe":
            return optuna.samplers.TPESampler(seed=seed, multivariate=True)
        if kind == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return build


class SkoptAdapter:
    def __init__(self, space, seed):
        from skopt import Optimizer
        from skopt.space import Categorical, Integer, Real

        dims = []
        for p in space.params:
            if isinstance(p, CategoricalParam):
                dims.append(Categorical(list(p.choices), name=p.name))
            elif isinstance(p, IntParam):
                dims.append(Integer(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name))
            else:
                dims.append(Real(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name))
        self.names = [p.name for p in space.params]
        self.opt = Optimizer(dims, base_estimator="GP", random_state=seed)

    def ask(self):
        return {n: (v.item() if hasattr(v, "item") else v) for n, v in zip(self.names, self.opt.ask())}

    def tell(self, config, value):
        self.opt.tell([config[n] for n in self.names], value)

    def tell_many(self, configs, values):
        """One refit for a batch (its tell refits the GP and optimises the acquisition every time)."""
        self.opt.tell([[c[n] for n in self.names] for c in configs], list(values))


class HyperoptAdapter:
    """Hyperopt's TPE driven one trial at a time: suggest into its Trials, then record the result."""

    def __init__(self, space, seed):
        from hyperopt import Trials, base, hp

        expr = {}
        for p in space.params:
            if isinstance(p, CategoricalParam):
                expr[p.name] = hp.choice(p.name, list(p.choices))
            elif isinstance(p, IntParam):
                expr[p.name] = hp.uniformint(p.name, p.low, p.high) if not p.log else \
                    hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
            elif p.log:
                expr[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
            else:
                expr[p.name] = hp.uniform(p.name, p.low, p.high)
        self.space = space
        self.domain = base.Domain(lambda c: 0.0, expr)
        self.trials = Trials()
        self.rng = np.random.default_rng(seed)
        self.pending = {}

    def ask(self):
        from hyperopt import tpe
        from hyperopt.fmin import space_eval

        tid = self.trials.new_trial_ids(1)
        docs = tpe.suggest(tid, self.domain, self.trials, int(self.rng.integers(2 ** 31)))
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        doc = self.trials._dynamic_trials[-1]
        values = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        config = space_eval(self.domain.expr, values)
        config = {p.name: (int(config[p.name]) if isinstance(p, IntParam) else config[p.name])
                  for p in self.space.params}
        self.pending[id(config)] = doc
        return config

    def tell(self, config, value):
        from hyperopt import base

        doc = self.pending.pop(id(config))
        doc["state"] = base.JOB_STATE_DONE
        doc["result"] = {"loss": value, "status": base.STATUS_OK}
        self.trials.refresh()


def searchers():
    return {
        "random": lambda space, seed: Ours("random", space, seed),
        "genetic": lambda space, seed: Ours("genetic", space, seed),
        "bayes": lambda space, seed: Ours("bayes", space, seed),
        "optuna-tpe": lambda space, seed: OptunaAdapter(optuna_sampler("tpe"), space, seed),
        "optuna-mtpe": lambda space, seed: OptunaAdapter(optuna_sampler("mtpe"), space, seed),
        "optuna-gp": lambda space, seed: OptunaAdapter(optuna_sampler("gp"), space, seed),
        "optuna-cmaes": lambda space, seed: OptunaAdapter(optuna_sampler("cmaes"), space, seed),
        "skopt-gp": lambda space, seed: SkoptAdapter(space, seed),
        "hyperopt-tpe": lambda space, seed: HyperoptAdapter(space, seed),
    }


def numeric_only(space) -> bool:
    return not any(isinstance(p, CategoricalParam) for p in space.params)

# ------------------------------------------------------------------------------------------------ running


@dataclass
class Run:
    curve: list[float]      # after each trial: the true value of the config the searcher would call best
    ask_tell_seconds: float  # the searcher's own time over the run, objective excluded


def run_one(make, space, objective, seed, trials, judge: Callable[[dict], float] | None = None) -> Run:
    """One searcher, one seed. With `judge` (a noisy objective's noiseless value) the curve scores, by its true
    value, the config a user would pick: the one our searcher's `best()` names, and for a peer its best
    observed (what Optuna users get as `study.best_trial`); a lucky draw counts for nothing. Without `judge`,
    the best observed value."""
    searcher = make(space, seed)
    best_seen, best_true, curve, spent = math.inf, math.inf, [], 0.0
    for _ in range(trials):
        started = time.perf_counter()
        config = searcher.ask()
        spent += time.perf_counter() - started
        value = objective(config)
        started = time.perf_counter()
        searcher.tell(config, value)
        named = searcher.best() if judge and hasattr(searcher, "best") else None  # timed: it may fit the model
        spent += time.perf_counter() - started
        if value < best_seen:
            best_seen = value
            best_true = judge(config) if judge else value
        curve.append(judge(named) if named is not None else best_true)
    return Run(curve, spent)


def ranks(medians: dict[str, float]) -> dict[str, float]:
    """1 = best; ties (equal to 10 significant digits: a CV error of 0.06 is 0.06) share their mean rank."""
    medians = {name: float(f"{value:.10g}") for name, value in medians.items()}
    ordered = sorted(medians.values())
    return {name: statistics.mean(i + 1 for i, v in enumerate(ordered) if v == value)
            for name, value in medians.items()}


