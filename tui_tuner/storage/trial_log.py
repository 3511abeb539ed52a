"""Trial records rebuilt from engine events, live (the study's own events) or replayed from a journal.

One code path for both, so a resumed or watched study shows exactly what a live one would.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

INTERRUPTED_REASON = "the study process stopped while it ran"


@dataclass
class TrialRecord:
    """What is known of one trial, rebuilt from its events."""

    number: int
    params: dict
    seed: int
    manual: bool = False
    state: str = "running"  # running | finished | failed | pruned | interrupted
    value: float | None = None
    metrics: dict = field(default_factory=dict)
    reason: str | None = None
    duration: float | None = None
    started: float | None = None
    ended: float | None = None  # when it finished, failed, was pruned or interrupted
    pruned_step: int | None = None
    reports: list[tuple[int, dict]] = field(default_factory=list)
    predicted: list | None = None  # [mean, std] the searcher's model expected, when it has one
    note: str | None = None  # the latest note the user kept on this trial

    @property
    def done(self) -> bool:
        return self.state != "running"


class StudyLog:
    """Trial records kept current from events (live) or from a journal (replay); one code path for both."""

    def __init__(self, direction: str = "minimize") -> None:
        self.direction = direction
        self.records: dict[int, TrialRecord] = {}
        self.header: dict = {}
        self.test: dict | None = None
        self.note: str | None = None  # the latest note the user kept on the study
        self._counts: Counter[str] = Counter()  # kept as events arrive: the app asks every few 100 ms
        self._best: TrialRecord | None = None

    def _move(self, rec: TrialRecord, state: str) -> None:
        self._counts[rec.state] -= 1
        self._counts[state] += 1
        rec.state = state
        if state == "finished" and (self._best is None or self._rank(rec) < self._rank(self._best)):
            self._best = rec

    def _rank(self, rec: TrialRecord) -> tuple[float, int]:
        return (-rec.value if self.direction == "maximize" else rec.value), rec.number

    def apply(self, event: dict) -> TrialRecord | None:
        """Update from one event in its JSON form; returns the trial record it touched, if any."""
        kind = event.get("event")
        if kind == "study":
            self.header = event
            self.direction = event.get("direction", self.direction)
            return None
        if kind == "test":
            self.test = event
            return None
        if kind == "note" and event.get("number") is None:
            self.note = event["text"]
            return None
        number = event.get("number")
        if kind == "started":
            old = self.records.get(number)
            if old is not None:  # an interrupted trial run again under its number
                self._counts[old.state] -= 1
            rec = TrialRecord(number=number, params=event["params"], seed=event["seed"],
                              manual=event.get("manual", False), started=event.get("time"),
                              predicted=event.get("predicted"), note=old.note if old else None)
            self.records[number] = rec
            self._counts[rec.state] += 1
            return rec
        rec = self.records.get(number)
        if rec is None:
            return None
        if kind == "reported":
            rec.reports.append((event["step"], event["values"]))
        elif kind == "note":
            rec.note = event["text"]
        elif kind == "finished":
            rec.value = event["value"]
            rec.metrics, rec.duration = event.get("metrics") or {}, event.get("duration")
            self._move(rec, "finished")
        elif kind == "failed":
            rec.reason, rec.duration = event.get("reason"), event.get("duration")
            self._move(rec, "failed")
        elif kind == "pruned":
            rec.duration, rec.pruned_step = event.get("duration"), event.get("step")
            rec.reason = f"pruned at step {rec.pruned_step}"
            self._move(rec, "pruned")
        elif kind == "interrupted":
            rec.reason = INTERRUPTED_REASON
            self._move(rec, "interrupted")
        if kind in ("finished", "failed", "pruned", "interrupted"):
            rec.ended = event.get("time")
        return rec

    @classmethod
    def replay(cls, records: list[dict], direction: str = "minimize") -> "StudyLog":
        log = cls(direction)
        for event in records:
            log.apply(event)
        return log

    def finished(self) -> list[TrialRecord]:
        return [r for r in self.records.values() if r.state == "finished"]

    def ranked(self) -> list[TrialRecord]:
        """Finished trials, best first (ties: earlier trial first)."""
        return sorted(self.finished(), key=self._rank)

    def best(self) -> TrialRecord | None:
        return self._best

    def count(self, state: str) -> int:
        return self._counts[state]
