"""Pruners: stop trials whose learning curves are not going anywhere, so the budget goes to better ones.

A pruner sees every report of every trial (`take` keeps it, `judge` answers "prune now?"; `on_report` does
both) and knows nothing of processes or files. `ordered` (the default) judges a trial only against the
trials numbered before it, as a run of one trial after another would: the engine holds the answer until
those have reached the step, so the same study, seed and workers make the same decisions however long each
trial takes. Unordered, a trial is judged against whatever the others have reported by then, and parallel
workers never wait for each other. Only reports that carry the study's metric count. `threshold(step)` is
the value a trial must beat at `step` to go on, for the app.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import defaultdict

from .errors import InputError
from .options import Flag, Option, Whole, check_options

ORDERED = Option(True, Flag(), "judge a trial against earlier trials only, waiting for them at each step: the "
                               "same decisions whatever the timing (false: never wait)")
PRUNERS = {
    "median": {"warmup": Option(2, Whole(0), "steps before any trial is pruned"),
               "min_trials": Option(4, Whole(0), "other trials that must have reached a step to judge it"),
               "ordered": ORDERED},
    "successive_halving": {"min_resource": Option(1, Whole(1), "epochs before the first rung"),
                           "reduction_factor": Option(3, Whole(2), "1 in this many goes on at each rung"),
                           "ordered": ORDERED},
}
ALIASES = {"asha": "successive_halving", "sha": "successive_halving"}


class _Pruner(ABC):
    def __init__(self, metric: str, direction: str, *, ordered: bool = True) -> None:
        self.metric = metric
        self.maximize = direction == "maximize"
        self.ordered = ordered
        self._values: dict[int, dict[int, float]] = defaultdict(dict)  # number -> step -> value

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b

    def _forgets(self, state: str) -> bool:
        """Whether the reports of a trial that ended in `state` stop counting."""
        return state == "interrupted" or (state == "failed" and not self.ordered)

    def _weighs_in(self, other: int, number: int | None) -> bool:
        """Whether trial `other`'s reports count when trial `number` is judged (None: any trial's do)."""
        return other != number and (number is None or not self.ordered or other < number)

    def on_report(self, number: int, step: int, values: dict) -> bool:
        value = self.take(number, step, values)
        return value is not None and self.judge(number, step, value)

    def take(self, number: int, step: int, values: dict) -> float | None:
        """Keep a report; its value of the metric, None when it carries none (and is not judged)."""
        value = values.get(self.metric)
        if value is None or not math.isfinite(value):
            return None
        self._values[number][step] = value
        return value

    @abstractmethod
    def judge(self, number: int, step: int, value: float) -> bool:
        """Prune trial `number` now, at `step` where it reported `value`?"""

    def on_finish(self, number: int, state: str) -> None:
        """Failed trials' curves say nothing about what is good, and an interrupted one's starts again:
        forget them. Ordered, a failed trial's stay: a failure that comes after a report cannot take back what
        that report already weighed in, whatever the timing."""
        if self._forgets(state):
            self._values.pop(number, None)


class MedianPruner(_Pruner):
    """Prune when a trial's best value so far is worse than the median of the other trials at that step.

    No pruning before `warmup` steps, nor while fewer than `min_trials` other trials have reached the step.
    """

    def __init__(self, metric: str, direction: str, *, warmup: int = 2, min_trials: int = 4,
                 ordered: bool = True) -> None:
        super().__init__(metric, direction, ordered=ordered)
        self.warmup = warmup
        self.min_trials = min_trials

    def threshold(self, step: int, number: int | None = None) -> float | None:
        if step < self.warmup:
            return None
        others = [v[step] for n, v in self._values.items() if step in v and self._weighs_in(n, number)]
        if len(others) < self.min_trials:
            return None
        others.sort()
        mid = len(others) // 2
        return others[mid] if len(others) % 2 else 0.5 * (others[mid - 1] + others[mid])

    def judge(self, number: int, step: int, value: float) -> bool:
        median = self.threshold(step, number)
        if median is None:
            return False
        seen = self._values[number].values()
        best = max(seen) if self.maximize else min(seen)
        return self._better(median, best)


class SuccessiveHalvingPruner(_Pruner):
    """Asynchronous successive halving (ASHA, Li et al. 2020).

    Rungs sit at resource r = min_resource * reduction_factor ** k epochs (step r - 1). A trial reaching a
    rung goes on only if its value is in the top 1/reduction_factor of all values recorded at that rung so
    far (at least the best one always goes on); otherwise it is pruned. Between rungs nothing is pruned.
    """

    def __init__(self, metric: str, direction: str, *, min_resource: int = 1, reduction_factor: int = 3,
                 ordered: bool = True) -> None:
        super().__init__(metric, direction, ordered=ordered)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self._rungs: dict[int, dict[int, float]] = defaultdict(dict)  # rung step -> number -> value

    def rung_steps(self, up_to: int) -> list[int]:
        steps, resource = [], self.min_resource
        while resource - 1 <= up_to:
            steps.append(resource - 1)
            resource *= self.reduction_factor
        return steps

    def _is_rung(self, step: int) -> bool:
        resource = step + 1
        if resource < self.min_resource or resource % self.min_resource:
            return False
        ratio = resource // self.min_resource
        while ratio % self.reduction_factor == 0:
            ratio //= self.reduction_factor
        return ratio == 1

    def _cutoff(self, values: list[float]) -> float:
        """The worst value still promoted among `values`: the k-th best, k = max(1, n // reduction_factor)."""
        ranked = sorted(values, reverse=self.maximize)
        return ranked[max(1, len(ranked) // self.reduction_factor) - 1]

    def threshold(self, step: int, number: int | None = None) -> float | None:
        if not self._is_rung(step):
            return None
        others = [v for n, v in self._rungs[step].items() if self._weighs_in(n, number)]
        return self._cutoff(others) if others else None

    def take(self, number: int, step: int, values: dict) -> float | None:
        value = super().take(number, step, values)
        if value is not None and self._is_rung(step):
            self._rungs[step][number] = value
        return value

    def judge(self, number: int, step: int, value: float) -> bool:
        if not self._is_rung(step):
            return False
        rung = [v for n, v in self._rungs[step].items() if self._weighs_in(n, number)] + [value]
        return self._better(self._cutoff(rung), value)

    def on_finish(self, number: int, state: str) -> None:
        super().on_finish(number, state)
        if self._forgets(state):
            for rung in self._rungs.values():
                rung.pop(number, None)


def pruner_from_yaml(value: object, *, file: str | None) -> dict | None:
    """`median`, `successive_halving` (or `asha`), `none`, or `{name: ..., option: ...}` -> a checked config."""
    field = "pruner"
    if value is None or value == "none":
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise InputError(f"must be {', '.join(PRUNERS)}, none, or a mapping with a name", file=file, field=field)
    config = dict(value)
    name = config.pop("name", None)
    name = ALIASES.get(name, name)
    if name not in PRUNERS:
        raise InputError(f"unknown pruner {name!r}; use {', '.join(PRUNERS)} (or asha) or none", file=file,
                         field=field if len(value) == 1 else f"{field}.name")
    declared = PRUNERS[name]
    for key in config:
        if key not in declared:
            raise InputError(f"{name} has no option {key!r}; it takes {', '.join(declared)}", file=file,
                             field=f"{field}.{key}")
    return {"name": name, **check_options(declared, config, prefix=field, file=file)}


def make_pruner(config: dict | None, metric: str, direction: str) -> _Pruner | None:
    if config is None:
        return None
    options = {k: v for k, v in config.items() if k != "name"}
    cls = MedianPruner if config["name"] == "median" else SuccessiveHalvingPruner
    return cls(metric, direction, **options)
