"""The journal: a study's append-only JSON-lines log of the study's records, and the source of truth.

The JSON edge: records go in typed (`records`), are written as JSON lines, and come back typed after
`schema` has checked each line, so nothing past here meets a dict.

Every record reaches the OS before `append` returns, so a study killed at any instant (kill -9 included)
loses at most the line being written; reading skips that torn last line (Optuna's JournalFileStorage works
the same way). A failed append is cut back out of the file, so a full disk leaves no half record behind.
A damaged complete line, or one that cannot come where it stands (a trial finished twice, a second study
record: `schema.Order`), is reported by line number, with the way out (`tui-tuner repair`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Collection, Iterator

from ..errors import InputError
from ..files import NotRegularFile, open_regular
from ..records import JournalRecord, from_json, tag, to_json
from .atomic import fsync_dir
from .encoding import dumps
from .schema import Order, record_problem

MAX_LINE = 16 << 20  # bytes a journal line may hold (ours: a few hundred; the largest metrics or space, far less)
MAX_DEPTH = 64  # how deep its lists and objects may nest
# what a number no float holds needs (300 digits, an exponent of 100 or more): such lines are parsed carefully
_LONG, _EXPONENT = re.compile(rb"[0-9]{300}"), re.compile(rb"e\+?0*[1-9][0-9][0-9]")


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
            os.close(self._fd)
            raise
        if new:
            fsync_dir(self.path.parent)  # the new file's entry survives a power cut with its records
        self._synced = time.monotonic()
        self._unsynced = False

    def append(self, record: JournalRecord, *, durable: bool = True) -> int:
        """Append one record and return its size in bytes; on any OSError (disk full, I/O error) the file is
        cut back to where it was, so the journal holds whole records only, and the error is raised."""
        line = (dumps(to_json(record)) + "\n").encode("utf-8")
        if len(line) > MAX_LINE + 1:  # its readers would refuse it: the journal would stop being readable
            raise OSError(errno.EFBIG, f"a record of {len(line):,} bytes, more than a journal line may hold")
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
    """Cut a torn last record before appending, so the next record starts on a line of its own (the file is
    read backwards from its end to its last newline, in blocks: a journal of any size costs what its tail
    holds)."""
    size = end = os.fstat(fd).st_size
    cut = 0
    while end > 0:
        start = max(0, end - (64 << 10))
        at = os.pread(fd, end - start, start).rfind(b"\n")
        if at >= 0:
            cut = start + at + 1
            break
        end = start
    if cut < size:
        os.ftruncate(fd, cut)
        os.fsync(fd)


@dataclass(frozen=True)
class BadLine:
    """A complete journal line that is not a valid record: where it is, what it holds, what is wrong."""

    number: int  # 1-based line number
    raw: bytes  # cut to MAX_LINE + 1 bytes when longer
    problem: str
    span: tuple[int, int] = (0, 0)  # (byte offset, bytes with its newline) in the journal: all of a long line


@dataclass(frozen=True)
class JournalScan:
    records: list[JournalRecord]
    lines: list[bytes]  # every complete line read, in order (what `repair` keeps or moves)
    bad: list[BadLine]
    end: int  # byte offset just past the last complete line: where the next scan starts


def scan_journal(path: str | os.PathLike, start: int = 0, first_line: int = 1,
                 order: Order | None = None) -> JournalScan:
    """Every complete line of a journal from byte `start` (line `first_line`), parsed and checked, each
    against the records before it (`order`: what came before `start`; a fresh one from the first line). A
    last line without its newline is a torn write, or one being written, and is left for the next scan;
    blank lines are kept but are no records."""
    path = Path(path)
    order = order or Order()
    records, lines, bad, end = [], [], [], start
    with _open(path) as f:
        f.seek(start)
        for number, (raw, whole) in enumerate(_read_lines(f), start=first_line):
            if whole is None:  # the torn or unfinished last line
                break
            lines.append(raw)
            end += whole
            if not raw.strip():
                continue
            data, problem = _check(raw, whole, order)
            if problem is None:
                records.append(from_json(data))
            else:
                bad.append(BadLine(number, raw, problem, (end - whole, whole)))
    return JournalScan(records, lines, bad, end)


def _open(path: Path) -> BinaryIO:
    """The journal, for reading: a regular file of ours (never a fifo's hang, a device or a symlink out)."""
    try:
        return os.fdopen(open_regular(path, follow=False), "rb")
    except FileNotFoundError:
        raise InputError("no journal here: not a study directory", file=str(path)) from None
    except NotRegularFile as err:
        raise InputError(f"is {err.kind}, not a journal", file=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=str(path)) from None


def _read_lines(f: BinaryIO) -> Iterator[tuple[bytes, int | None]]:
    """(line without its newline, its length in the file with it) for each line; a line longer than
    MAX_LINE is given cut to that length (the rest is read past, never held); the last line without its
    newline comes with None."""
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        if raw.endswith(b"\n"):
            yield raw[:-1], len(raw)
            continue
        if len(raw) <= MAX_LINE:
            yield raw, None
            return
        whole = len(raw)
        while True:  # past the overlong line's end, in bounded pieces
            rest = f.readline(MAX_LINE)
            whole += len(rest)
            if rest.endswith(b"\n"):
                yield raw, whole
                break
            if not rest:
                yield raw, None
                return


def _check(raw: bytes, whole: int, order: Order) -> tuple[dict | None, str | None]:
    """A journal line's JSON object when it is a sound record where it stands (`order` then takes it), else
    why not. Bounded: a line over MAX_LINE bytes, nested past MAX_DEPTH or holding a number no float holds
    is named, never parsed into a MemoryError, a RecursionError or an OverflowError later."""
    if whole > MAX_LINE + 1:
        return None, f"is not a journal record (longer than {MAX_LINE:,} bytes)"
    huge = _LONG.search(raw) or _EXPONENT.search(raw) or b"E" in raw
    try:
        data = (_CAREFUL if huge else _DECODER).decode(raw.decode("utf-8"))
    except RecursionError:
        return None, f"is not a journal record (nested deeper than {MAX_DEPTH})"
    except ValueError as err:
        why = err.args[0] if err.args and isinstance(err.args[0], _Why) else "not valid JSON"
        return None, f"is not a journal record ({why})"
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(data) > MAX_DEPTH:
        return None, f"is not a journal record (nested deeper than {MAX_DEPTH})"
    problem = record_problem(data) or order.problem(data)
    return (None, problem) if problem else (data, None)


class _Why(str):
    """A reason a number in a line is refused (told apart from json's own ValueErrors)."""


def _no_constant(name: str) -> float:
    raise ValueError(_Why(f"{name} is no JSON number"))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_Why(f"the number {_cut(text)} is too large"))
    return value


