"""Which params mattered, how much, and where their good values lie.

Functional ANOVA (Hutter, Hoos & Leyton-Brown 2014) on a random-forest surrogate, the method Optuna uses by
default: for each tree, the variance over the space of the marginal of each single param, as a fraction of
the tree's total variance, averaged over the trees and normalised into shares that sum to 1. The same
marginals give each param's sensitivity (how far the predicted value moves across its range, its best and
worst region), and a forest fitted on the best quarter of the trials, over the box they occupy, says what
matters near the best. Pure functions of trial records and the space: the CLI, the run summary and the app
call the same `param_importance`.

Params live in the unit cube of the space (log params on the log scale, categorical params as ordinal codes
of equal width, one feature a param); a conditional param, where inactive, takes a sentinel code in a region
of its own below the cube, so the tree can split it off. The marginals are taken under the space's own
measure, not the box's: a conditional param is drawn only where its parent switches it on, so no impossible
pair (momentum set beside adam) enters them, and its share is its variance where active (switching it on or
off is the parent's share, by the law of total variance). Spaces without conditions get Optuna's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterable

import numpy as np

from ..space import CategoricalParam, IntParam, Param, SearchSpace

MIN_TRIALS = 10          # fewer finished trials say nothing a forest could trust
MAX_TRIALS = 2000        # a random subsample above this keeps 10,000 trials within a few seconds
N_TREES = 64             # Optuna's default
MAX_DEPTH = 16           # deep enough for 2,000 trials; bounds the leaves, so the time
TOP_FRACTION = 0.25      # "near the best": the best quarter of the trials...
MIN_TOP_TRIALS = 10      # ...when it holds this many
BINS = 10                # regions of a numeric param for its best and worst
INACTIVE = "inactive"    # the region of a conditional param where it does not apply
_SENTINEL = (-1.0, 0.0)  # where a conditional param's inactive code lives, below the unit interval
_INACTIVE_CODE = sum(_SENTINEL) / 2
FIRST_METRIC_NOTE = "several metrics: the importance for the first"


@dataclass(frozen=True)
class Sensitivity:
    """One param's marginal: the predicted value averaged over every other param, region by region."""

    spread: float                          # best region's mean minus worst's, in the metric's units (>= 0)
    best: str
    worst: str
    regions: list[tuple[str, float]]       # (label, mean predicted value), in the param's order

    def to_json(self) -> dict:
        means = dict(self.regions)
        return {"spread": self.spread, "best": {"region": self.best, "value": means[self.best]},
                "worst": {"region": self.worst, "value": means[self.worst]},
                "regions": [{"region": label, "value": value} for label, value in self.regions]}


@dataclass(frozen=True)
class Importance:
    """What `param_importance` found; `importance` empty (and `note` saying why) when it could not say."""

    importance: dict[str, float]           # param -> share of the explained variance, largest first; sums to 1
    sensitivity: dict[str, Sensitivity]
    near_best: dict[str, float] | None     # the same shares over the best trials' region, when there are enough
    main_effects: float | None             # the single params' part of the variance; the rest is interactions
    trials: int                            # finished trials the forest was fitted on
    note: str | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"importance": self.importance,
                               "sensitivity": {k: v.to_json() for k, v in self.sensitivity.items()},
                               "near_best": self.near_best, "main_effects": self.main_effects,
                               "trials": self.trials}
        if self.note:
            out["note"] = self.note
        return out

    def ranking(self, limit: int = 4) -> str:
        """`x1 81%, x2 15%, x3 2%`: the top params with their shares, for a summary line."""
        items = [f"{name} {share:.0%}" if share >= 0.005 else f"{name} <1%"
                 for name, share in list(self.importance.items())[:limit]]
        more = len(self.importance) - limit
        return ", ".join(items) + (f" (+{more})" if more > 0 else "")


