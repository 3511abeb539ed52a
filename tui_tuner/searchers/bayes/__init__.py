"""`bayes`: Gaussian-process Bayesian optimisation on numpy and scipy.

Each ask: a space-filling Sobol start until enough trials have finished, then a GP fit to the finished
trials (standardised values, MAP kernel hyperparameters refit less often as the history grows, at most
`max_points` trials: the best half and a seeded draw of the rest), running trials fantasised at their
predicted mean (kriging believer) so parallel workers get different configs, and the acquisition
maximised over random and local candidates (valid configs by construction; a quarter of them the best
trials with one or two categoricals or ints redrawn), the best of them then improved by a local search that
alternates L-BFGS-B on the numbers with moves of one categorical or int. Expected improvement is measured
from the best posterior mean of the finished trials, so under noise a lucky draw is not the bar to beat. A
categorical's one-hot columns share one length scale, so the kernel counts the categoricals that differ
(an overlap kernel). Failed and already-run configs are never suggested again.

With several metrics, one GP a metric and the acquisition is the expected hypervolume improvement over the
finished trials' front (`ehvi`), running trials fantasised at their predicted means; the candidates near
good trials are drawn around the best three under a random augmented Chebyshev weighting of the metrics
(ParEGO's scalarisation, Knowles 2006), so they spread along the front.

Held to less than full effort (`spend`, when the engine finds asks costly next to the trials) an ask draws
fewer candidates, polishes fewer of them, refits the kernel less often and caps the GP at fewer trials.
A pruned trial (`pruned` option, one metric) joins the GP at a value no better than what is known of it:
`last` (the default), its last reported value of the study's metric (the worst finished value when it
reported none); `worst`, the worst finished value; `failed`, left out as a failure. On
bench/pruned_trials.py (60 trials, successive halving, 8 seeds) the median best final loss was 0.36 told
`last`, 0.98 `worst`, 1.02 `failed` (the best possible about 0.2).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc
from threadpoolctl import ThreadpoolController

from ...analysis.pareto import normalised, pareto_ranks
from ...errors import InputError
from ...options import Number, OneOf, Option, Whole
from ...space import CategoricalParam, Config, IntParam
from ..base import Searcher
from .acquisition import ACQUISITIONS, acquire
from .encoding import Encoder
from .ehvi import improvement_region, log_ehvi
from .gp import GP, LONG_SCALE_PENALTY
from .neighbours import discrete_neighbours
from .surrogate import Surrogate
from .warp import Warp

LOCAL_SCALES = (0.02, 0.08, 0.2)  # unit-cube steps of the candidates drawn around the best trials
LOCAL_ROUNDS = 6  # polish-then-discrete-move rounds of the acquisition's local search, at most
PAREGO_RHO = 0.05  # the augmented Chebyshev's linear term: keeps weakly dominated points from tying
PRUNED = ("last", "worst", "failed")  # what a pruned trial is told as (see the module's docstring)
NEGLIGIBLE_NOISE = 0.02  # fitted noise sd below this share of the values' sd: the observed best is trusted
MAX_COLUMNS = 2_048  # GP input columns (a number: one; a categorical: one a choice); past it an ask takes seconds
MUTATED_SHARE = 0.25  # of the candidates: best trials with one or two categoricals or ints redrawn


@functools.cache
def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries, found once: finding them reads /proc/self/maps, 2.5 ms an ask."""
    return ThreadpoolController()


def one_blas_thread():
    """numpy and scipy each bring a BLAS whose threads spin after every call; on matrices this small they
    only fight each other for the cores (a 300x300 Cholesky went from 1 ms to 25 ms), so asks use one."""
    return _blas().limit(limits=1, user_api="blas")


