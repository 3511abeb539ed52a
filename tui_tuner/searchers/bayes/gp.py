"""An exact Gaussian process in numpy/scipy: Matérn-5/2 kernel with a length scale per input, signal and
noise variance, hyperparameters fit by maximising the log marginal likelihood (with priors) by L-BFGS-B.

Inputs live in the unit cube; outputs are standardised by the caller. The Cholesky factor is kept and
extended (`condition_on`) rather than recomputed, so fantasised pending points cost O(n^2) each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

SQRT5 = math.sqrt(5.0)
JITTERS = (0.0, 1e-8, 1e-6, 1e-4, 1e-2)
NOISE_BOUNDS = (1e-6, 1.0)
LENGTH_BOUNDS = (1e-2, 1e3)
VARIANCE_BOUNDS = (1e-2, 1e2)
LONG_SCALE_PENALTY = 0.1  # nats x l^2, a number's length scale: as in Optuna GPSampler's prior 0.1 / (1 / l^2)


def matern52(X1: np.ndarray, X2: np.ndarray, lengths: np.ndarray, variance: float) -> np.ndarray:
    """k(x, x') = s^2 (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r), r the length-scaled distance."""
    r = _distance(X1 / lengths, X2 / lengths)
    return variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r)


def _distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.sqrt(np.maximum(sq, 0.0))


