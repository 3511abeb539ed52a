"""What the engine needs of a place where trials run, and how a trial there ended.

The engine sees only this: `await executor.open()` (again is a no-op: a study opens it first, to know a
cluster's size before the engine is made), `await executor.run(...) -> Outcome` for each trial
(at most `capacity` at once), `await executor.close()` at the end. The process pool (pool.py) and
dask.distributed (dask.py) are two implementations side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from ..errors import TunerError
from ..results import shorten

# A report from a running trial -> prune it or not; the answer may be awaited (a cluster asks over the network)
ReportHandler = Callable[[int, dict], "bool | Awaitable[bool]"]
LOST = "lost"  # an Outcome's state when the trial's machine went away mid-trial: run it again


class ExecutorLost(TunerError):
    """Raised by `run` when the place trials run went away as a whole (a dask scheduler killed): no trial
    can go on there, so the engine records the running ones interrupted (a resume runs them again) and stops."""


@dataclass(frozen=True)
class Outcome:
    """How one trial ended: `result` (a float or metrics dict) when finished, else a reason or a step.
    `lost`: the worker running it went away (not the trial's fault); the engine records it interrupted and
    runs it again under its number."""

    state: str  # finished | failed | pruned | lost
    result: Any = None
    reason: str | None = None
    step: int | None = None
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.reason is not None:  # every reason fits a journal line and a screen, whatever raised it
            object.__setattr__(self, "reason", shorten(self.reason))


class Executor(Protocol):
    capacity: int  # trials at once

    async def open(self) -> str | None:
        """Get ready to run trials (start workers, reach the cluster); TunerError when it cannot. Returns a
        line worth telling the user the first time (what cluster was reached), else None."""

    async def run(self, objective: Any, params: dict, *, number: int, seed: int, timeout: float | None,
                  on_report: ReportHandler | None) -> Outcome:
        """Run `objective(params, trial)` once and say how it ended; cancelling it kills the trial.
        ExecutorLost when no trial can run here any more."""

    async def close(self) -> None:
        """Let go of the workers (running trials are the engine's to finish or cancel first)."""