class BayesSearcher(Searcher):
    name = "bayes"
    spends_effort = True
    options = {
        "acquisition": Option("log_ei", OneOf(ACQUISITIONS),
                              "how candidates are scored: log_ei (expected improvement), ucb (mean - kappa x std), pi"),
        "initial": Option(None, Whole(1), "space-filling trials before the GP (auto: dimensions + 3, 5 to 20)"),
        "candidates": Option(256, Whole(16, 100_000), "configs scored by the acquisition at each ask"),
        "max_points": Option(300, Whole(20, 5_000), "most finished trials the GP is fit to: the best half and a draw"),
        "kappa": Option(2.0, Number(0), "ucb's weight on the uncertainty: larger explores more"),
        "pruned": Option("last", OneOf(PRUNED), "what a pruned trial tells the GP: its last reported value, "
                                                "the worst finished value, or a failure"),
        "best": Option("estimate", OneOf(("estimate", "observed")),
                       "the trial best() names: the best GP estimate of its true value when the values look "
                       "noisy, or always the best observed (a deterministic, rugged objective)"),
    }

    def _configure(self, *, acquisition: str, initial: int | None, candidates: int, max_points: int,
                   kappa: float, pruned: str, best: str) -> None:
        self.pruned, self.best_by = pruned, best
        self._censored: dict[tuple, float | None] = {}  # pruned trials: last value to minimise, or None (worst)
        self.acquisition, self.n_candidates, self.max_points, self.kappa = acquisition, candidates, max_points, kappa
        self.initial = initial or min(20, max(5, len(self.space) + 3))  # a start that fits the dimension
        self.encoder = Encoder(self.space)
        if self.encoder.dim > MAX_COLUMNS:
            raise InputError(f"bayes models each number and each categorical choice as a column: this space has "
                             f"{self.encoder.dim:,}, at most {MAX_COLUMNS:,}; use fewer choices, or random or genetic",
                             field="search.strategy")
        self._sobol = qmc.Sobol(len(self.space), scramble=True, seed=self.rng)
        self._pending: dict[tuple, Config] = {}
        self._tried: set[tuple] = set()  # told (finished or failed) and pending: never suggested again
        # one a metric; with several, no penalty on long length scales: on DTLZ2 in 3-D at 20 trials it took
        # 0.05 off the front's hypervolume share (median of 12 seeds 0.666 -> 0.614, 11 seeds worse)
        penalty = 0.0 if self.multi else LONG_SCALE_PENALTY
        self._surrogates = [Surrogate(self.rng, self.encoder.groups, penalty) for _ in self.directions]
        self._model: tuple | None = None  # ((history length, cap), GP, output warp): the single metric's fit
        self._models: tuple | None = None  # ((history length, cap), [(GP, output warp) a metric]): several metrics'
        self._encoded: dict[tuple, np.ndarray] = {}
        self.points_used = 0  # trials the GP was fit to (fewer than finished past max_points)
        self.points_known = 0  # trials it could have been fit to then (the screen says so when they differ)
        self._weights: np.ndarray | None = None  # several metrics: this ask's weights, to pick candidate centres

    # --------------------------------------------------------------------------------------- protocol

    def _ask(self) -> Config:
        finished = sum(v is not None for _, v in self.history)
        if len(self.history) < self.initial or finished < 2:  # failed and pruned trials count for the start
            config = self._space_filling()
        else:
            if self.multi:  # a new trade-off each ask, drawn uniformly on the simplex
                self._weights = self.rng.dirichlet(np.ones(len(self.directions)))
            with one_blas_thread():
                config = self._suggest_for_front() if self.multi else self._suggest()
        key = self.space.key(config)
        self._pending[key] = config
        self._tried.add(key)
        return config

    def _on_told(self, config: Config, value: float | None) -> None:
        key = self.space.key(config)
        self._pending.pop(key, None)
        self._tried.add(key)

    def tell_pruned(self, config: Config, step: int | None, last_value: float | None) -> None:
        """Told as a failure (never suggested again, not a finished trial), and kept for the GP at a value no
        better than what is known of it (the `pruned` option); with several metrics, a failure only."""
        self.tell(config, None)
        if self.multi or self.pruned == "failed":
            return
        known = self.pruned == "last" and last_value is not None and math.isfinite(last_value)
        self._censored[self.space.key(self.history[-1][0])] = self.sign() * float(last_value) if known else None

    def predict(self, configs: list[Config]) -> tuple[np.ndarray, np.ndarray]:
        """The GP's predicted value and its standard deviation for each config, in the study's units."""
        if self.multi:
            raise ValueError("with several metrics there is a GP a metric, not one for a value of the study")
        with one_blas_thread():
            gp, warp = self._fit()
        mean, std = gp.predict(self.encoder.encode_many([self.space.validate_config(c) for c in configs]))
        low, high = warp.inverse(mean - std), warp.inverse(mean + std)  # the warp bends the band: its half-width
        with np.errstate(invalid="ignore"):  # both ends past what floats hold: no width (NaN)
            return self.sign() * warp.inverse(mean), (high - low) / 2

    def noise(self) -> float:
        """The fitted noise's standard deviation in the study's units, read at the median prediction over the
        finished trials (the output warp bends it: smaller near the best values when they are compressed)."""
        if self.multi:
            raise ValueError("with several metrics there is a GP a metric, not one noise for the study")
        with one_blas_thread():
            gp, warp = self._fit()
        centre = float(np.median(gp.predict(gp.X)[0]))
        spread = math.sqrt(gp.hyper.noise)
        return float(warp.inverse(centre + spread) - warp.inverse(centre - spread)) / 2

    def best(self) -> tuple[Config, float] | None:
        """With one metric and noisy values, the finished trial whose GP posterior mean (the model's estimate of
        its true value) is best, so a lucky draw is not called best; the best observed when the fitted noise
        is negligible against the values' spread, with fewer than three finished trials, and with several
        metrics, or told `best="observed"`. Only trials observed within a noise sd of the best observed are
        named: further off, the "noise" is more likely a rugged landscape the GP smoothed over (it cannot tell
        the two apart: on a deterministic 2-D Rastrigin it named a worse trial than the best observed in 2
        of 6 seeds; there, `best="observed"`). The value returned is the one observed."""
        configs, values = self.finished_points()
        values = values[:, 0]
        if self.multi or len(configs) < 3 or self.best_by == "observed":
            return super().best()
        noise = self.noise()
        with np.errstate(over="ignore"):  # values past 1e154: a spread of inf, beside which any noise is negligible
            spread = float(values.std())
        if noise < NEGLIGIBLE_NOISE * spread:
            return super().best()
        plausible = np.flatnonzero(values <= values.min() + noise)
        estimates = self.sign() * self.predict([configs[i] for i in plausible])[0]
        done = [(c, v) for c, v in self.history if v is not None]
        return done[int(plausible[np.argmin(estimates)])]

    # --------------------------------------------------------------------------------------- internals

    def _space_filling(self) -> Config:
        for _ in range(64):
            config = self.space.from_unit(self._sobol.random(1)[0])
            if self.space.key(config) not in self._tried:
                return config
        return self.space.sample(self.rng)  # a small discrete space already covered: any config

    def _targets(self) -> tuple[list[Config], np.ndarray]:
        """Finished configs and what ranks them, to minimise: the value, or this ask's Chebyshev scalarisation."""
        configs, points = self.finished_points()
        if not self.multi:
            return configs, points[:, 0]
        weighted = normalised(points) * (self._weights if self._weights is not None else 1 / points.shape[1])
        return configs, weighted.max(axis=1) + PAREGO_RHO * weighted.sum(axis=1)

    def _fit(self) -> tuple[GP, Warp]:
        """The GP on the finished trials, rebuilt only when a result (or the cap on trials) changed since."""
        stamp = (len(self.history), self._cap())
        if self._model is not None and self._model[0] == stamp:
            return self._model[1:]
        finished = self._observed()
        y = np.array([v for _, v in finished])
        if sum(v is not None for _, v in self.history) < 2:
            raise ValueError("a prediction needs at least two finished trials")
        self.points_known = len(finished)
        if len(finished) > self._cap():
            chosen = self._capped(np.argsort(y, kind="stable"))
            finished, y = [finished[i] for i in chosen], y[chosen]
        gp, warp = self._surrogates[0].fit(self._encode([c for c, _ in finished]), y, effort=self.effort)
        self._model = (stamp, gp, warp)
        self.points_used = len(finished)
        return gp, warp

    def _fit_metrics(self) -> list[tuple[GP, Warp]]:
        """A GP a metric on the finished trials (at most `max_points`: the best Pareto ranks first, then a
        seeded draw of the rest), rebuilt only when a result changed since."""
        stamp = (len(self.history), self._cap())
        if self._models is not None and self._models[0] == stamp:
            return self._models[1]
        configs, points = self.finished_points()
        self.points_known = len(configs)
        if len(configs) > self._cap():
            chosen = self._capped(np.argsort(pareto_ranks(points), kind="stable"))
            configs, points = [configs[i] for i in chosen], points[chosen]
        X = self._encode(configs)
        models = [surrogate.fit(X, points[:, j], effort=self.effort) for j, surrogate in enumerate(self._surrogates)]
        self._models = (stamp, models)
        self.points_used = len(configs)
        return models

    def _observed(self) -> list[tuple[Config, float]]:
        """Finished trials and pruned ones (at their imputed values), in the order told, each with its value
        to minimise: what the single-metric GP is fit to."""
        configs, y = self._targets()
        worst = float(y.max()) if len(y) else 0.0
        values, observed = iter(y), []
        for config, value in self.history:
            if value is not None:
                observed.append((config, float(next(values))))
            else:
                key = self.space.key(config)
                if key in self._censored:
                    imputed = self._censored[key]
                    observed.append((config, worst if imputed is None else imputed))
        return observed

    def _cap(self) -> int:
        """The most trials the GP is fit to: `max_points`, fewer when held to less effort."""
        return max(20, int(self.max_points * self.effort))

    def _capped(self, order: np.ndarray) -> np.ndarray:
        """`_cap()` of the trials ranked best first by `order`, to cap the exact GP's cost: the best half and
        a seeded draw of the rest, in their original order."""
        cap = self._cap()
        keep_best = order[: cap // 2]
        rest = np.random.default_rng([self.seed or 0, len(order)]).choice(
            order[cap // 2:], cap - len(keep_best), replace=False)
        return np.sort(np.concatenate([keep_best, rest]))

    def _encode(self, configs: list[Config]) -> np.ndarray:
        """Encodings of told configs, each computed once."""
        rows = []
        for config in configs:
            key = self.space.key(config)
            if key not in self._encoded:
                self._encoded[key] = self.encoder.encode(config)
            rows.append(self._encoded[key])
        return np.array(rows).reshape(len(configs), self.encoder.dim)

    def _suggest(self) -> Config:
        gp, _ = self._fit()
        best = float(gp.mean(gp.X).min())  # the best posterior mean: under noise, not a lucky draw
        if self._pending:  # kriging believer: running trials are fantasised at their predicted mean
            X_pending = self.encoder.encode_many(list(self._pending.values()))
            gp = gp.condition_on(X_pending, gp.predict(X_pending)[0])

        def score(X: np.ndarray) -> np.ndarray:
            return acquire(self.acquisition, *gp.predict(X), best, self.kappa)[0]

        def score_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
            mean, std, dmean, dstd = gp.predict(x[None, :], grad=True)
            a, da_dmean, da_dstd = acquire(self.acquisition, mean, std, best, self.kappa)
            return float(a[0]), da_dmean[0] * dmean + da_dstd[0] * dstd

        return self._maximise(score, score_and_gradient)

    def _suggest_for_front(self) -> Config:
        """The candidate of greatest expected hypervolume improvement, a GP a metric."""
        models = self._fit_metrics()
        points = self.finished_points()[1]
        if self._pending:  # kriging believer on every metric; the fantasised outcomes join the front
            X_pending = self.encoder.encode_many(list(self._pending.values()))
            means = [gp.predict(X_pending)[0] for gp, _ in models]
            points = np.vstack([points, np.column_stack([warp.inverse(m) for (_, warp), m in zip(models, means)])])
            models = [(gp.condition_on(X_pending, m), warp) for (gp, warp), m in zip(models, means)]
        region = improvement_region(points, self.rng)
        region = np.column_stack([warp(region[:, j]) for j, (_, warp) in enumerate(models)])  # the GPs' units
        gps = [gp for gp, _ in models]

        def score(X: np.ndarray) -> np.ndarray:
            predictions = [gp.predict(X) for gp in gps]
            return log_ehvi(np.column_stack([p[0] for p in predictions]),
                            np.column_stack([p[1] for p in predictions]), region)

        def score_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
            predictions = [gp.predict(x[None, :], grad=True) for gp in gps]
            value, d_mean, d_std = log_ehvi(np.array([[p[0][0] for p in predictions]]),
                                            np.array([[p[1][0] for p in predictions]]), region, grad=True)
            gradient = sum(d_mean[0, j] * p[2] + d_std[0, j] * p[3] for j, p in enumerate(predictions))
            return float(value[0]), gradient

        return self._maximise(score, score_and_gradient)

    def _maximise(self, score, score_and_gradient) -> Config:
        """The best of the candidates by `score` (rows of encodings -> values), its top three polished."""
        configs = self._candidates()
        if not configs:
            return self.space.sample(self.rng)
        X = self.encoder.encode_many(configs)
        scores = score(X)
        order = np.argsort(-scores, kind="stable")
        chosen, chosen_score = configs[order[0]], scores[order[0]]
        for i in order[:round(3 * self.effort)]:  # the top three searched; none below a sixth of the effort
            config, searched_score = self._local_search(score, score_and_gradient, configs[i], float(scores[i]))
            if searched_score > chosen_score and self.space.key(config) not in self._tried:
                chosen, chosen_score = config, searched_score
        return chosen

    def _best_trials(self, count: int) -> list[Config]:
        """The `count` finished trials that rank best (by value, or this ask's scalarisation)."""
        configs, y = self._targets()
        return [configs[i] for i in np.argsort(y, kind="stable")[:count]]

    def _local_search(self, score, score_and_gradient, config: Config, value: float) -> tuple[Config, float]:
        """From a candidate, alternate L-BFGS-B on its numbers with the best move of one categorical or int,
        until neither raises the acquisition; only configs not tried yet are taken."""
        for _ in range(LOCAL_ROUNDS):
            polished, polished_score = self._polish(score, score_and_gradient, config, self.encoder.encode(config))
            if polished_score > value and self.space.key(polished) not in self._tried:
                config, value = polished, polished_score
            moves = [c for c in discrete_neighbours(self.space, config) if self.space.key(c) not in self._tried]
            if not moves:
                break
            move_scores = score(self.encoder.encode_many(moves))
            i = int(np.argmax(move_scores))
            if not move_scores[i] > value:
                break
            config, value = moves[i], float(move_scores[i])
        return config, value

    def _candidates(self) -> list[Config]:
        """Quasi-random configs and configs near the best trials, none of them tried already."""
        d = len(self.space)
        sobol = qmc.Sobol(d, scramble=True, seed=self.rng)  # a fresh scramble each ask: quasi-random cover
        wanted = max(16, int(self.n_candidates * self.effort))
        units = [sobol.random_base2(math.ceil(math.log2(wanted)))]
        best = [self.space.to_unit(config) for config in self._best_trials(5)]
        per = max(1, wanted // (2 * len(LOCAL_SCALES) * 3))
        for u in best[:3]:
            for scale in LOCAL_SCALES:
                units.append(np.clip(u + self.rng.normal(0, scale, (per, d)), 0, 1))
        units.append(self._mutated(best, int(wanted * MUTATED_SHARE)))
        configs, seen = [], set(self._tried)
        for u in np.vstack(units):
            config = self.space.from_unit(u)
            key = self.space.key(config)
            if key not in seen:
                seen.add(key)
                configs.append(config)
        return configs

    def _mutated(self, best: list[np.ndarray], count: int) -> np.ndarray:
        """`count` copies of the best trials (unit cube) with one or two categoricals or ints redrawn at random:
        moves of two discrete params at once, which neither the candidates near the best trials (they seldom
        cross a category) nor the local search (one param a move) make."""
        discrete = [i for i, p in enumerate(self.space.params) if isinstance(p, (CategoricalParam, IntParam))]
        if not discrete or not best or count < 1:
            return np.empty((0, len(self.space)))
        rows = np.array(best)[self.rng.integers(len(best), size=count)]
        for row in rows:
            redrawn = self.rng.choice(discrete, min(len(discrete), int(self.rng.integers(1, 3))), replace=False)
            row[redrawn] = self.rng.random(len(redrawn))
        return rows

    def _polish(self, score, score_and_gradient, config: Config, x0: np.ndarray) -> tuple[Config, float]:
        """L-BFGS-B on the active numbers of `config` (categories held), then snapped onto the space."""
        columns = [col for _, col in self.encoder.numeric_columns(config)]
        if not columns:
            return config, float(score(x0[None, :])[0])

        def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
            x = x0.copy()
            x[columns] = z
            value, gradient = score_and_gradient(x)
            return -value, -gradient[columns]

        result = minimize(negative, x0[columns], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(columns),
                          options={"maxiter": 30})
        x = x0.copy()
        x[columns] = result.x
        polished = self.encoder.with_numbers(config, x)
        value = float(score(self.encoder.encode(polished)[None, :])[0])
        return polished, value if math.isfinite(value) else -math.inf