def cholesky(K: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, adding jitter to the diagonal until it succeeds (repeated points, ties)."""
    scale = max(float(np.mean(np.diag(K))), 1e-12)
    for jitter in JITTERS:
        try:
            return np.linalg.cholesky(K + (jitter * scale) * np.eye(len(K)) if jitter else K)
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("the kernel matrix is not positive definite even with jitter")


@dataclass
class Hyper:
    lengths: np.ndarray
    variance: float = 1.0
    noise: float = 1e-4


def length_prior(k: int) -> tuple[float, float]:
    """Mean and sd of the log of each of `k` length scales (a log-normal prior): the unit cube's side up to 5
    of them, shortening to e^-0.5 of it at 10 and more. Hvarfner et al. (2024) lengthen the scales with
    log(k)/2 instead; at budgets of tens of trials on bench/bo_suite.py's tuning half, longer scales lost in
    10 and 20 dimensions (sphere-20d 93 at theirs against 23 at the side) and shorter ones won (mean rank
    over the 10-D and 20-D problems, 3 + 3 seeds: 2.6 at the side, 2.0 at e^-0.5): short scales trust the
    GP only near the trials it has, so the search stays local as a trust region does. In 2 and 5 dimensions
    the side did better (mean rank 1.65 and 1.33 against 2.0 and 1.44)."""
    return -0.5 * min(1.0, max(0.0, math.log(k / 5) / math.log(2))), math.sqrt(3.0)


def neg_log_posterior(theta: np.ndarray, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
                      long_scale_penalty: float = LONG_SCALE_PENALTY) -> tuple[float, np.ndarray]:
    """-(log marginal likelihood + log prior) and its gradient in log-hyperparameters. `groups` maps each input
    column to its length scale in `theta` (columns of one categorical's one-hot share one: an overlap kernel);
    without it, one length scale a column.

    Beside the log-normal prior, a number's length scale l pays `long_scale_penalty` x l^2, as under Optuna's
    GPSampler prior: without it a param whose effect the first trials cannot show (an ellipsoid's weak axes)
    got l ~ 100, the GP saw no uncertainty along it and the search never moved it again (a 5-D ellipsoid
    stuck at 1.35e4, at 40 with it). A categorical keeps the freedom to be switched off: penalised too, 8 of
    the 12 generated mixed tuning problems got worse (bench/bo_suite.py's tuning half: 62 problems better
    and 27 worse with the numbers' penalty, 3 seeds)."""
    n, d = X.shape
    groups = np.arange(d) if groups is None else groups
    k = len(theta) - 2
    hyper = Hyper(np.exp(theta[:k])[groups], float(np.exp(theta[k])), float(np.exp(theta[k + 1])))
    diff2 = (X[:, None, :] - X[None, :, :]) ** 2 / hyper.lengths ** 2  # n x n x d
    r = np.sqrt(diff2.sum(-1))
    e = np.exp(-SQRT5 * r)
    K0 = hyper.variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * e
    K = K0 + hyper.noise * np.eye(n)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = cho_solve((L, True), y)
    nll = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * math.log(2 * math.pi)
    W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n))  # d nll = -0.5 tr(W dK)
    common = hyper.variance * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e  # dK / dlog l_i = common * diff2_i
    grad = np.empty_like(theta)
    grad[:k] = np.bincount(groups, -0.5 * np.einsum("ij,ijk->k", W * common, diff2), minlength=k)
    grad[k] = -0.5 * (W * K0).sum()
    grad[k + 1] = -0.5 * np.trace(W) * hyper.noise
    mu, sd = length_prior(k)
    log_l = theta[:k]
    nll += (((log_l - mu) / sd) ** 2).sum() / 2
    grad[:k] += (log_l - mu) / sd ** 2
    long = long_scale_penalty * np.exp(2 * log_l) * (np.bincount(groups, minlength=k) == 1)  # numbers only
    nll += long.sum()
    grad[:k] += 2 * long
    nll += theta[k] ** 2 / 2  # log variance ~ N(0, 1): outputs are standardised
    grad[k] += theta[k]
    noise_mu, noise_sd = math.log(1e-3), 2.0
    nll += (theta[k + 1] - noise_mu) ** 2 / (2 * noise_sd ** 2)
    grad[k + 1] += (theta[k + 1] - noise_mu) / noise_sd ** 2
    return float(nll), grad


def fit_hyper(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, start: Hyper | None = None,
              restarts: int = 2, groups: np.ndarray | None = None,
              long_scale_penalty: float = LONG_SCALE_PENALTY) -> Hyper:
    """MAP hyperparameters: L-BFGS-B from the previous fit (if any), the prior's centre and random draws;
    `groups` and `long_scale_penalty` as in `neg_log_posterior`."""
    groups = np.arange(X.shape[1]) if groups is None else groups
    k = int(groups.max()) + 1
    mu, sd = length_prior(k)
    bounds = [tuple(np.log(LENGTH_BOUNDS))] * k + [tuple(np.log(VARIANCE_BOUNDS)), tuple(np.log(NOISE_BOUNDS))]
    starts = [np.concatenate([np.full(k, mu), [0.0, math.log(1e-3)]])]
    if start is not None:
        first_column = np.unique(groups, return_index=True)[1]
        starts.insert(0, np.log(np.concatenate([start.lengths[first_column], [start.variance, start.noise]])))
    for _ in range(restarts):
        starts.append(np.concatenate([rng.normal(mu, sd, k), [rng.normal(0, 0.5), rng.normal(math.log(1e-3), 1)]]))
    best, best_value = None, math.inf
    for theta0 in starts:
        theta0 = np.clip(theta0, [b[0] for b in bounds], [b[1] for b in bounds])
        result = minimize(neg_log_posterior, theta0, args=(X, y, groups, long_scale_penalty), jac=True,
                          method="L-BFGS-B", bounds=bounds, options={"maxiter": 200})
        if result.fun < best_value:
            best, best_value = result.x, result.fun
    return Hyper(np.exp(best[:k])[groups], float(np.exp(best[k])), float(np.exp(best[k + 1])))


class GP:
    """The posterior of a zero-mean GP on standardised outputs, given fixed hyperparameters.

    The factor depends on the inputs only, so new targets (re-standardised values) cost one solve, and new
    inputs extend the factor by a block instead of refactorising."""

    def __init__(self, X: np.ndarray, y: np.ndarray, hyper: Hyper) -> None:
        self.X = np.asarray(X, float)
        self.hyper = hyper
        K = matern52(self.X, self.X, hyper.lengths, hyper.variance) + hyper.noise * np.eye(len(self.X))
        self.L = cholesky(K)
        self.with_targets(y)

    def with_targets(self, y: np.ndarray) -> "GP":
        self.y = np.asarray(y, float)
        self.alpha = cho_solve((self.L, True), self.y)
        return self

    def extended(self, X_new: np.ndarray, y: np.ndarray) -> "GP":
        """A GP on X + X_new with targets y (for all of them), extending the Cholesky factor by a block."""
        h = self.hyper
        n, m = len(self.X), len(X_new)
        if m == 0:
            return self._copy(self.X, self.L).with_targets(y)
        K12 = matern52(self.X, X_new, h.lengths, h.variance)
        K22 = matern52(X_new, X_new, h.lengths, h.variance) + h.noise * np.eye(m)
        L21 = solve_triangular(self.L, K12, lower=True).T
        L = np.zeros((n + m, n + m))
        L[:n, :n], L[n:, :n], L[n:, n:] = self.L, L21, cholesky(K22 - L21 @ L21.T)
        return self._copy(np.vstack([self.X, X_new]), L).with_targets(y)

    def condition_on(self, X_new: np.ndarray, y_new: np.ndarray) -> "GP":
        """The GP with more observations (fantasies for running trials)."""
        return self.extended(X_new, np.concatenate([self.y, y_new])) if len(X_new) else self

    def _copy(self, X: np.ndarray, L: np.ndarray) -> "GP":
        gp = object.__new__(GP)
        gp.X, gp.L, gp.hyper = X, L, self.hyper
        return gp

    def mean(self, Xs: np.ndarray) -> np.ndarray:
        """The posterior mean alone, O(n) a point (the variance's triangular solve is O(n^2) a point): what the
        incumbent needs at every told trial."""
        return matern52(Xs, self.X, self.hyper.lengths, self.hyper.variance) @ self.alpha

    def predict(self, Xs: np.ndarray, *, grad: bool = False):
        """Posterior mean and standard deviation at Xs (without the noise); with `grad`, for a single point,
        also their gradients with respect to it."""
        h = self.hyper
        Ks = matern52(Xs, self.X, h.lengths, h.variance)  # m x n
        mean = Ks @ self.alpha
        v = solve_triangular(self.L, Ks.T, lower=True)  # n x m
        var = np.maximum(h.variance - (v * v).sum(0), 1e-12)
        std = np.sqrt(var)
        if not grad:
            return mean, std
        x = Xs[0]
        diff = (x[None, :] - self.X) / h.lengths ** 2  # n x d
        r = _distance((x / h.lengths)[None, :], self.X / h.lengths)[0]
        g = -h.variance * (5.0 / 3.0) * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r)  # dk/dx = g * diff
        dK = g[:, None] * diff  # n x d
        dmean = dK.T @ self.alpha
        w = solve_triangular(self.L.T, v[:, 0], lower=False)  # K^-1 k*
        dvar = -2.0 * dK.T @ w
        return mean, std, dmean, dvar / (2.0 * std[0])
