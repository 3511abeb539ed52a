"""The overhead governor: holds a searcher to less effort when asking costs too much next to the trials.

The searcher's share of the study's time is median ask x workers / median trial: with W workers each ending
a trial every `trial` seconds the engine asks W times a trial time, and no trial starts while it asks. Above
`ask_share` the effort halves (down to the searcher's least); below a quarter of the share it doubles back (up
to all of it). Each decision waits for `WINDOW` asks made at the current effort, so it judges what that effort
costs. The decisions depend on timing: a study the governor cuts is not reproducible, one it never cuts is.
"""

from __future__ import annotations

import statistics
from collections import deque

from .searchers.base import MIN_EFFORT

WINDOW = 5  # asks at one effort before the next decision
TRIALS = 20  # the latest trial durations the median is taken over
MIN_TRIALS = 3  # trials ended before any decision
SLACK = 4  # effort goes back up when the share is below ask_share / SLACK


class Governor:
    """`effort()` before each ask; `asked(seconds)` after it, `trial_ended(seconds)` as each trial ends."""

    def __init__(self, ask_share: float, workers: int) -> None:
        self.ask_share = ask_share
        self.workers = max(1, workers)
        self._asks: deque[float] = deque(maxlen=WINDOW)  # asks at the current effort
        self._trials: deque[float] = deque(maxlen=TRIALS)
        self._effort = 1.0
        self.note: str | None = None  # what it did, for the status line and the summary; None while at full effort

    def asked(self, seconds: float) -> None:
        self._asks.append(seconds)

    def trial_ended(self, seconds: float) -> None:
        self._trials.append(seconds)

    def effort(self) -> float:
        """The effort for the next ask: changed by one step when the last `WINDOW` asks cost too much or
        left slack, else as before."""
        if len(self._asks) < WINDOW or len(self._trials) < MIN_TRIALS:
            return self._effort
        ask, trial = statistics.median(self._asks), statistics.median(self._trials)
        share = ask * self.workers / max(trial, 1e-9)
        if share > self.ask_share and self._effort > MIN_EFFORT:
            self._set(max(MIN_EFFORT, self._effort / 2), ask, trial)
        elif share < self.ask_share / SLACK and self._effort < 1.0:
            self._set(min(1.0, self._effort * 2), ask, trial)
        return self._effort

    def _set(self, effort: float, ask: float, trial: float) -> None:
        self._effort = effort
        self._asks.clear()
        workers = f"{self.workers} workers" if self.workers > 1 else "1 worker"
        self.note = None if effort == 1.0 else (f"searcher held to {effort:.0%} effort: ask {_duration(ask)} vs "
                                                f"trial {_duration(trial)}, {workers}")


def _duration(seconds: float) -> str:
    """12 ms, 0.4 ms, 1.5 s: two or three figures, the unit that reads best."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2g} ms"
