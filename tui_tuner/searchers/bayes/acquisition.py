"""Acquisition functions on a GP posterior, for minimisation, each with its gradient in (mean, std).

Log expected improvement is computed stably far into the tail (Ament et al., 2023, "Unexpected
Improvements to Expected Improvement"), where plain EI underflows to 0 and gives the optimiser nothing.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

C1 = math.log(2 * math.pi) / 2
C2 = math.log(math.pi / 2) / 2
ACQUISITIONS = ("log_ei", "ucb", "pi")


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -log 2."""
    return np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> np.ndarray:
    """log(z Phi(z) + phi(z)), the log of EI / std, stable for very negative z."""
    z = np.asarray(z, float)
    out = np.empty_like(z)
    upper = z > -1
    zu = z[upper]
    out[upper] = np.log(zu * ndtr(zu) + np.exp(-0.5 * zu * zu - C1))
    zl = z[~upper]
    out[~upper] = -0.5 * zl * zl - C1 + _log1mexp(np.log(erfcx(-zl / math.sqrt(2)) * np.abs(zl)) + C2)
    return out


def expected_improvement(mean, std, best):
    """Plain EI (the formula log EI must equal where both are finite)."""
    z = (best - mean) / std
    return std * (z * ndtr(z) + np.exp(-0.5 * z * z - C1))


def acquire(kind: str, mean: np.ndarray, std: np.ndarray, best: float, kappa: float = 2.0):
    """Value to maximise and its derivatives w.r.t. mean and std: (a, da/dmean, da/dstd)."""
    std = np.maximum(std, 1e-9)
    if kind == "ucb":  # lower confidence bound, for minimisation, negated
        return -(mean - kappa * std), -np.ones_like(mean), kappa * np.ones_like(std)
    z = (best - mean) / std
    if kind == "pi":
        a = log_ndtr(z)
        ratio = np.exp(-0.5 * z * z - C1 - a)  # phi / Phi
        return a, -ratio / std, -ratio * z / std
    lh = log_h(z)
    phi_over_h = np.exp(-0.5 * z * z - C1 - lh)
    Phi_over_h = np.exp(log_ndtr(z) - lh)
    return np.log(std) + lh, -Phi_over_h / std, phi_over_h / std
