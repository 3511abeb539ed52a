"""Expected hypervolume improvement (EHVI) of a candidate whose metrics each have their own GP posterior.

An outcome y improves the front by the volume of the points z of a box that y dominates and no trial does.
Its expectation under independent Gaussian posteriors is the integral, over the region no trial dominates,
of prod_j P(Y_j <= z_j): here a sum over a quasi-random sample of that region, so it is smooth in each
metric's posterior mean and std (L-BFGS-B can polish it) and costs one pass over the sample a candidate.
Every ask aims at the whole front, where ParEGO aims at one random trade-off (on 3 metrics at 50 trials it
fell behind Optuna's TPE, bench/multi_objective.py).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, logsumexp
from scipy.stats import qmc

from ...analysis.pareto import non_dominated
from .acquisition import C1

REGION_SAMPLES = 1024  # quasi-random points in the box; those no trial dominates sample the region
MARGIN = 0.1  # the box reaches this share of the values' range past its reference and the best values
# The reference: this quantile of each metric over the trials. At the worst value seen, improving trials
# that are best in one metric and poor in the rest (DTLZ2's corners, far from its front) outscores
# everything; at the front's worst, the front never grows past its first few members (ZDT1).
REFERENCE_QUANTILE = 0.95
# The posterior std is scaled by this: at the full std, EHVI spends tens of trials where every GP is least
# sure, the corners of the cube; on the tuning problems 0.3 did best of 1, 0.5, 0.3 and 0.2 (README).
STD_SCALE = 0.3


def improvement_region(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points sampling the part of a box that none of `points` (trials' values, minimised) dominates.

    The box spans each metric's best value to its `REFERENCE_QUANTILE`, widened on both sides by `MARGIN`
    of the values' range: room past the best to extend the front, past the reference to count its ends."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = MARGIN * np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
    lower, upper = low - margin, np.quantile(points, REFERENCE_QUANTILE, axis=0) + margin
    sample = lower + qmc.Sobol(points.shape[1], scramble=True, seed=rng).random(REGION_SAMPLES) * (upper - lower)
    dominated = np.zeros(len(sample), bool)
    for point in points[non_dominated(points)]:
        dominated |= (point <= sample).all(axis=1)
    return sample[~dominated]


def log_ehvi(mean: np.ndarray, std: np.ndarray, region: np.ndarray, grad: bool = False):
    """log EHVI (up to a constant: the region's cell volume) of candidates with posterior `mean` and `std`
    (n x m, each metric in the units `region` is expressed in); with `grad`, also its derivatives in mean
    and std (n x m each). A log, so candidates far from improving still rank (by how far)."""
    std = np.maximum(std * STD_SCALE, 1e-9)
    a = (region[None, :, :] - mean[:, None, :]) / std[:, None, :]  # n x samples x m
    log_p = log_ndtr(a)
    per_sample = log_p.sum(axis=2)
    value = logsumexp(per_sample, axis=1)
    if not grad:
        return value
    weight = np.exp(per_sample - value[:, None])[:, :, None]  # each sample's share of the expectation
    ratio = np.exp(-0.5 * a * a - C1 - log_p)  # phi / Phi
    d_mean = -(weight * ratio).sum(axis=1) / std
    d_std = -(weight * ratio * a).sum(axis=1) / std * STD_SCALE
    return value, d_mean, d_std
