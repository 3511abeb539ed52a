"""The Pareto ranking of a several-metric study, made off the event loop.

Ranking 10,000 trials of three metrics (non-dominated sorting, crowding, the balance's pick) takes about a
second: done on the UI thread, each finished trial would freeze the screen. So the app copies the finished
trials (their records no longer change) on the UI thread, in milliseconds, and ranks the copy in a thread.
"""

from __future__ import annotations

from ..storage import StudyLog


def finished_copy(log: StudyLog) -> StudyLog:
    """A log of `log`'s finished trials alone, to rank where the live log cannot change under it."""
    copy = StudyLog(log.direction, log.balance)
    copy.header = log.header
    copy.records = {r.number: r for r in list(log.records.values()) if r.state == "finished"}
    return copy


def ranked(copy: StudyLog) -> StudyLog:
    """Rank the copy and make the balance's pick (both cached in it), for a worker thread."""
    copy.ranked()
    copy.best()
    return copy
