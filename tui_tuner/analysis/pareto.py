"""Pareto fronts of several metrics: non-dominated sorting, crowding distance and hypervolume.

Pure functions on arrays of shape (n trials, m metrics), every metric to be minimised (multiply a maximised
one by -1 first: `minimizing`). Used by the trial log (ranking), NSGA-II (selection), the benches (quality);
`pareto_json` is the front of a study's trial log as `tui-tuner analyze --json` gives it.
"""

from __future__ import annotations

import bisect
from typing import Sequence

import numpy as np


def minimizing(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """`values` with each maximised column negated, so smaller is better everywhere."""
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    return np.asarray(values, float).reshape(-1, len(signs)) * signs


def pareto_ranks(points: np.ndarray) -> np.ndarray:
    """Rank of each point: 1 for the non-dominated front, 2 for the front once rank 1 is removed, and so on.

    Equal points share a rank (neither dominates the other). Two metrics: O(n log n) by a sweep over the
    lexicographic order; more: blocks of points against all earlier ones, or for very many points a binary
    search over the fronts for each point in that order."""
    points = np.asarray(points, float)
    if points.ndim != 2:
        raise ValueError(f"points must be a (n, m) array, got shape {points.shape}")
    if len(points) == 0:
        return np.zeros(0, int)
    unique, inverse = np.unique(points, axis=0, return_inverse=True)  # lexicographic order, duplicates merged
    if points.shape[1] == 2:
        ranks = _ranks_2d(unique)
    else:
        ranks = _ranks_by_block(unique) if len(unique) <= BLOCKWISE_UP_TO else _ranks_general(unique)
    return ranks[inverse.reshape(-1)]


def _ranks_2d(unique: np.ndarray) -> np.ndarray:
    """Lexicographically sorted distinct points: a point is dominated by front k iff k's least second metric is
    <= its own, and those least values grow with k, so a binary search finds its front."""
    least: list[float] = []  # least second metric of each front so far
    ranks = np.empty(len(unique), int)
    for i, f2 in enumerate(unique[:, 1]):
        k = bisect.bisect_right(least, f2)
        if k == len(least):
            least.append(f2)
        else:
            least[k] = f2
        ranks[i] = k + 1
    return ranks


class _Front:
    """The points of one front, in a growing buffer so a dominance test is one vectorised comparison."""

    def __init__(self, m: int) -> None:
        self.points, self.size = np.empty((8, m)), 0

    def add(self, point: np.ndarray) -> None:
        if self.size == len(self.points):
            self.points = np.vstack([self.points, np.empty_like(self.points)])
        self.points[self.size] = point
        self.size += 1

    def dominates(self, point: np.ndarray) -> bool:
        """Whether a member is <= `point` everywhere: it dominates it, the points being distinct and earlier."""
        return bool((self.points[: self.size] <= point).all(axis=1).any())  # methods: a third of the cost


def _ranks_general(unique: np.ndarray) -> np.ndarray:
    """Efficient non-dominated sort with binary search (Zhang et al., 2015): in lexicographic order a point can
    only be dominated by earlier ones, and if front k dominates it so do all fronts before k."""
    fronts: list[_Front] = []
    ranks = np.empty(len(unique), int)
    for i, point in enumerate(unique):
        low, high = 0, len(fronts)  # the first front not dominating the point lies in [low, high]
        while low < high:
            mid = (low + high) // 2
            if fronts[mid].dominates(point):
                low = mid + 1
            else:
                high = mid
        if low == len(fronts):
            fronts.append(_Front(unique.shape[1]))
        fronts[low].add(point)
        ranks[i] = low + 1
    return ranks


BLOCK = 128  # points ranked together by `_ranks_by_block`
BLOCKWISE_UP_TO = 20_000  # distinct points; beyond, its work (n² comparisons) and memory grow too much


def _ranks_by_block(unique: np.ndarray) -> np.ndarray:
    """Each point's rank is one more than the highest rank of the points dominating it, and in lexicographic
    order those all come before it. So a block of points is ranked at once against every earlier point, in a
    few whole-array operations, then within the block (a dominating point's rank raising the ones it
    dominates, until nothing changes). More comparisons than `_ranks_general` but fewer Python steps: numpy
    lets go of the GIL in large operations, and the app ranks in a thread beside its event loop (10,000
    trials of three metrics: 0.5 s holding the GIL became 0.35 s mostly without it)."""
    n = len(unique)
    ranks = np.zeros(n, np.int64)
    for start in range(0, n, BLOCK):
        block = unique[start:start + BLOCK]
        by_earlier = _dominated_by(block, unique[:start])  # distinct points: <= everywhere means dominated
        base = np.where(by_earlier, ranks[:start], 0).max(axis=1, initial=0) + 1
        within = _dominated_by(block, block)
        np.fill_diagonal(within, False)
        block_ranks = base
        while True:
            raised = np.maximum(base, np.where(within, block_ranks, 0).max(axis=1) + 1)
            if np.array_equal(raised, block_ranks):
                break
            block_ranks = raised
        ranks[start:start + len(block)] = block_ranks
    return ranks


def _dominated_by(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """[i, j]: others[j] <= points[i] in every metric."""
    result = np.ones((len(points), len(others)), bool)
    for j in range(points.shape[1]):
        result &= others[:, j] <= points[:, j, None]
    return result


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points on the Pareto front (rank 1), without ranking the rest: in lexicographic
    order a point dominated by anything is dominated by an earlier member of the front, or (dominance being
    transitive) by a point of its own block. A block at a time, in whole-array operations (see
    `_ranks_by_block`)."""
    points = np.asarray(points, float)
    if points.ndim != 2 or len(points) == 0 or points.shape[1] == 2:
        return pareto_ranks(points) == 1  # two metrics: the sweep is as cheap
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    front, on = unique[:0], np.zeros(len(unique), bool)
    for start in range(0, len(unique), BLOCK):
        block = unique[start:start + BLOCK]
        within = _dominated_by(block, block)
        np.fill_diagonal(within, False)
        free = ~within.any(axis=1) & ~_dominated_by(block, front).any(axis=1)
        on[start:start + len(block)] = free
        front = np.concatenate([front, block[free]])
    return on[inverse.reshape(-1)]


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each point within its own set (pass one front): the side-sum of the
    normalised gaps to its neighbours along each metric; the extremes get infinity so they are kept."""
    points = np.asarray(points, float)
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(points[:, j], kind="stable")
        column = points[order, j]
        span = column[-1] - column[0]
        if span > 0:  # a metric equal across the set says nothing of spread (and names no extremes)
            distance[order[0]] = distance[order[-1]] = np.inf
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance


def rank_and_crowding(points: np.ndarray, ranks: np.ndarray | None = None) -> np.ndarray:
    """Indices of `points` best first: by Pareto rank, then by crowding distance within the rank (larger first),
    then by index (earlier trial first). `ranks`: their `pareto_ranks`, when the caller has them already."""
    points = np.asarray(points, float)
    ranks = pareto_ranks(points) if ranks is None else ranks
    crowding = np.zeros(len(points))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = crowding_distance(points[members])
    return np.lexsort((np.arange(len(points)), -crowding, ranks))


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """The volume dominated by `points` and bounded by `reference` (minimisation; points not better than the
    reference in every metric add nothing). Exact: a sweep for two metrics, slices along the last metric
    for more (fast for 2-3 metrics, a few hundred points)."""
    reference = np.asarray(reference, float)
    points = np.asarray(points, float).reshape(-1, len(reference))
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    return _hv(points[non_dominated(points)], reference)


def _hv(points: np.ndarray, reference: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if points.shape[1] == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], np.minimum.accumulate(points[order, 1])
        widths = np.diff(np.append(xs, reference[0]))
        return float(np.sum(widths * (reference[1] - ys)))
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    levels = np.append(points[:, -1], reference[-1])
    volume = 0.0
    for i in range(len(points)):  # slab i: the points at or below its floor, projected one metric down
        depth = levels[i + 1] - levels[i]
        if depth > 0:
            below = points[: i + 1, :-1]
            volume += depth * _hv(below[non_dominated(below)], reference[:-1])
    return volume


def normalised(points: np.ndarray) -> np.ndarray:
    """Each metric rescaled to [0, 1] over the points (0 the best seen); a constant metric becomes 0."""
    points = np.asarray(points, float)
    low, high = points.min(axis=0), points.max(axis=0)
    return (points - low) / np.where(high > low, high - low, 1.0)


def pareto_json(log) -> list[dict]:
    """The trials no other finished trial beats on every metric, as `analyze --json` gives them:
    `[{"number", "params", "values": {metric: value}}]`; with one metric, the best trial (and its ties)."""
    if log.multi:
        front = [(r, r.values) for r in log.front()]
    else:
        best = log.best()
        front = [(r, [r.value]) for r in log.ranked() if best is not None and r.value == best.value]
    return [{"number": r.number, "params": r.params, "values": dict(zip(log.metrics, values))}
            for r, values in front]
