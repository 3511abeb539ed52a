"""The trials table: one row a trial, with the columns an Optuna user knows from `trials_dataframe()`.

Built from the journal alone (never the study file or its code), so a study copied to another machine, or
one another process is writing, reads the same. Rows are written one at a time, so a study of 100,000
trials is never held as text; pandas is needed only by `to_pandas()`.
"""

from __future__ import annotations

import csv
from collections import Counter
import io
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from ..errors import InputError
from ..records import Reported
from ..storage import (INTERRUPTED_REASON, JOURNAL_NAME, StudyLog, TrialRecord, dumps, open_atomic, stream_journal,
                       writer_pid)
from ..terminal import safe_text

FORMATS = ("csv", "json", "jsonl")


@dataclass(frozen=True)
class TrialRow:
    """One trial as the table shows it. `values` holds the study's metrics (one entry for one metric),
    `metrics` every final metric the objective returned; times are ISO 8601 in UTC."""

    number: int
    state: str  # finished | failed | pruned | running | interrupted
    values: dict[str, float | None]
    params: dict[str, Any]
    metrics: dict[str, Any]
    datetime_start: str | None
    datetime_complete: str | None
    duration: float | None  # seconds
    seed: int
    pruned_step: int | None
    fail_reason: str | None
    manual: bool
    proposer: str | None  # the strategy that proposed it, "manual" or "imported"
    space: int  # the version of the search space it was drawn from
    note: str | None

    @property
    def value(self) -> float | None:
        """The value of a one-metric study (None for several metrics: see `values`)."""
        return next(iter(self.values.values())) if len(self.values) == 1 else None


def trial_row(rec: TrialRecord, metrics: list[str], *, writer_alive: bool) -> TrialRow:
    """The row of one trial record. A trial still running in a study no process writes any more was cut off
    (kill -9, a crash): it is shown interrupted, as a resume will record it."""
    state, reason = rec.state, rec.reason if rec.state in ("failed", "interrupted") else None
    if state == "running" and not writer_alive:
        state, reason = "interrupted", INTERRUPTED_REASON
    return TrialRow(number=rec.number, state=state, values=_values(rec, metrics), params=rec.params,
                    metrics=rec.metrics, datetime_start=_iso(rec.started),
                    datetime_complete=_iso(rec.ended) if state != "running" else None, duration=rec.duration,
                    seed=rec.seed, pruned_step=rec.pruned_step, fail_reason=reason, manual=rec.manual,
                    proposer=rec.proposer, space=rec.space_version, note=rec.note)


def _values(rec: TrialRecord, metrics: list[str]) -> dict[str, float | None]:
    if rec.state != "finished":
        return dict.fromkeys(metrics)
    if len(metrics) == 1:
        return {metrics[0]: rec.value}
    return dict(zip(metrics, rec.values))


