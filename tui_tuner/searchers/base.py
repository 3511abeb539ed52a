"""The ask/tell protocol every strategy follows; a searcher knows the space and the results, nothing else.

`ask()` may be called several times before any `tell()` (one pending config per busy worker), and `tell()`
takes configs the searcher never asked for (manual trials, a resumed study, another strategy's trials).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from ..space import Config, SearchSpace


def is_failure(value: float | None) -> bool:
    """A failed trial is told as None or NaN; searchers learn from it that the config is bad, not by how much."""
    return value is None or (isinstance(value, float) and math.isnan(value))


class Searcher(ABC):
    """Base of every strategy. Subclasses implement `_ask` and may extend `tell` to learn from results."""

    name: ClassVar[str]
    adaptive: ClassVar[bool] = True  # False: suggestions never depend on told values, so nothing waits for them
    options: ClassVar[dict[str, Any]] = {}  # option name -> default; anything else is a user mistake

    def __init__(self, space: SearchSpace, *, seed: int | None = None, direction: str = "minimize",
                 **options: Any) -> None:
        if direction not in ("minimize", "maximize"):
            raise InputError(f"must be 'minimize' or 'maximize', got {direction!r}", field="objective.direction")
        self.check_options(options)
        self.space = space
        self.seed = seed
        self.direction = direction
        self.rng = np.random.default_rng(seed)
        self.history: list[tuple[Config, float | None]] = []
        self._configure(**{**self.options, **options})

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Refuse an option the strategy does not have, before it can collide with a constructor argument."""
        unknown = sorted(set(map(str, options)) - set(cls.options))
        if unknown:
            known = ", ".join(sorted(cls.options)) or "none"
            raise InputError(f"is not an option of the {cls.name} strategy (its options: {known})",
                             field=f"search.{unknown[0]}")

    def _configure(self, **options: Any) -> None:
        """Check and store strategy options (defaults already filled in)."""

    @abstractmethod
    def _ask(self) -> Config:
        """Return the next config; raise SearchExhausted when a finite strategy has nothing left."""

    def ask(self) -> Config:
        return self.space.validate_config(self._ask())

    def tell(self, config: Config, value: float | None) -> None:
        """Record a result; `value` is a float, or None/NaN for a failed trial."""
        config = self.space.validate_config(config)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"tell() takes a float or None, got {value!r}")
            value = float(value)
            if math.isinf(value):
                raise ValueError(f"tell() takes a finite value (or None/NaN for a failure), got {value}")
        self.history.append((config, None if is_failure(value) else value))

    @property
    def size(self) -> int | None:
        """How many distinct configs the strategy can suggest, for finite strategies; None when unbounded."""
        return None

    def sign(self) -> float:
        """+1 when smaller is better: multiply values by it to always minimise."""
        return 1.0 if self.direction == "minimize" else -1.0

    def best(self) -> tuple[Config, float] | None:
        done = [(c, v) for c, v in self.history if v is not None]
        if not done:
            return None
        return min(done, key=lambda cv: self.sign() * cv[1])
