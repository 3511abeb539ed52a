"""Output warping: a Yeo-Johnson power transform fitted to the values before the GP sees them.

Objective values are rarely Gaussian: a loss spans decades, a badly diverged trial dwarfs the rest. A
power transform fitted by maximum likelihood (scipy) makes them closer to normal, so the GP spends its
resolution where the good values are (as HEBO does). Invertible, so predictions come back in the study's
units. Before the transform the values are centred on their median and scaled by their interquartile range,
not by mean and sd: a few diverged trials (a loss of 1e12 beside 0.1) would otherwise set the scale, leave
the good values within 1e-11 of each other, and the GP would see them as one level (on such a study bayes
did worse than random search; see tests/test_bayes.py). After it, standardised.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

LAMBDA_RANGE = (-0.5, 2.5)  # stronger compression flattens the good region and stalls the search
LIMIT = 1e6  # interquartile ranges from the median, at most: farther, the transform's fit overflows (1e150)


class Warp:
    """`lam` reuses an earlier fit's exponent (it is refit with the kernel, not at every trial)."""

    def __init__(self, y: np.ndarray, lam: float | None = None) -> None:
        q1, median, q3 = np.percentile(y, [25, 50, 75])
        self.centre, self.scale = float(median), float(q3 - q1) or float(y.std()) or 1.0
        y0 = self._scaled(y)
        if lam is None:
            lam = float(stats.yeojohnson_normmax(y0)) if np.ptp(y0) > 0 else 1.0
        self.lam = float(np.clip(lam, LAMBDA_RANGE[0], LAMBDA_RANGE[1]))
        w = stats.yeojohnson(y0, self.lam)
        self.w_mean, self.w_scale = float(w.mean()), float(w.std()) or 1.0

    def __call__(self, y: np.ndarray) -> np.ndarray:
        w = stats.yeojohnson(self._scaled(y), self.lam)
        return (w - self.w_mean) / self.w_scale

    def _scaled(self, y: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(y, float) - self.centre) / self.scale, -LIMIT, LIMIT)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        w = np.asarray(z, float) * self.w_scale + self.w_mean
        lam = self.lam
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if abs(lam) > 1e-8:
                pos = np.power(np.maximum(w * lam + 1, 1e-300), 1 / lam) - 1
            else:
                pos = np.expm1(w)
            if abs(lam - 2) > 1e-8:
                neg = 1 - np.power(np.maximum(1 - (2 - lam) * w, 1e-300), 1 / (2 - lam))
            else:
                neg = -np.expm1(-w)
        y0 = np.where(w >= 0, pos, neg)
        return y0 * self.scale + self.centre
