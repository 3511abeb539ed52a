"""The ask/tell protocol every strategy follows; a searcher knows the space and the results, nothing else.

`ask()` may be called several times before any `tell()` (one pending config per busy worker), and `tell()`
takes configs the searcher never asked for (manual trials, a resumed study, another strategy's trials).

Two calls the engine makes beyond the five lines of the contract, each with a default that changes nothing:
`spend(effort)` before an ask when asking costs too much next to the trials (a model-based searcher, one with
`spends_effort`, spends less: a share from 1.0, all it likes, down to `MIN_EFFORT`), and
`tell_pruned(config, step, last_value)` for a trial a pruner stopped (by default told as a failure).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..analysis.pareto import minimizing, rank_and_crowding
from ..errors import InputError
from ..options import Option, check_options
from ..space import Config, SearchSpace

MIN_EFFORT = 0.1  # the least share of its usual work a searcher is held to


def is_failure(value: float | None) -> bool:
    """A failed trial is told as None or NaN; searchers learn from it that the config is bad, not by how much."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _checked_value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"tell() takes a float or None, got {value!r}")
    value = float(value)
    if math.isinf(value):
        raise ValueError(f"tell() takes a finite value (or None/NaN for a failure), got {value}")
    return value


@runtime_checkable
class Predictor(Protocol):
    """A searcher with a model of the objective (bayes): what it expects of configs it has not run, shown
    beside each suggestion in review mode and for a hand-made config in the app."""

    def predict(self, configs: list[Config]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each config's value; ValueError before the model has data."""


class Searcher(ABC):
    """Base of every strategy. Subclasses declare `options`, implement `_ask`, and may learn from results in
    `_on_told`."""

    name: ClassVar[str]
    adaptive: ClassVar[bool] = True  # False: suggestions never depend on told values, so nothing waits for them
    options: ClassVar[dict[str, Option]] = {}  # the strategy's options; any other name is a user mistake
    effort: float = 1.0  # the share of its usual work an ask may take (see `spend`)
    spends_effort: ClassVar[bool] = False  # True: `spend` changes what an ask costs, so the governor may hold it

    def __init__(self, space: SearchSpace, *, seed: int | None = None, direction: str | list[str] = "minimize",
                 **options: Any) -> None:
        # a list of directions (one a metric) makes a multi-objective searcher: tell() then takes a sequence
        self.multi = isinstance(direction, (list, tuple))
        self.directions = tuple(direction) if self.multi else (direction,)
        if not self.directions or any(d not in ("minimize", "maximize") for d in self.directions):
            raise InputError(f"must be 'minimize' or 'maximize' (or a list of them), got {direction!r}",
                             field="objective.direction")
        checked = self.check_options(options)
        self.space = space
        self.seed = seed
        self.direction = list(self.directions) if self.multi else direction
        self.rng = np.random.default_rng(seed)
        self.history: list[tuple[Config, Any]] = []  # (config, float | tuple of floats when multi | None)
        self._configure(**checked)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Every option's checked value, defaults filled in. An option the strategy does not have is refused
        first, before it can collide with a constructor argument."""
        unknown = sorted(set(map(str, options)) - set(cls.options))
        if unknown:
            known = ", ".join(sorted(cls.options)) or "none"
            raise InputError(f"is not an option of the {cls.name} strategy (its options: {known})",
                             field=f"search.{unknown[0]}")
        return check_options(cls.options, options, prefix="search")

    def _configure(self, **options: Any) -> None:
        """Store the strategy's options, already checked against `options` and with defaults filled in
        (None stays for an automatic one: the strategy picks the value); the space and rng are set."""

    def _on_told(self, config: Config, value: Any) -> None:
        """Called by `tell` once the result is in `history`: `config` validated against the space, `value`
        a float, a tuple of floats (several metrics) or None for a failure. Override to learn from it."""

    @abstractmethod
    def _ask(self) -> Config:
        """Return the next config; raise SearchExhausted when a finite strategy has nothing left."""

    def ask(self) -> Config:
        return self.space.validate_config(self._ask())

    def tell(self, config: Config, value: Any) -> None:
        """Record a result: a float, or (made with a list of directions) a sequence of floats, one a metric;
        None/NaN for a failed trial."""
        config = self.space.validate_config(config)
        value = self._recorded(value)
        self.history.append((config, value))
        self._on_told(config, value)

    def _recorded(self, value: Any) -> Any:
        """What `history` keeps of a told value: a float, a tuple of floats (several metrics) or None."""
        if is_failure(value):
            return None
        if not self.multi:
            return _checked_value(value)
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != len(self.directions):
            raise TypeError(f"tell() takes {len(self.directions)} values (one a metric) or None, got {value!r}")
        values = tuple(_checked_value(v) for v in value)
        return None if any(math.isnan(v) for v in values) else values

    def tell_pruned(self, config: Config, step: int | None, last_value: float | None) -> None:
        """A trial a pruner stopped at `step`, its metric last reported as `last_value` (None when it reported
        none). Searchers that can use a value known to be no better than that override this; by default it
        is a failure."""
        self.tell(config, None)

    def spend(self, effort: float) -> None:
        """Hold the next asks to `effort` (1.0: all the work it likes) of their usual cost. Only searchers
        whose asks grow costly (a model fit, a candidate search) read `self.effort`; the rest ignore it."""
        if not MIN_EFFORT <= effort <= 1.0:
            raise ValueError(f"effort must be in [{MIN_EFFORT}, 1], got {effort!r}")
        self.effort = float(effort)

    @property
    def size(self) -> int | None:
        """How many distinct configs the strategy can suggest, for finite strategies; None when unbounded."""
        return None

    def sign(self) -> float:
        """+1 when smaller is better: multiply values by it to always minimise (the first metric's, when several)."""
        return 1.0 if self.directions[0] == "minimize" else -1.0

    def finished_points(self) -> tuple[list[Config], np.ndarray]:
        """Finished configs and their values as an (n, metrics) array to minimise (maximised ones negated)."""
        done = [(c, v) for c, v in self.history if v is not None]
        points = np.array([v if self.multi else (v,) for _, v in done], float).reshape(len(done), len(self.directions))
        return [c for c, _ in done], minimizing(points, self.directions)

    def best(self) -> tuple[Config, Any] | None:
        """The best finished trial; with several metrics, the first of the Pareto front in rank-and-crowding order."""
        done = [(c, v) for c, v in self.history if v is not None]
        if not done:
            return None
        if self.multi:
            return done[int(rank_and_crowding(self.finished_points()[1])[0])]
        return min(done, key=lambda cv: self.sign() * cv[1])