def param_importance(records: Iterable[Any], space: SearchSpace, direction: str | list[str] = "minimize", *,
                     seed: int = 0, metric: int | None = None) -> Importance:
    """Importance, sensitivity and importance near the best, from trial records (anything with `state`,
    `value` and `params`). Only finished trials with a finite value count; failed, pruned and running ones
    say nothing about the value a config reaches. With several metrics (`direction` a list, records with
    `values`), the importance for metric number `metric`; by default the first's, and the note says so."""
    if isinstance(direction, list):
        index = metric or 0
        scored = [_Scored(r.state, _metric_value(r, index), r.params) for r in records]
        result = param_importance(scored, space, direction[index], seed=seed)
        if metric is None:
            result = replace(result, note="; ".join(filter(None, [FIRST_METRIC_NOTE, result.note])))
        return result
    rows = [(r.params, float(r.value)) for r in records
            if r.state == "finished" and r.value is not None and math.isfinite(r.value)]
    notes = []
    if len(rows) > MAX_TRIALS:  # before encoding: at 10,000 trials encoding them all would cost seconds
        notes.append(f"fitted on a random {MAX_TRIALS} of the {len(rows)} finished trials (subsampled)")
        rng = np.random.default_rng(seed)
        rows = [rows[i] for i in sorted(rng.choice(len(rows), MAX_TRIALS, replace=False))]
    encoding = _Encoding(space)
    encoded = [(encoding.encode(params), value) for params, value in rows]
    skipped = sum(1 for x, _ in encoded if x is None)
    encoded = [(x, value) for x, value in encoded if x is not None]
    if skipped:
        notes.append(f"{skipped} finished trials left out: their params do not fit the study's space")
    if len(encoded) < MIN_TRIALS:
        notes.append(f"too few finished trials to say: {len(encoded)}, at least {MIN_TRIALS} needed")
        return _nothing(len(encoded), notes)
    X = np.array([x for x, _ in encoded])
    y = np.array([value for _, value in encoded])
    if np.ptp(y) == 0:
        notes.append(f"all {len(y)} finished trials have the same value: no param changed it")
        return _nothing(len(y), notes)
    constant = [p.name for j, p in enumerate(space) if np.ptp(X[:, j]) == 0]
    if constant:
        notes.append(f"never varied, so not assessed: {', '.join(constant)}")

    fanova = _Fanova(X, y, encoding.lower, encoding.upper, encoding.blocks, seed)
    fractions = fanova.fractions()
    if fractions.sum() <= 0:
        notes.append("no single param moves the value on its own: whatever varies it is an interaction")
        return _nothing(len(y), notes)
    if fractions.sum() < 0.5:
        notes.append(f"single params explain only {fractions.sum():.0%} of the variance: interactions between "
                     "params matter more than the shares show")
    shares = _shares(fractions, space)
    sensitivity = {p.name: _sensitivity(fanova, j, encoding.regions[j], direction)
                   for j, p in enumerate(space) if p.name not in constant}
    near_best = None
    order = np.argsort(-y if direction == "maximize" else y, kind="stable")
    top = order[: int(len(y) * TOP_FRACTION)]
    if len(top) >= MIN_TOP_TRIALS and np.ptp(y[top]) > 0:
        lower, upper = encoding.box(X[top])
        near = _Fanova(X[top], y[top], lower, upper, encoding.blocks, seed).fractions()
        near_best = _shares(near, space) if near.sum() > 0 else None
    elif len(top) < MIN_TOP_TRIALS:
        notes.append(f"near the best: needs {math.ceil(MIN_TOP_TRIALS / TOP_FRACTION)} finished trials")
    return Importance(shares, sensitivity, near_best, float(fractions.sum()), len(y),
                      "; ".join(notes) or None)


def importance_by_metric(records: Iterable[Any], space: SearchSpace, metrics: list[str],
                         direction: str | list[str], *, seed: int = 0) -> dict[str, Importance]:
    """Each metric of the study and what mattered for it (the knobs that buy accuracy are rarely the ones
    that cost fit time); a study of one metric (`direction` a string) gets its one importance."""
    if not isinstance(direction, list):
        return {metrics[0]: param_importance(records, space, direction, seed=seed)}
    records = list(records)
    return {name: param_importance(records, space, direction, seed=seed, metric=i) for i, name in enumerate(metrics)}


@dataclass(frozen=True)
class _Scored:
    """A trial seen through one of its several metrics."""

    state: str
    value: float | None
    params: dict


def _metric_value(record: Any, metric: int) -> float | None:
    values = getattr(record, "values", None)
    if values is None:
        return record.value if metric == 0 else None
    return values[metric]


def _nothing(trials: int, notes: list[str]) -> Importance:
    return Importance({}, {}, None, None, trials, "; ".join(notes))


