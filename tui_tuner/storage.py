"""Files a study owns: the append-only journal, its replay into trial records, and best-config files.

The journal is the source of truth. Every engine event is one JSON line, flushed and fsync'd before the
next one, so a study killed at any instant (kill -9 included) loses at most the line being written; replay
skips that torn last line and rebuilds every trial's state (Optuna's JournalFileStorage works the same way).
Every other file we write (best.json, exported configs, saved study files) is replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, SpaceError

JOURNAL_NAME = "journal.jsonl"
SNAPSHOT_NAME = "study.yaml"
BEST_NAME = "best.json"
CONFIG_FORMAT = "tui-tuner/best-config"


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace `path` with `text` so a reader sees the old file or the new one, never a torn mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.chmod(f.fileno(), _mode_for(path))
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp's 0600 would not do)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: the directory entry lives in the directory's own blocks."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a directory we may not open (some network mounts): the rename has happened regardless
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse to fsync a directory (EINVAL)
            os.fsync(fd)
    finally:
        os.close(fd)


def _json_value(value: Any) -> Any:
    """Plain JSON for numpy scalars and non-finite floats (JSON has no NaN; we write null)."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON that never writes NaN/Infinity and accepts numpy scalars."""
    def clean(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return _json_value(o)
    return json.dumps(clean(obj), allow_nan=False, **kwargs)


# ----------------------------------------------------------------------------------------------------- journal

class Journal:
    """Append-only JSON-lines log. Every append reaches the OS before it returns (a killed process loses
    nothing); `durable` appends are also fsync'd (a power cut loses nothing either). Intermediate reports
    come many a second, so they are fsync'd in batches, at most `SYNC_SECONDS` behind."""

    SYNC_SECONDS = 0.5

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        self._synced = time.monotonic()
        self._unsynced = False

    def append(self, record: dict, *, durable: bool = True) -> None:
        self._file.write(dumps(record) + "\n")
        self._file.flush()
        if durable or time.monotonic() - self._synced >= self.SYNC_SECONDS:
            self._sync()
        else:
            self._unsynced = True

    def _sync(self) -> None:
        os.fsync(self._file.fileno())
        self._synced, self._unsynced = time.monotonic(), False

    def close(self) -> None:
        if not self._file.closed:
            if self._unsynced:
                self._sync()
            self._file.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last record before appending, so the next record starts on a line of its own."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
            f.flush()
            os.fsync(f.fileno())


def read_journal(path: str | os.PathLike) -> list[dict]:
    """Every complete record of a journal.

    A record is complete once its newline is written, so a last line without one is a torn write (the
    process died mid-append) and is skipped. A damaged complete line is not a torn write but a damaged
    file, and is reported rather than silently dropped.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no journal here: not a study directory", file=str(path)) from None
    complete = data[: data.rfind(b"\n") + 1]
    records = []
    for i, raw in enumerate(complete.split(b"\n")[:-1]):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict) or "event" not in record:
            raise InputError(f"line {i + 1} is not a journal record", file=str(path), line=i + 1)
        records.append(record)
    return records


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
    reports: list[tuple[int, dict]] = field(default_factory=list)
    predicted: list | None = None  # [mean, std] the searcher's model expected, when it has one

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
        number = event.get("number")
        if kind == "started":
            old = self.records.get(number)
            if old is not None:  # an interrupted trial run again under its number
                self._counts[old.state] -= 1
            rec = TrialRecord(number=number, params=event["params"], seed=event["seed"],
                              manual=event.get("manual", False), started=event.get("time"),
                              predicted=event.get("predicted"))
            self.records[number] = rec
            self._counts[rec.state] += 1
            return rec
        rec = self.records.get(number)
        if rec is None:
            return None
        if kind == "reported":
            rec.reports.append((event["step"], event["values"]))
        elif kind == "finished":
            rec.value = event["value"]
            rec.metrics, rec.duration = event.get("metrics") or {}, event.get("duration")
            self._move(rec, "finished")
        elif kind == "failed":
            rec.reason, rec.duration = event.get("reason"), event.get("duration")
            self._move(rec, "failed")
        elif kind == "pruned":
            rec.duration = event.get("duration")
            rec.reason = f"pruned at step {event.get('step')}"
            self._move(rec, "pruned")
        elif kind == "interrupted":
            rec.reason = "the study process stopped while it ran"
            self._move(rec, "interrupted")
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


def is_study_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / JOURNAL_NAME).is_file()


# ------------------------------------------------------------------------------------------------ best config

def save_config(path: str | os.PathLike, *, params: dict, value: float, metric: str, direction: str,
                **meta: Any) -> Path:
    """Write a best-config file (the design's contract) atomically; `meta` makes it reproducible."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    from . import __version__

    doc = {
        "format": CONFIG_FORMAT,
        "params": params,
        "value": float(value),
        "metric": metric,
        "direction": direction,
        **meta,
    }
    doc.setdefault("version", __version__)
    doc.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return write_atomic(path, dumps(doc, indent=2) + "\n")


def load_config(path: str | os.PathLike, space=None) -> dict:
    """Read a best-config file; with a `space`, its params are validated against it.

    Every problem is one InputError naming the file and the field, so a training script that loads a
    hand-edited or stale config fails with a line a person can act on.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a best-config file", file=where) from None
    except UnicodeDecodeError:
        raise InputError("not a text file", file=where) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=where) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg}", file=where, line=e.lineno) from None
    if not isinstance(doc, dict):
        raise InputError(f"must be a JSON object, got {type(doc).__name__}", file=where)
    for key, kind in (("params", dict), ("metric", str), ("direction", str)):
        if key not in doc:
            raise InputError("missing (a best-config file has params, value, metric, direction)",
                             file=where, field=key)
        if not isinstance(doc[key], kind):
            raise InputError(f"must be a {kind.__name__}, got {type(doc[key]).__name__}", file=where, field=key)
    if "value" not in doc:
        raise InputError("missing (a best-config file has params, value, metric, direction)",
                         file=where, field="value")
    value = doc["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"must be a number, got {value!r}", file=where, field="value")
    if doc["direction"] not in ("minimize", "maximize"):
        raise InputError(f"must be 'minimize' or 'maximize', got {doc['direction']!r}", file=where,
                         field="direction")
    if space is not None:
        try:
            doc["params"] = space.validate_config(doc["params"])
        except SpaceError as e:
            raise e.located(file=where, field_prefix="params") from None
    return doc