def _bounded(text: str) -> int:
    if len(text.lstrip("-")) > 308:
        raise ValueError(_Why(f"the number {_cut(text)} is too large"))
    return int(text)


def _cut(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_CAREFUL = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded)


def _depth(value: object) -> int:
    """How deep lists and objects nest in a parsed line (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in children)
    return deepest


def read_journal(path: str | os.PathLike) -> list[JournalRecord]:
    """Every record of a journal; a damaged line is an InputError naming its line and `tui-tuner repair`."""
    return sound_records(scan_journal(path), path)


def stream_journal(path: str | os.PathLike, *, skip: Collection[type] = ()) -> Iterator[JournalRecord]:
    """The records of a journal one at a time, leaving out those of the classes in `skip` (checked, but never
    built: a reader that needs no curves skips `Reported`, most of a long study's lines), so a journal of
    100,000 trials is never held whole. A damaged or misplaced line is an InputError as in `read_journal`
    (raised when the stream reaches it); a last line without its newline is being written, and is left."""
    path = Path(path)
    skipped = {tag(cls) for cls in skip}
    order = Order()
    with _open(path) as f:
        for number, (raw, whole) in enumerate(_read_lines(f), start=1):
            if whole is None:
                return
            if not raw.strip():
                continue
            data, problem = _check(raw, whole, order)
            if problem is not None:
                raise _damaged(path, BadLine(number, raw, problem))
            if data["event"] not in skipped:
                yield from_json(data)


def sound_records(scan: JournalScan, path: str | os.PathLike) -> list[JournalRecord]:
    """The records of a scan that found no bad line; else an InputError naming the first and the way out."""
    if scan.bad:
        raise _damaged(path, scan.bad[0], more=len(scan.bad) - 1)
    return scan.records


def _damaged(path: str | os.PathLike, first: BadLine, more: int = 0) -> InputError:
    also = f" (and {more} more bad lines)" if more else ""
    return InputError(f"line {first.number} {first.problem}{also}; move the bad lines aside and keep the "
                      f"rest with: tui-tuner repair {Path(path).parent}", file=str(path), line=first.number)