def _shares(fractions: np.ndarray, space: SearchSpace) -> dict[str, float]:
    """Fractions of variance (not all 0) -> shares summing to 1, largest first (Optuna normalises the same way)."""
    shares = fractions / fractions.sum()
    return dict(sorted(zip(space.names, map(float, shares)), key=lambda item: -item[1]))


def _sensitivity(fanova: "_Fanova", j: int, regions: list[tuple[str, float, float]], direction: str) -> Sensitivity:
    labels, lows, highs = zip(*regions)
    means = list(zip(labels, map(float, fanova.region_means(j, np.array(lows), np.array(highs)))))
    ranked = sorted(means, key=lambda item: -item[1] if direction == "maximize" else item[1])
    return Sensitivity(abs(ranked[0][1] - ranked[-1][1]), ranked[0][0], ranked[-1][0], means)


class _Encoding:
    """Configs -> points of the box the forest works in, and the labelled regions of each param."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        conditional = np.array([bool(p.when) for p in space])
        self.lower = np.where(conditional, _SENTINEL[0], 0.0)
        self.upper = np.ones(len(space))
        self.half_cells = np.array([_half_cell(p) for p in space])
        self.regions = [_regions(p) for p in space]
        self.blocks = _blocks(space, self.lower)

    def encode(self, params: dict) -> list[float] | None:
        """The point of a config; None when a value does not fit the space (the space changed since)."""
        point = []
        for p in self.space:
            if not self.space.is_active(p, params):
                point.append(_INACTIVE_CODE)
            elif p.name in params and p.accepts(params[p.name]):
                point.append(p.to_unit(params[p.name]))
            else:
                return None
        return point

    def box(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The smallest box holding these points, each discrete value's whole cell included."""
        half = np.where(X < 0, (_SENTINEL[1] - _SENTINEL[0]) / 2, self.half_cells)
        return ((X - half).min(axis=0).clip(self.lower, self.upper),
                (X + half).max(axis=0).clip(self.lower, self.upper))


def _blocks(space: SearchSpace, lower: np.ndarray) -> list[_Block]:
    """Each unconditional param with the conditional params it alone switches on. A conditional param with
    several parents, a conditional parent or a continuous one (no stretch of it switches the child on) is a
    block of its own over its whole code range, active or not: the product measure, as Optuna's."""
    params = list(space)
    index = {p.name: j for j, p in enumerate(params)}
    children: dict[int, list[int]] = {j: [] for j in range(len(params))}
    roots = []
    for j, p in enumerate(params):
        parent = space[next(iter(p.when))] if p.when and len(p.when) == 1 else None
        if parent is not None and not parent.when and isinstance(parent, (CategoricalParam, IntParam)):
            children[index[parent.name]].append(j)
        else:
            roots.append(j)
    blocks = []
    for j in roots:
        p, kids = params[j], tuple(children[j])
        if not kids:
            blocks.append(_Block(j, kids, ((float(lower[j]), 1.0, frozenset()),)))
            continue
        cells = ([(c, i / len(p.choices), (i + 1) / len(p.choices)) for i, c in enumerate(p.choices)]
                 if isinstance(p, CategoricalParam) else _value_cells(p))
        patterns: list[tuple[float, float, frozenset]] = []
        for value, a, b in cells:
            active = frozenset(c for c in kids if space.is_active(params[c], {p.name: value}))
            if patterns and patterns[-1][2] == active:
                patterns[-1] = (patterns[-1][0], b, active)
            else:
                patterns.append((a, b, active))
        blocks.append(_Block(j, kids, tuple(patterns)))
    return blocks


