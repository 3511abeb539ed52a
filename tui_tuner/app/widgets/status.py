"""The line at the top: study name, state, trials done of the budget, best value, elapsed time and ETA."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from ...progress import format_value
from ...storage import StudyLog, TrialRecord
from ...terminal import safe_text
from ..session import ENDED, budget_spent

SEPARATOR = Content(" · ")


def clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def best_text(metric: str | list[str], best: TrialRecord | None) -> str:
    """`best val_loss 0.3`, or with several metrics the balance's pick: `best #12: acc 0.9, time 1.2`
    (plain text: a metric's name is the study file's)."""
    if not isinstance(metric, list):
        return safe_text(f"best {metric} {format_value(best.value) if best else '-'}")
    if best is None or best.values is None:
        return "best -"
    return safe_text(f"best #{best.number}: " + ", ".join(f"{m} {format_value(v)}"
                                                          for m, v in zip(metric, best.values)))


class StudyStatus(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._parts: list[Content] = []  # always shown
        self._extras: list[Content | None] = []  # shown while the line has room, in this order

    def show(self, name: str, state: str, log: StudyLog | None, *, budget: int | None, metric: str | list[str],
             best: TrialRecord | None = None, elapsed: float | None = None, done_at_start: int = 0,
             directory: str | None = None, timing: Sequence[str] = ()) -> None:
        """`best`: the best trial (several metrics: the balance's pick, with all its values); `elapsed`:
        seconds the current run has taken (frozen once it ends); `done_at_start`: trials already done when it
        began, for the ETA."""
        parts = [Content.from_markup("[b]$name[/b]", name=safe_text(name)),
                 Content.from_markup(f"[reverse] {state} [/reverse]")]
        if log is not None:
            spent = budget_spent(log)
            manual = sum(log.count(s) for s in ENDED) - spent
            running = log.count("running")
            parts.append(Content(f"{spent}/{budget}" if budget else f"{spent} done"))
            if manual:
                parts.append(Content(f"+{manual} manual"))
            if running:
                live = state in ("running", "paused", "stopping")
                parts.append(Content(f"{running} running" if live else f"{running} unfinished"))
            failed = log.count("failed")
            if failed:
                parts.append(Content.from_markup(f"[red]{failed} failed[/red]"))
            parts.append(Content(best_text(metric, best)))
            if elapsed is not None:
                parts.append(Content(clock(elapsed)))
                new = spent - done_at_start
                if budget and new > 0 and state in ("running", "paused") and spent < budget:
                    parts.append(Content(f"ETA {clock(elapsed / new * (budget - spent))}"))
        self._parts = parts
        self._extras = [*map(Content, timing),
                        directory and Content.from_markup("[dim]$directory[/dim]", directory=safe_text(directory))]
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The line with each extra (timing, directory) it has room for: never cut mid-way."""
        parts = list(self._parts)
        for extra in self._extras:
            if extra and self._fits([*parts, extra]):
                parts.append(extra)
        self.update(SEPARATOR.join(parts))

    def _fits(self, parts: list[Content]) -> bool:
        width = self.content_size.width
        return not width or SEPARATOR.join(parts).cell_length <= width
