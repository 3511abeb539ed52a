"""`bayes`: Gaussian-process Bayesian optimisation on numpy and scipy.

Each ask: a space-filling Sobol start until enough trials have finished, then a GP fit to the finished
trials (standardised values, MAP kernel hyperparameters refit less often as the history grows, at most
`max_points` trials: the best half and a seeded draw of the rest), running trials fantasised at their
predicted mean (kriging believer) so parallel workers get different configs, and the acquisition
maximised over random and local candidates (valid configs by construction), the best of them then improved
by a local search that alternates L-BFGS-B on the numbers with moves of one categorical or int. A
categorical's one-hot columns share one length scale, so the kernel counts the categoricals that differ
(an overlap kernel). Failed and already-run configs are never suggested again.

With several metrics it is ParEGO (Knowles, 2006): each ask draws a random weight vector on the simplex and
the GP models the augmented Chebyshev scalarisation max_j(w_j f_j) + 0.05 sum_j(w_j f_j) of the metrics,
each normalised to [0, 1] over the finished trials; one GP, the same acquisition, a different trade-off
each ask, so the suggestions spread along the front.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from ...analysis.pareto import normalised
from ...errors import InputError
from ...space import Config
from ..base import Searcher
from .acquisition import ACQUISITIONS, acquire
from .encoding import Encoder
from .gp import GP, fit_hyper
from .neighbours import discrete_neighbours
from .warp import Warp

LOCAL_SCALES = (0.02, 0.08, 0.2)  # unit-cube steps of the candidates drawn around the best trials
LOCAL_ROUNDS = 6  # polish-then-discrete-move rounds of the acquisition's local search, at most
# numpy and scipy each bring a BLAS whose threads spin after every call; on matrices this small they only
# fight each other for the cores (a 300x300 Cholesky went from 1 ms to 25 ms), so asks use one thread
ONE_BLAS_THREAD = lambda: threadpool_limits(limits=1, user_api="blas")  # noqa: E731
HYPER_POINTS = 120  # kernel hyperparameters are fit to at most this many trials: global traits, O(n^3) a step
PAREGO_RHO = 0.05  # the augmented Chebyshev's linear term: keeps weakly dominated points from tying


class BayesSearcher(Searcher):
    name = "bayes"
    options = {"acquisition": "log_ei", "initial": None, "candidates": 256, "max_points": 300, "kappa": 2.0}

    def _configure(self, *, acquisition: str, initial: int | None, candidates: int, max_points: int,
                   kappa: float) -> None:
        if acquisition not in ACQUISITIONS:
            raise InputError(f"must be one of {', '.join(ACQUISITIONS)}, got {acquisition!r}",
                             field="search.acquisition")
        for key, value, least in (("initial", initial, 1), ("candidates", candidates, 16),
                                  ("max_points", max_points, 20)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                raise InputError(f"must be a whole number, at least {least}, got {value!r}", field=f"search.{key}")
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or kappa <= 0:
            raise InputError(f"must be a positive number, got {kappa!r}", field="search.kappa")
        self.acquisition, self.n_candidates, self.max_points, self.kappa = acquisition, candidates, max_points, kappa
        self.initial = initial or min(20, max(5, len(self.space) + 3))  # a start that fits the dimension
        self.encoder = Encoder(self.space)
        self._sobol = qmc.Sobol(len(self.space), scramble=True, seed=self.rng)
        self._pending: dict[tuple, Config] = {}
        self._tried: set[tuple] = set()  # told (finished or failed) and pending: never suggested again
        self._hyper = None
        self._hyper_at = 0  # finished trials when the hyperparameters were last fit
        self._model: tuple | None = None  # ((history length, ParEGO weights), GP, output warp)
        self._encoded: dict[tuple, np.ndarray] = {}
        self.points_used = 0  # trials the GP was fit to (fewer than finished past max_points)
        self._weights: np.ndarray | None = None  # ParEGO: this ask's weights on the metrics (several metrics)

    # --------------------------------------------------------------------------------------- protocol

    def _ask(self) -> Config:
        finished = sum(v is not None for _, v in self.history)
        if len(self.history) < self.initial or finished < 2:  # failed and pruned trials count for the start
            config = self._space_filling()
        else:
            if self.multi:  # ParEGO: a new trade-off each ask, drawn uniformly on the simplex
                self._weights = self.rng.dirichlet(np.ones(len(self.directions)))
            with ONE_BLAS_THREAD():
                config = self._suggest()
        key = self.space.key(config)
        self._pending[key] = config
        self._tried.add(key)
        return config

    def tell(self, config: Config, value: float | None) -> None:
        super().tell(config, value)
        key = self.space.key(self.history[-1][0])
        self._pending.pop(key, None)
        self._tried.add(key)

    def predict(self, configs: list[Config]) -> tuple[np.ndarray, np.ndarray]:
        """The GP's predicted value and its standard deviation for each config, in the study's units."""
        if self.multi:
            raise ValueError("with several metrics the GP models a scalarisation, not a value of the study")
        with ONE_BLAS_THREAD():
            gp, warp = self._fit()
        mean, std = gp.predict(self.encoder.encode_many([self.space.validate_config(c) for c in configs]))
        low, high = warp.inverse(mean - std), warp.inverse(mean + std)  # the warp bends the band: its half-width
        return self.sign() * warp.inverse(mean), (high - low) / 2

    # --------------------------------------------------------------------------------------- internals

    def _space_filling(self) -> Config:
        for _ in range(64):
            config = self.space.from_unit(self._sobol.random(1)[0])
            if self.space.key(config) not in self._tried:
                return config
        return self.space.sample(self.rng)  # a small discrete space already covered: any config

    def _targets(self) -> tuple[list[Config], np.ndarray]:
        """Finished configs and what the GP models, to minimise: the value, or ParEGO's scalarisation."""
        configs, points = self.finished_points()
        if not self.multi:
            return configs, points[:, 0]
        weighted = normalised(points) * (self._weights if self._weights is not None else 1 / points.shape[1])
        return configs, weighted.max(axis=1) + PAREGO_RHO * weighted.sum(axis=1)

    def _fit(self) -> tuple[GP, Warp]:
        """The GP on the finished trials, rebuilt only when a result (or ParEGO's weights) changed since."""
        stamp = (len(self.history), None if self._weights is None else tuple(self._weights))
        if self._model is not None and self._model[0] == stamp:
            return self._model[1:]
        configs, y = self._targets()
        finished = list(zip(configs, y))
        if len(finished) < 2:
            raise ValueError("a prediction needs at least two finished trials")
        if len(finished) > self.max_points:  # cap the exact GP: the best half and a seeded draw of the rest
            order = np.argsort(y, kind="stable")
            keep_best = order[: self.max_points // 2]
            rest = np.random.default_rng([self.seed or 0, len(finished)]).choice(
                order[self.max_points // 2:], self.max_points - len(keep_best), replace=False)
            chosen = np.sort(np.concatenate([keep_best, rest]))
            finished, y = [finished[i] for i in chosen], y[chosen]
        X = self._encode([c for c, _ in finished])
        n = len(finished)
        interval = 1 if n < 40 else 3 if n < 100 else 10 if n < 250 else 25
        refit = self._hyper is None or n - self._hyper_at >= interval or len(self._hyper.lengths) != X.shape[1]
        warp = Warp(y, lam=None if refit or self._model is None else self._model[2].lam)
        z = warp(y)
        previous = self._model[1] if self._model else None
        if refit:
            fit_on = np.sort(self.rng.choice(n, HYPER_POINTS, replace=False)) if n > HYPER_POINTS else slice(None)
            self._hyper = fit_hyper(X[fit_on], z[fit_on], self.rng, start=self._hyper, restarts=2 if n < 100 else 0,
                                    groups=self.encoder.groups)
            self._hyper_at = n
            previous = None
        m = len(previous.X) if previous is not None else 0
        if previous is not None and m <= n and np.array_equal(previous.X, X[:m]):
            gp = previous.extended(X[m:], z)  # same kernel, more trials: extend the factor
        else:
            gp = GP(X, z, self._hyper)
        self._model = (stamp, gp, warp)
        self.points_used = n
        return gp, warp

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
        best = float(gp.y.min())
        if self._pending:  # kriging believer: running trials are fantasised at their predicted mean
            X_pending = self.encoder.encode_many(list(self._pending.values()))
            gp = gp.condition_on(X_pending, gp.predict(X_pending)[0])
        configs = self._candidates(gp)
        if not configs:
            return self.space.sample(self.rng)
        X = self.encoder.encode_many(configs)
        mean, std = gp.predict(X)
        scores = acquire(self.acquisition, mean, std, best, self.kappa)[0]
        top = np.argsort(-scores, kind="stable")[:3]
        chosen, chosen_score = configs[top[0]], scores[top[0]]
        for i in top:
            config, score = self._local_search(gp, configs[i], float(scores[i]), best)
            if score > chosen_score:
                chosen, chosen_score = config, score
        return chosen

    def _local_search(self, gp: GP, config: Config, score: float, best: float) -> tuple[Config, float]:
        """From a candidate, alternate L-BFGS-B on its numbers with the best move of one categorical or int,
        until neither raises the acquisition; only configs not tried yet are taken."""
        for _ in range(LOCAL_ROUNDS):
            polished, polished_score = self._polish(gp, config, self.encoder.encode(config), best)
            if polished_score > score and self.space.key(polished) not in self._tried:
                config, score = polished, polished_score
            moves = [c for c in discrete_neighbours(self.space, config) if self.space.key(c) not in self._tried]
            if not moves:
                break
            mean, std = gp.predict(self.encoder.encode_many(moves))
            move_scores = acquire(self.acquisition, mean, std, best, self.kappa)[0]
            i = int(np.argmax(move_scores))
            if not move_scores[i] > score:
                break
            config, score = moves[i], float(move_scores[i])
        return config, score

    def _candidates(self, gp: GP) -> list[Config]:
        """Quasi-random configs and configs near the best trials, none of them tried already."""
        d = len(self.space)
        sobol = qmc.Sobol(d, scramble=True, seed=self.rng)  # a fresh scramble each ask: quasi-random cover
        units = [sobol.random_base2(math.ceil(math.log2(self.n_candidates)))]
        configs, y = self._targets()
        finished = [(configs[i], y[i]) for i in np.argsort(y, kind="stable")]
        per = max(1, self.n_candidates // (2 * len(LOCAL_SCALES) * 3))
        for config, _ in finished[:3]:
            u = self.space.to_unit(config)
            for scale in LOCAL_SCALES:
                units.append(np.clip(u + self.rng.normal(0, scale, (per, d)), 0, 1))
        configs, seen = [], set(self._tried)
        for u in np.vstack(units):
            config = self.space.from_unit(u)
            key = self.space.key(config)
            if key not in seen:
                seen.add(key)
                configs.append(config)
        return configs

    def _polish(self, gp: GP, config: Config, x0: np.ndarray, best: float) -> tuple[Config, float]:
        """L-BFGS-B on the active numbers of `config` (categories held), then snapped onto the space."""
        columns = [col for _, col in self.encoder.numeric_columns(config)]
        if not columns:
            score = acquire(self.acquisition, *gp.predict(x0[None, :]), best, self.kappa)[0][0]
            return config, float(score)

        def negative(z: np.ndarray) -> tuple[float, np.ndarray]:
            x = x0.copy()
            x[columns] = z
            mean, std, dmean, dstd = gp.predict(x[None, :], grad=True)
            a, da_dmean, da_dstd = acquire(self.acquisition, mean, std, best, self.kappa)
            grad = da_dmean[0] * dmean + da_dstd[0] * dstd
            return -float(a[0]), -grad[columns]

        result = minimize(negative, x0[columns], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(columns),
                          options={"maxiter": 30})
        x = x0.copy()
        x[columns] = result.x
        polished = self.encoder.with_numbers(config, x)
        snapped = self.encoder.encode(polished)
        score = acquire(self.acquisition, *gp.predict(snapped[None, :]), best, self.kappa)[0][0]
        return polished, float(score) if math.isfinite(score) else -math.inf