def _half_cell(p: Param) -> float:
    """Half the width of one value's cell in the unit interval: 0 for a continuous param."""
    if isinstance(p, CategoricalParam):
        return 0.5 / len(p.choices)
    if isinstance(p, IntParam) and not p.log:
        return 0.5 / ((p.high - p.low) // (p.step or 1) + 1)
    return 0.0


def _regions(p: Param) -> list[tuple[str, float, float]]:
    """(label, low, high) in the unit interval: each choice, each value of a param with at most BINS of
    them, else BINS equal bins (on the log scale for log params); plus a conditional param's inactive region."""
    if isinstance(p, CategoricalParam):
        k = len(p.choices)
        regions = [(str(c), i / k, (i + 1) / k) for i, c in enumerate(p.choices)]
    else:
        regions = _numeric_regions(p)
    return regions + ([(INACTIVE, *_SENTINEL)] if p.when else [])


def _numeric_regions(p: Param) -> list[tuple[str, float, float]]:
    edges = np.linspace(0.0, 1.0, BINS + 1)
    if not isinstance(p, IntParam) and p.step is None:  # continuous: bins labelled by their bounds
        spans = [(p.from_unit(a), p.from_unit(b), float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]
    else:
        cells = _value_cells(p)
        if len(cells) <= BINS:
            spans = [(value, value, lo, hi) for value, lo, hi in cells]
        else:  # the values whose cell centre falls in a bin, labelled by the first and last of them
            groups: dict[int, list] = {}
            for cell in cells:
                groups.setdefault(min(int((cell[1] + cell[2]) / 2 * BINS), BINS - 1), []).append(cell)
            spans = [(g[0][0], g[-1][0], g[0][1], g[-1][2]) for _, g in sorted(groups.items())]
    for digits in range(3, 13):  # enough digits to tell every region apart
        labels = [_fmt(first, digits) if first == last else f"{_fmt(first, digits)}..{_fmt(last, digits)}"
                  for first, last, _, _ in spans]
        if len(set(labels)) == len(labels):
            break
    return [(label, lo, hi) for label, (_, _, lo, hi) in zip(labels, spans)]


def _value_cells(p: Param, resolution: int = 2000) -> list[tuple[Any, float, float]]:
    """(value, low, high): the stretches of the unit interval that `from_unit` maps onto each value of a
    discrete param, found to 1/resolution."""
    u = (np.arange(resolution) + 0.5) / resolution
    values = [p.from_unit(x) for x in u]
    cells, low = [], 0.0
    for i in range(1, resolution):
        if values[i] != values[i - 1]:
            cut = float(u[i - 1] + u[i]) / 2
            cells.append((values[i - 1], low, cut))
            low = cut
    return cells + [(values[-1], low, 1.0)]


def _fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


class _Fanova:
    """A random forest over a box, and each tree's single-param marginals as step functions."""

    def __init__(self, X: np.ndarray, y: np.ndarray, lower: np.ndarray, upper: np.ndarray, blocks: list,
                 seed: int) -> None:
        from sklearn.ensemble import RandomForestRegressor  # heavy: only when importance is asked for

        forest = RandomForestRegressor(n_estimators=N_TREES, max_depth=MAX_DEPTH, random_state=seed, n_jobs=1)
        # fit in units of the power of two above the largest |value| (exact: the same splits, the same
        # shares), so the variances of a study with diverged trials (a loss of 1e200) no longer overflow
        # into NaN shares shown as "<1%"
        self.scale = math.ldexp(1.0, math.frexp(float(np.abs(y).max()))[1])
        forest.fit(X, y / self.scale)
        self.params = X.shape[1]
        self.trees = [m for m in (_TreeMarginals(e.tree_, lower, upper, blocks) for e in forest.estimators_)
                      if m.variance > 0]

    def fractions(self) -> np.ndarray:
        """Per param: its marginal's variance over the tree's total, averaged over the trees."""
        if not self.trees:  # every bootstrap sample held one value only
            return np.zeros(self.params)
        return np.mean([t.marginal_variance / t.variance for t in self.trees], axis=0)

    def region_means(self, j: int, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        """The forest's marginal of param j averaged over each [low, high]: the mean of the trees' (the
        forest predicts their mean, and a marginal is linear in the prediction)."""
        return np.mean([t.region_means(j, lows, highs) for t in self.trees], axis=0) * self.scale


class _TreeMarginals:
    """One fitted tree's leaves as boxes, its mean and variance under the space's own measure, and per param
    the marginal: the prediction averaged over every other param, a step function of this one.

    The measure is uniform over each block's root, and a child of the root uniform where the root's value
    switches it on and at its inactive code elsewhere; blocks are independent. A leaf's weight is the
    product over the blocks of its mass in each (Optuna's fANOVA is the case of blocks without children)."""

    def __init__(self, tree: Any, lower: np.ndarray, upper: np.ndarray, blocks: list["_Block"]) -> None:
        lo, hi = _leaf_boxes(tree, lower, upper)
        leaves = tree.children_left == -1
        lo, hi, values = lo[leaves], hi[leaves], tree.value[leaves, 0, 0]
        flat = lower >= upper  # a param the box holds at one value (near the best): lengths become 1
        terms = [_BlockTerms(b, lo, hi, flat) for b in blocks]
        boxes = [_BlockTerms(b, lower[None, :], upper[None, :], flat) for b in blocks]  # the whole box, one row
        if any(box.mass[0] <= 0 for box in boxes):  # a box the measure misses (near the best): nothing to say
            self.variance = 0.0
            return
        mass = np.column_stack([t.mass / box.mass[0] for t, box in zip(terms, boxes)])
        keep = mass.prod(axis=1) > 0  # leaves the measure never reaches weigh nothing
        lo, hi, values, mass = lo[keep], hi[keep], values[keep], mass[keep]
        terms = [t.keep(keep) for t in terms]
        weight = mass.prod(axis=1)
        self.mean = float(weight @ values)
        self.variance = float(weight @ (values - self.mean) ** 2)
        self.edges: list[np.ndarray] = [np.empty(0)] * len(lower)
        self.integrals: list[np.ndarray] = [np.empty(0)] * len(lower)  # the marginal integrated along its edges
        self.marginal_variance = np.zeros(len(lower))
        split_on = set(tree.feature[tree.children_left != -1].tolist())
        for b, (block, term, box) in enumerate(zip(blocks, terms, boxes)):
            rest = values * np.delete(mass, b, axis=1).prod(axis=1)  # each leaf's value times its other blocks' mass
            j = block.root
            if flat[j] or (j not in split_on and not block.children):  # flat: variance 0, not a rounding error
                self._set(j, np.array([lower[j], upper[j] if not flat[j] else lower[j] + 1.0]),
                          np.array([self.mean]), 0.0)
            else:
                self._root(j, term, box, rest, lo, hi, lower, upper)
            for c in block.children:
                self._child(c, term, box, rest, lo, hi, lower, upper)

    def _set(self, j: int, edges: np.ndarray, steps: np.ndarray, variance: float) -> None:
        self.edges[j] = edges
        self.integrals[j] = np.concatenate(([0.0], np.cumsum(steps * np.diff(edges))))
        self.marginal_variance[j] = max(float(variance), 0.0)

    def _root(self, j, term, box, rest, lo, hi, lower, upper) -> None:
        """E[value | root = x]: each pattern of active children weighs the leaves by their mass in it."""
        bounds = np.clip(np.array([(a, b) for a, b, _ in term.block.patterns]), lower[j], upper[j])
        edges = np.unique(np.concatenate(([lower[j], upper[j]], lo[:, j], hi[:, j], bounds.ravel())))
        change = np.zeros(len(edges))
        density = np.zeros(len(edges) - 1)  # of x in each cell, per unit length
        middles = (edges[:-1] + edges[1:]) / 2
        for q, (a, b) in enumerate(bounds):
            if box.pattern[0, q] <= 0 or b <= a:
                continue
            start, stop = np.maximum(lo[:, j], a), np.minimum(hi[:, j], b)
            ok = stop > start
            w = (rest * term.pattern[:, q] / box.pattern[0, q])[ok]
            change += (np.bincount(np.searchsorted(edges, start[ok]), w, len(edges))
                       - np.bincount(np.searchsorted(edges, stop[ok]), w, len(edges)))
            density[(middles >= a) & (middles < b)] = box.pattern[0, q] / box.mass[0]
        steps = np.cumsum(change)[:-1]
        prob = np.diff(edges) * density
        self._set(j, edges, steps, prob @ (steps - self.mean) ** 2)

    def _child(self, c, term, box, rest, lo, hi, lower, upper) -> None:
        """E[value | child = x] where it is active, and E[value | child inactive]; its variance counts only
        the active part, so what switching it on or off does is the root's (law of total variance)."""
        on = np.array([c in active for _, _, active in term.block.patterns])
        others, box_others = term.without(c), box.without(c)[0]
        active_mass = float(box.overlap[0, on] @ box_others[on])
        start_active = max(lower[c], 0.0)
        edges = np.unique(np.concatenate(([start_active, upper[c]], np.clip(lo[:, c], start_active, upper[c]),
                                          np.clip(hi[:, c], start_active, upper[c]))))
        steps = np.zeros(max(len(edges) - 1, 0))
        if active_mass > 0 and upper[c] > start_active:
            w = rest * (term.overlap[:, on] * others[:, on]).sum(axis=1) / active_mass
            start, stop = np.maximum(lo[:, c], start_active), hi[:, c]
            ok = stop > start
            steps = np.cumsum(np.bincount(np.searchsorted(edges, start[ok]), w[ok], len(edges))
                              - np.bincount(np.searchsorted(edges, stop[ok]), w[ok], len(edges)))[:-1]
            prob = np.diff(edges) * active_mass / box.mass[0]
            within = prob @ steps / prob.sum()
            variance = prob @ (steps - within) ** 2
        else:
            variance = 0.0
        if lower[c] < 0:  # the inactive region, one step below the active ones
            inactive_mass = float(box.overlap[0, ~on] @ box_others[~on]) * box.beta[c][0]
            inside = term.beta[c]
            inactive = (float((rest * inside * (term.overlap[:, ~on] * others[:, ~on]).sum(axis=1)).sum())
                        / inactive_mass if inactive_mass > 0 else self.mean)
            edges = np.concatenate(([lower[c]], edges)) if upper[c] > start_active else np.array([lower[c], 0.0])
            steps = np.concatenate(([inactive], steps))
        self._set(c, edges, steps, variance)

    def region_means(self, j: int, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        edges, integral = self.edges[j], self.integrals[j]
        return (np.interp(highs, edges, integral) - np.interp(lows, edges, integral)) / (highs - lows)


@dataclass(frozen=True)
class _Block:
    """A param and the conditional params that it alone switches on (its children); `patterns` split the
    root's unit interval by which children are active there. Independent of every other block."""

    root: int
    children: tuple[int, ...]
    patterns: tuple[tuple[float, float, frozenset], ...]


class _BlockTerms:
    """One block's pieces for every leaf and for the box: how much of each pattern's stretch of the root the
    leaf spans (`overlap`), how much of each child's active range (`alpha`), whether it holds the inactive
    code (`beta`), and their products per pattern (`pattern`), summed into the leaf's mass in the block."""

    def __init__(self, block: _Block, lo: np.ndarray, hi: np.ndarray, flat: np.ndarray) -> None:
        self.block = block
        j = block.root

        def length(a, b, k):
            return (b >= a).astype(float) if flat[k] else np.maximum(b - a, 0.0)

        self.overlap = np.column_stack([length(np.maximum(lo[:, j], a), np.minimum(hi[:, j], b), j)
                                        for a, b, _ in block.patterns])
        self.alpha = {c: length(np.maximum(lo[:, c], 0.0), hi[:, c], c) for c in block.children}
        self.beta = {c: ((lo[:, c] <= _INACTIVE_CODE) & (_INACTIVE_CODE <= hi[:, c])).astype(float)
                     for c in block.children}
        self.pattern = np.column_stack([self._product(active) for _, _, active in block.patterns])
        self.mass = (self.overlap * self.pattern).sum(axis=1)

    def _product(self, active: frozenset, leave_out: int | None = None) -> np.ndarray:
        out = np.ones(len(self.overlap))
        for c in self.block.children:
            if c != leave_out:
                out = out * (self.alpha[c] if c in active else self.beta[c])
        return out

    def without(self, c: int) -> np.ndarray:
        """Per pattern, the children's product leaving child c out."""
        return np.column_stack([self._product(active, c) for _, _, active in self.block.patterns])

    def keep(self, keep: np.ndarray) -> "_BlockTerms":
        """Only the rows (leaves) where `keep` holds."""
        self.overlap, self.pattern, self.mass = self.overlap[keep], self.pattern[keep], self.mass[keep]
        self.alpha = {c: v[keep] for c, v in self.alpha.items()}
        self.beta = {c: v[keep] for c, v in self.beta.items()}
        return self


def _leaf_boxes(tree: Any, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every node's box (lower and upper corner), clipped to the given box, computed a depth level at a time."""
    n = tree.node_count
    lo, hi = np.tile(lower, (n, 1)), np.tile(upper, (n, 1))
    left, right, feature, threshold = tree.children_left, tree.children_right, tree.feature, tree.threshold
    level = np.array([0])
    while level.size:
        split = level[left[level] != -1]
        f, t = feature[split], threshold[split]
        for children, bound in ((left[split], "hi"), (right[split], "lo")):
            lo[children], hi[children] = lo[split], hi[split]
            if bound == "hi":
                hi[children, f] = np.clip(np.minimum(hi[split, f], t), lower[f], upper[f])
            else:
                lo[children, f] = np.clip(np.maximum(lo[split, f], t), lower[f], upper[f])
        level = np.concatenate((left[split], right[split]))
    return lo, hi
