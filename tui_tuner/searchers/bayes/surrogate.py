"""One GP on one target over the told configs, kept across asks so each ask costs little.

Kernel hyperparameters and the output warp's exponent are global traits of the target: they are refit less
often as the history grows (on at most `HYPER_POINTS` trials, O(n^3) a step), and between refits the
Cholesky factor is extended by the new trials instead of recomputed. The single-metric searcher keeps one;
with several metrics there is one a metric.
"""

from __future__ import annotations

import numpy as np

from .gp import GP, Hyper, fit_hyper
from .warp import Warp

HYPER_POINTS = 120  # kernel hyperparameters are fit to at most this many trials


def refit_interval(n: int) -> int:
    """New trials between hyperparameter refits: every trial early, rarely once they barely move."""
    return 1 if n < 40 else 3 if n < 100 else 10 if n < 250 else 25


class Surrogate:
    """`fit(X, y)` gives the GP and warp for these trials, reusing what the previous fit learnt."""

    def __init__(self, rng: np.random.Generator, groups: np.ndarray | None, long_scale_penalty: float) -> None:
        self.rng = rng
        self.groups = groups  # the length scale each input column uses (a categorical's columns share one)
        self.long_scale_penalty = long_scale_penalty  # see gp.neg_log_posterior
        self.hyper: Hyper | None = None
        self.hyper_at = 0  # trials when the hyperparameters were last fit
        self.gp: GP | None = None
        self.warp: Warp | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, effort: float = 1.0) -> tuple[GP, Warp]:
        """`effort` below 1 spaces the hyperparameter refits out by its inverse (a searcher held to less)."""
        n = len(X)
        refit = (self.hyper is None or n - self.hyper_at >= refit_interval(n) / effort
                 or len(self.hyper.lengths) != X.shape[1])
        warp = Warp(y, lam=None if refit or self.warp is None else self.warp.lam)
        z = warp(y)
        previous = self.gp
        if refit:
            fit_on = np.sort(self.rng.choice(n, HYPER_POINTS, replace=False)) if n > HYPER_POINTS else slice(None)
            self.hyper = fit_hyper(X[fit_on], z[fit_on], self.rng, start=self.hyper, restarts=2 if n < 100 else 0,
                                   groups=self.groups, long_scale_penalty=self.long_scale_penalty)
            self.hyper_at = n
            previous = None
        m = len(previous.X) if previous is not None else 0
        if previous is not None and m <= n and np.array_equal(previous.X, X[:m]):
            gp = previous.extended(X[m:], z)  # same kernel, more trials: extend the factor
        else:
            gp = GP(X, z, self.hyper)
        self.gp, self.warp = gp, warp
        return gp, warp
