"""Trial records rebuilt from the study's records, live (the engine's events) or replayed from a journal.

One code path for both, so a resumed or watched study shows exactly what a live one would.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..analysis.balance import Balance
from ..analysis.pareto import minimizing, non_dominated, pareto_ranks, rank_and_crowding
from ..records import (Failed, Finished, Interrupted, JournalRecord, Note, ObjectiveChanged, Pruned, Reported,
                       SettingsChanged, SpaceVersion, Started, StudyHeader, TestScored)
from .schema import Order

INTERRUPTED_REASON = "the study process stopped while it ran"


@dataclass(slots=True)
class TrialRecord:
    """What is known of one trial, rebuilt from its events."""

    number: int
    params: dict
    seed: int
    manual: bool = False
    proposer: str | None = None  # the strategy that proposed it, "manual" or "imported" (journals before it: unknown)
    space_version: int = 1  # the version of the search space it was drawn from
    state: str = "running"  # running | finished | failed | pruned | interrupted
    value: float | None = None  # several metrics: the first one's
    values: list | None = None  # several metrics: each one's value, in the study file's order
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

    @property
    def result(self) -> Any:
        """What a searcher is told: the value, or the list of values with several metrics; None unless finished."""
        if self.state != "finished":
            return None
        return self.values if self.values is not None else self.value


class StudyLog:
    """Trial records kept current from events (live) or from a journal (replay); one code path for both.

    With several metrics (`direction` a list) trials rank by Pareto rank, then crowding distance (spread-out
    trials first), then number; `best()` is the trial the balance picks (see analysis/balance.py)."""

    def __init__(self, direction: str | list[str] = "minimize", balance: Balance | None = None) -> None:
        self.direction = direction
        self.balance = balance or Balance()
        self.records: dict[int, TrialRecord] = {}
        self.header = StudyHeader()  # the defaults until the journal's header is applied
        self.test: TestScored | None = None
        self.note: str | None = None  # the latest note the user kept on the study
        self.spaces: list[SpaceVersion] = []  # the versions of the search space, in order (older journals: none)
        self._counts: Counter[str] = Counter()  # kept as events arrive: the app asks every few 100 ms
        self._manual_counts: Counter[str] = Counter()  # the same, of manual trials only
        self._best: TrialRecord | None = None
        self._pareto: tuple[list[TrialRecord], np.ndarray, np.ndarray] | None = None  # several metrics, cached
        self._front: list[TrialRecord] | None = None  # several metrics: the non-dominated finished trials by
        self._front_points = np.zeros((0, 0))  # number, and their values to minimise; kept as trials finish

    @property
    def multi(self) -> bool:
        return isinstance(self.direction, list)

    @property
    def metrics(self) -> list[str]:
        """The study's metric names as its header records them (one, or several)."""
        metric = self.header.metric
        width = len(self.direction) if self.multi else 1
        names = metric if isinstance(metric, list) else [metric]
        return names if len(names) == width else [f"value {i + 1}" for i in range(width)]

    def _move(self, rec: TrialRecord, state: str) -> None:
        self._counts[rec.state] -= 1
        self._counts[state] += 1
        if rec.manual:
            self._manual_counts[rec.state] -= 1
            self._manual_counts[state] += 1
        was, rec.state = rec.state, state
        if self.multi:
            self._pareto = self._best = None
            if was == "finished":
                self._front = None
            elif state == "finished" and self._front is not None:
                self._add_to_front(rec)
        elif state == "finished" and (self._best is None or self._rank(rec) < self._rank(self._best)):
            self._best = rec

    def _add_to_front(self, rec: TrialRecord) -> None:
        """Keep the front current as a trial finishes: one comparison with the front, not a new front of
        every finished trial (which took 70 ms at 10,000 trials of three metrics, on each one)."""
        if rec.values is None:
            return
        point = minimizing(rec.values, self.direction)[0]
        if not np.isfinite(point).all():  # NaN compares like nothing else: leave it to the whole computation
            self._front = None
            return
        front = self._front_points
        if len(front) and ((front <= point).all(axis=1) & (front < point).any(axis=1)).any():
            return  # dominated: the front stays
        keep = ~((point <= front).all(axis=1) & (point < front).any(axis=1)) if len(front) else []
        kept = [r for r, k in zip(self._front, keep) if k]
        at = bisect.bisect([r.number for r in kept], rec.number)
        self._front = [*kept[:at], rec, *kept[at:]]
        self._front_points = np.insert(front[keep] if len(front) else np.zeros((0, len(point))), at, point, axis=0)

    def _front_records(self) -> list[TrialRecord]:
        """The non-dominated finished trials by number (all of them, uncached, if a value is not finite)."""
        if self._front is None:
            done = sorted((r for r in self.finished() if r.values is not None), key=lambda r: r.number)
            if not done:
                return []
            points = minimizing(np.array([r.values for r in done], float), self.direction)
            if not np.isfinite(points).all():
                return done
            on = np.flatnonzero(non_dominated(points))
            self._front, self._front_points = [done[i] for i in on], points[on]
        return self._front

    def _rank(self, rec: TrialRecord) -> tuple[float, int]:
        return (-rec.value if self.direction == "maximize" else rec.value), rec.number

    def apply(self, record: JournalRecord) -> TrialRecord | None:
        """Update from one record; returns the trial record it touched, if any."""
        match record:
            case StudyHeader():
                self.header = record
                self.direction = record.direction if record.direction is not None else self.direction
                self._front = self._pareto = self._best = None
                if record.balance is not None:
                    self.balance = Balance.from_json(record.balance)
                return None
            case TestScored():
                self.test = record
                return None
            case Note(number=None):
                self.note = record.text
                return None
            case SpaceVersion():
                self.spaces.append(record)
                return None
            case SettingsChanged():  # the header keeps what the study runs with now
                self.header = replace(self.header, settings=record.settings)
                return None
            case ObjectiveChanged():  # ... and the objective it runs now
                self.header = replace(self.header, objective=record.objective, base_dir=record.base_dir)
                return None
            case Started():
                return self._start(record)
        rec = self.records.get(record.number)
        if rec is None:
            return None
        match record:
            case Reported():
                rec.reports.append((record.step, record.values))
            case Note():
                rec.note = record.text
            case Finished():
                rec.value, rec.values = record.value, record.values
                rec.metrics, rec.duration = record.metrics or {}, record.duration
                self._end(rec, "finished", record.time)
            case Failed():
                rec.reason, rec.duration = record.reason, record.duration
                self._end(rec, "failed", record.time)
            case Pruned():
                rec.duration, rec.pruned_step = record.duration, record.step
                rec.reason = f"pruned at step {rec.pruned_step}"
                self._end(rec, "pruned", record.time)
            case Interrupted():
                rec.reason = INTERRUPTED_REASON
                self._end(rec, "interrupted", record.time)
        return rec

    def _start(self, started: Started) -> TrialRecord:
        old = self.records.get(started.number)
        if old is not None:  # an interrupted trial run again under its number
            self._counts[old.state] -= 1
            self._manual_counts[old.state] -= old.manual
            if old.state == "finished":
                self._front = self._pareto = self._best = None
        rec = TrialRecord(number=started.number, params=started.params, seed=started.seed, manual=started.manual,
                          proposer=started.proposer, space_version=started.space, started=started.time,
                          predicted=started.predicted, note=old.note if old else None)
        self.records[started.number] = rec
        self._counts[rec.state] += 1
        self._manual_counts[rec.state] += rec.manual
        return rec

    def _end(self, rec: TrialRecord, state: str, when: float | None) -> None:
        rec.ended = when
        self._move(rec, state)

    @classmethod
    def replay(cls, records: list[JournalRecord], direction: str = "minimize") -> "StudyLog":
        log = cls(direction)
        for record in records:
            log.apply(record)
        return log

    def state(self) -> dict:
        """What `restore` needs to rebuild this log (a checkpoint holds it); the rest is derived."""
        return {"header": self.header, "test": self.test, "note": self.note, "spaces": self.spaces,
                "records": list(self.records.values())}

    @classmethod
    def restore(cls, direction: str | list[str], *, header: StudyHeader, test: TestScored | None, note: str | None,
                spaces: list[SpaceVersion], records: list[TrialRecord]) -> "StudyLog":
        """The log `state()` was taken from, its counts and best trial derived again."""
        log = cls(direction)
        log.apply(header)
        log.test, log.note, log.spaces = test, note, list(spaces)
        log.records = {rec.number: rec for rec in records}
        log._counts.update(rec.state for rec in records)
        log._manual_counts.update(rec.state for rec in records if rec.manual)
        if not log.multi:
            log._best = min(log.finished(), key=log._rank, default=None)
        return log

    def order(self) -> Order:
        """What a journal's next lines are checked against: this log's trials as they stand (a reader following
        another process's appends carries the check from one scan to the next)."""
        def state(number: int) -> str | None:
            rec = self.records.get(number)
            return rec.state if rec else None
        return Order(state, header=self.header.name is not None)

    @property
    def space_version(self) -> int:
        """The version of the search space trials are drawn from now (1 until the space changed)."""
        return self.spaces[-1].version if self.spaces else 1

    def drawn_from(self, version: int) -> int:
        """How many trials were drawn from version `version` of the space."""
        return sum(r.space_version == version for r in self.records.values())

    def finished(self) -> list[TrialRecord]:
        return [r for r in self.records.values() if r.state == "finished"]

    def ranked(self) -> list[TrialRecord]:
        """Finished trials, best first (ties: earlier trial first; several metrics: by Pareto rank, crowding)."""
        if self.multi:
            return self._pareto_view()[0]
        return sorted(self.finished(), key=self._rank)

    def best(self) -> TrialRecord | None:
        """The best finished trial; with several metrics, the one the balance picks."""
        if self.multi and self._best is None:  # kept until the next trial finishes; needs the front only,
            # not the full ranking (a tenth of the cost at 10,000 trials of three metrics). Without limits the
            # pick is among the front's trials, so the kept front (by number: the same ties) is enough
            if not self.balance.limits:
                front = self._front_records()
                if front:
                    self._best = front[self.balance.pick([r.values for r in front], self.metrics, self.direction)]
                return self._best
            by_number = sorted((r for r in self.finished() if r.values is not None), key=lambda r: r.number)
            if by_number:  # ties go to the earlier trial
                self._best = by_number[self.balance.pick([r.values for r in by_number], self.metrics,
                                                         self.direction)]
        return self._best

    def pareto_rank(self) -> dict[int, int]:
        """Trial number -> Pareto rank (1: the front) of the finished trials of a multi-metric study."""
        ranked, _, ranks = self._pareto_view()
        return {rec.number: int(rank) for rec, rank in zip(ranked, ranks)}

    def front(self) -> list[TrialRecord]:
        """The finished trials no other finished trial beats on every metric, in ranked order."""
        ranked, _, ranks = self._pareto_view()
        return [rec for rec, rank in zip(ranked, ranks) if rank == 1]

    def _pareto_view(self) -> tuple[list[TrialRecord], np.ndarray, np.ndarray]:
        """(finished trials in rank-and-crowding order, their values, their Pareto ranks), kept until the next
        trial finishes."""
        if self._pareto is None:
            done = sorted((r for r in self.finished() if r.values is not None), key=lambda r: r.number)
            width = len(self.direction) if self.multi else 1
            values = np.array([r.values for r in done], float).reshape(len(done), width)
            points = minimizing(values, self.direction if self.multi else [self.direction])
            ranks = pareto_ranks(points)  # once: the sort is most of the cost
            order = rank_and_crowding(points, ranks)
            self._pareto = ([done[i] for i in order], values[order], ranks[order])
        return self._pareto

    def count(self, state: str, *, manual: bool | None = None) -> int:
        """Trials in `state`; `manual=False` only those the searcher proposed, `True` only manual ones."""
        if manual is None:
            return self._counts[state]
        return self._manual_counts[state] if manual else self._counts[state] - self._manual_counts[state]
