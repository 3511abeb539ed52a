"""The journal: a study's append-only JSON-lines log of the study's records, and the source of truth.

The JSON edge: records go in typed (`records`), are written as JSON lines, and come back typed after
`schema` has checked each line, so nothing past here meets a dict.

Every record reaches the OS before `append` returns, so a study killed at any instant (kill -9 included)
loses at most the line being written; reading skips that torn last line (Optuna's JournalFileStorage works
the same way). A failed append is cut back out of the file, so a full disk leaves no half record behind.
A damaged complete line is reported by line number, with the way out (`tui-tuner repair`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Collection, Iterator

from ..errors import InputError
from ..files import open_regular
from ..records import JournalRecord, from_json, tag, to_json
from .atomic import fsync_dir
from .encoding import dumps
from .schema import record_problem


class Journal:
    """Append-only JSON-lines log. Every append reaches the OS before it returns (a killed process loses
    nothing); `durable` appends are also fsync'd (a power cut loses nothing either). Intermediate reports
    come many a second, so they are fsync'd in batches, at most `SYNC_SECONDS` behind."""

    SYNC_SECONDS = 0.5

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not os.path.lexists(self.path)
        # never appended through a link or to a fifo or device someone put in the study directory
        self._fd: int | None = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666, follow=False)
        try:
            _drop_torn_tail(self._fd)
        except OSError:
            self.close()
            raise
        if new:
            fsync_dir(self.path.parent)  # the new file's entry survives a power cut with its records
        self._synced = time.monotonic()
        self._unsynced = False

    def append(self, record: JournalRecord, *, durable: bool = True) -> int:
        """Append one record and return its size in bytes; on any OSError (disk full, I/O error) the file is
        cut back to where it was, so the journal holds whole records only, and the error is raised."""
        line = (dumps(to_json(record)) + "\n").encode("utf-8")
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            data = memoryview(line)
            while data:
                data = data[os.write(self._fd, data):]
            if durable or time.monotonic() - self._synced >= self.SYNC_SECONDS:
                self._sync()
            else:
                self._unsynced = True
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)
            raise
        return len(line)

    def _sync(self) -> None:
        os.fsync(self._fd)
        self._synced, self._unsynced = time.monotonic(), False

    def close(self) -> None:
        """Close, syncing batched reports first; never raises (a failed sync was already reported by
        the append that hit it, or leaves at most intermediate reports unsynced)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._unsynced:
                with contextlib.suppress(OSError):
                    os.fsync(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_torn_tail(fd: int) -> None:
    """Cut a torn last record before appending, so the next record starts on a line of its own."""
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:  # back to the last newline, a block at a time
        start = max(0, end - (1 << 16))
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    os.ftruncate(fd, end)
    os.fsync(fd)


@dataclass(frozen=True)
class BadLine:
    """A complete journal line that is not a valid record: where it is, what it holds, what is wrong."""

    number: int  # 1-based line number
    raw: bytes
    problem: str


@dataclass(frozen=True)
class JournalScan:
    records: list[JournalRecord]
    lines: list[bytes]  # every complete line read, in order (what `repair` keeps or moves)
    bad: list[BadLine]
    end: int  # byte offset just past the last complete line: where the next scan starts


def scan_journal(path: str | os.PathLike, start: int = 0, first_line: int = 1) -> JournalScan:
    """Every complete line of a journal from byte `start` (line `first_line`), parsed and checked. A last
    line without its newline is a torn write, or one being written, and is left for the next scan; blank
    lines are kept but are no records."""
    path = Path(path)
    with _open(path) as f:
        f.seek(start)
        data = f.read()
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.split(b"\n")[:-1]
    records, bad = [], []
    for number, raw in enumerate(lines, start=first_line):
        if not raw.strip():
            continue
        record, problem = _parse(raw)
        if problem is None:
            records.append(record)
        else:
            bad.append(BadLine(number, raw, problem))
    return JournalScan(records, lines, bad, start + len(complete))


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no journal here: not a study directory", file=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=str(path)) from None


def _parse(raw: bytes) -> tuple[JournalRecord | None, str | None]:
    """A journal line's record, or why it is not a valid one."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past what json reads
        return None, "is not a journal record (not valid JSON)"
    problem = record_problem(data)
    return (None, problem) if problem else (from_json(data), None)


def read_journal(path: str | os.PathLike) -> list[JournalRecord]:
    """Every record of a journal; a damaged line is an InputError naming its line and `tui-tuner repair`."""
    return sound_records(scan_journal(path), path)


def stream_journal(path: str | os.PathLike, *, skip: Collection[type] = ()) -> Iterator[JournalRecord]:
    """The records of a journal one at a time, leaving out those of the classes in `skip` (a reader that needs
    no curves skips `Reported`, most of a long study's lines, mostly without parsing them), so a journal of
    100,000 trials is never held whole. A damaged line is an InputError as in `read_journal` (raised when
    the stream reaches it); a last line without its newline is being written, and is left."""
    path = Path(path)
    quick = tuple(f'{{"event": "{tag(cls)}"'.encode() for cls in skip)  # how our own writer starts a line
    skip = tuple(skip)
    with _open(path) as f:
        for number, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n") or not raw.strip() or raw.startswith(quick):
                continue
            record, problem = _parse(raw)
            if problem is not None:
                raise _damaged(path, BadLine(number, raw, problem))
            if not isinstance(record, skip):
                yield record


def sound_records(scan: JournalScan, path: str | os.PathLike) -> list[JournalRecord]:
    """The records of a scan that found no bad line; else an InputError naming the first and the way out."""
    if scan.bad:
        raise _damaged(path, scan.bad[0], more=len(scan.bad) - 1)
    return scan.records


def _damaged(path: str | os.PathLike, first: BadLine, more: int = 0) -> InputError:
    also = f" (and {more} more bad lines)" if more else ""
    return InputError(f"line {first.number} {first.problem}{also}; move the bad lines aside and keep the "
                      f"rest with: tui-tuner repair {Path(path).parent}", file=str(path), line=first.number)
