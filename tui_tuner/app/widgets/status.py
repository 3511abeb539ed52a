"""The line at the top: study name, state, trials done of the budget, best value, elapsed time and ETA."""

from __future__ import annotations

import time

from textual.widgets import Static

from ...progress import format_value
from ...storage import StudyLog


def clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class StudyStatus(Static):
    def show(self, name: str, state: str, log: StudyLog | None, *, budget: int | None, metric: str,
             started: float | None = None, done_at_start: int = 0, directory: str | None = None,
             timing: str | None = None) -> None:
        parts = [f"[b]{name}[/b]", f"[reverse] {state} [/reverse]"]
        if log is not None:
            done = sum(log.count(state) for state in ("finished", "failed", "pruned"))
            running = log.count("running")
            parts.append(f"{done}/{budget}" if budget else f"{done} done")
            if running:
                live = state in ("running", "paused", "stopping")
                parts.append(f"{running} running" if live else f"{running} unfinished")
            failed = log.count("failed")
            if failed:
                parts.append(f"[red]{failed} failed[/red]")
            best = log.best()
            parts.append(f"best {metric} {format_value(best.value) if best else '-'}")
            if started is not None:
                elapsed = time.monotonic() - started
                parts.append(clock(elapsed))
                new = done - done_at_start
                if budget and new > 0 and state in ("running", "paused") and done < budget:
                    parts.append(f"ETA {clock(elapsed / new * (budget - done))}")
        if timing:
            parts.append(timing)
        if directory:
            parts.append(f"[dim]{directory}[/dim]")
        self.update("  ·  ".join(parts))