def _iso(timestamp: float | None) -> str | None:
    """One width for every time (microseconds always written), so any reader parses the column alike."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="microseconds")


def table_columns(rows: Iterable[TrialRow], metrics: list[str]) -> list[str]:
    """The columns, in Optuna's order where it has them: `value` (or `value_<metric>` for each of several),
    times, `params_<name>` and `metric_<name>` (Optuna's user_attrs) for every name any trial has, sorted."""
    params: set[str] = set()
    returned: set[str] = set()
    for row in rows:
        params.update(row.params)
        returned.update(row.metrics)
    return (["number", "state", *value_columns(metrics), "datetime_start", "datetime_complete", "duration",
             *(f"params_{p}" for p in sorted(params)), *(f"metric_{m}" for m in sorted(returned)),
             "seed", "pruned_step", "fail_reason", "manual", "proposer", "space", "note"])


def value_columns(metrics: list[str]) -> list[str]:
    """`value` for one metric, as Optuna; `value_<metric>` for each of several."""
    return ["value"] if len(metrics) == 1 else [f"value_{m}" for m in metrics]


def flat_row(row: TrialRow, columns: list[str]) -> dict[str, Any]:
    """`row` as column -> cell, every column present (None where the trial has nothing)."""
    cells = {"number": row.number, "state": row.state, "datetime_start": row.datetime_start,
             "datetime_complete": row.datetime_complete, "duration": row.duration, "seed": row.seed,
             "pruned_step": row.pruned_step, "fail_reason": row.fail_reason, "manual": row.manual,
             "proposer": row.proposer, "space": row.space, "note": row.note}
    cells.update(zip(value_columns(list(row.values)), row.values.values()))
    cells.update((f"params_{p}", v) for p, v in row.params.items())
    cells.update((f"metric_{m}", v) for m, v in row.metrics.items())
    return {c: cells.get(c) for c in columns}


def write_rows(rows: Iterable[dict[str, Any]], columns: list[str], fmt: str, out: TextIO, *,
               screen: bool = False) -> int:
    """Write the table to `out` row by row as csv (a header line; empty cells for nothing; lists and
    objects as JSON), json (one array of objects) or jsonl (one object a line); returns the rows written.
    Cells hold what the journal held, JSON already: plain `json.dumps` suffices (a third faster), and its
    ASCII is safe on a screen. CSV keeps the data exactly, except on a `screen` (a terminal), where a cell's
    escape sequences are written out rather than obeyed."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", field="--format")
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        cell = (lambda value: safe_text(_csv_cell(value))) if screen else _csv_cell
        writer.writerow(map(cell, columns))
        for count, row in enumerate(rows, start=1):
            writer.writerow([cell(row[c]) for c in columns])
    elif fmt == "jsonl":
        for count, row in enumerate(rows, start=1):
            out.write(json.dumps(row, allow_nan=False) + "\n")
    else:
        out.write("[")
        for count, row in enumerate(rows, start=1):
            out.write(("\n" if count == 1 else ",\n") + json.dumps(row, allow_nan=False))
        out.write("\n]\n")
    return count


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return dumps(value) if isinstance(value, (dict, list)) else value


class StudyTrials:
    """A study's trials as a table, read from its journal: `trials` (TrialRow, by number), `best`,
    `metric`, `direction`, `params`, `note`; `rows()`, `write()`, `save()` and `to_pandas()`."""

    def __init__(self, directory: Path, log: StudyLog, *, writer_alive: bool) -> None:
        header = log.header
        self.directory = directory
        self.name: str | None = header.name
        self.metric: str | list[str] = header.metric
        self.direction: str | list[str] = header.direction if header.direction is not None else log.direction
        self.metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        self.note: str | None = log.note  # the latest note kept on the study itself
        records = sorted(log.records.values(), key=lambda r: r.number)
        self.trials = [trial_row(r, self.metrics, writer_alive=writer_alive) for r in records]
        self.columns = table_columns(self.trials, self.metrics)
        self.params = [c.removeprefix("params_") for c in self.columns if c.startswith("params_")]
        best = log.best()  # several metrics: the trial the study's balance picks
        self.best: TrialRow | None = next((row for row in self.trials if best and row.number == best.number), None)

    def __repr__(self) -> str:
        states = Counter(row.state for row in self.trials)
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        return f"<StudyTrials {str(self.directory)!r}: {len(self.trials)} trials{': ' + counts if counts else ''}>"

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every trial as column -> cell, by trial number."""
        return (flat_row(row, self.columns) for row in self.trials)

    def write(self, out: TextIO, fmt: str = "csv", *, screen: bool = False) -> int:
        """The table to `out`; `screen`: `out` is a terminal (see `write_rows`)."""
        return write_rows(self.rows(), self.columns, fmt, out, screen=screen)

    def save(self, path: str | os.PathLike, fmt: str = "csv") -> int:
        """Write the table to `path` atomically (a reader sees the old file or the whole new one)."""
        with open_atomic(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            count = self.write(text, fmt)
            text.flush()
            text.detach()
        return count

    def to_pandas(self):
        """The table as a pandas DataFrame (datetime columns as UTC timestamps, duration in seconds)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("StudyTrials.to_pandas() needs pandas, which is not installed: "
                              "pip install pandas") from None
        frame = pd.DataFrame.from_records(list(self.rows()), columns=self.columns)
        for column in ("datetime_start", "datetime_complete"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame


def load_study(directory: str | os.PathLike) -> StudyTrials:
    """The trials of the study in `directory`, read from its journal without taking its lock: a study
    another process is writing can be read while it runs (its running trials show as running)."""
    directory = Path(directory)
    if not (directory / JOURNAL_NAME).is_file():
        problem = "no such directory" if not directory.exists() else f"not a study directory (no {JOURNAL_NAME})"
        raise InputError(problem, file=str(directory))
    log = StudyLog()
    for record in stream_journal(directory / JOURNAL_NAME, skip={Reported}):  # curves are no columns
        log.apply(record)
    return StudyTrials(directory, log, writer_alive=writer_pid(directory) is not None)
