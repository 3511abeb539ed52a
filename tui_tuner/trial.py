"""The handle an objective gets: its params and seed, and `report()` to stream values back while it runs.

Objectives import only this module (and `TrialPruned`), so user code never depends on the engine.
"""

from __future__ import annotations

from typing import Any, Protocol

from .results import as_number, checked_metrics, describe


class Channel(Protocol):
    def report(self, step: int, values: dict[str, float]) -> bool:
        """Deliver a report to the engine and return its answer: prune now or not."""


class Trial:
    """One evaluation of one config. `seed` is derived from the study seed and the trial number only."""

    def __init__(self, number: int, seed: int, params: dict[str, Any], channel: Channel | None = None,
                 log_path: str | None = None) -> None:
        self.number = number
        self.seed = seed
        self.params = params
        self.reports: list[tuple[int, dict[str, float]]] = []
        self.last_step: int | None = None
        self.log_path = log_path  # the file for this trial's own output (a command's program); None outside a study
        self._channel = channel
        self._prune = False

    @classmethod
    def offline(cls, number: int = 0, seed: int = 0, params: dict[str, Any] | None = None) -> "Trial":
        """A trial outside any study (tests, notebooks): reports are kept in `.reports`, nothing is pruned."""
        return cls(number, seed, dict(params or {}))

    def report(self, step: int, **values: Any) -> None:
        """Stream intermediate values (`trial.report(epoch, loss=..., lr=...)`) for live curves and pruning."""
        number = as_number(step)
        if number is None or not number.is_integer():
            raise TypeError(f"trial.report() step must be a whole number, got {describe(step)}")
        try:
            clean = checked_metrics(values, "trial.report()")
        except ValueError as err:
            raise TypeError(str(err)) from None
        step = int(number)
        self.last_step = step
        if self._channel is None:
            self.reports.append((step, clean))
        else:
            self._prune = self._channel.report(step, clean)

    def should_prune(self) -> bool:
        """True once the study's pruner judges this trial not worth finishing; raise TrialPruned then."""
        return self._prune

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, seed={self.seed}, params={self.params!r})"
