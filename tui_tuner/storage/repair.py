"""`tui-tuner repair`: move a journal's bad lines to a side file and keep every other line, so a study
whose journal was damaged (a disk error, a hand edit) resumes with everything that can be trusted."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ..files import NotRegularFile, open_regular
from ..records import StudyHeader
from .atomic import open_atomic, write_atomic
from .journal import BadLine, scan_journal
from .layout import CHECKPOINT_NAME, JOURNAL_NAME, REJECTED_NAME, is_study_dir
from .lock import StudyLock


@dataclass(frozen=True)
class Repair:
    journal: Path
    side_file: Path
    kept: int  # records left in the journal
    moved: list[BadLine]
    has_header: bool  # the study record survived (without it the study cannot be resumed)

    def summary(self) -> str:
        if not self.moved:
            return f"{self.journal}: all {self.kept} records are sound; nothing to repair"
        lines = ", ".join(str(b.number) for b in self.moved[:10]) + (" ..." if len(self.moved) > 10 else "")
        text = (f"{self.journal}: moved {len(self.moved)} bad line(s) ({lines}) to {self.side_file}; "
                f"kept {self.kept} records")
        if not self.has_header:
            text += "; the study record was among the bad lines, so the study cannot be resumed"
        return text


def repair_journal(directory: str | os.PathLike) -> Repair:
    """Move the bad lines out: damaged ones, and those that cannot come where they stand (a trial finished
    twice, a second study record: every reader refuses the same lines, `journal.scan_journal`); a line over
    the journal's size limit is moved whole. The side file is written (atomically, appended to) before
    the journal is replaced (atomically), so a crash between the two leaves a bad line in both files, never
    in neither.
    Holds the study's lock: no writer appends while lines move."""
    directory = Path(directory)
    if not is_study_dir(directory):
        raise InputError(f"not a study directory (no {JOURNAL_NAME})", file=str(directory))
    journal, side_file = directory / JOURNAL_NAME, directory / REJECTED_NAME
    lock = StudyLock(directory)
    try:
        scan = scan_journal(journal)
        if scan.bad:
            earlier = _earlier(side_file)
            with open_atomic(side_file) as out, open(journal, "rb") as f:
                out.write(earlier)
                for bad in scan.bad:  # whole, a line longer than a reader holds too
                    _copy(f, *bad.span, out)
            bad_numbers = {bad.number for bad in scan.bad}
            write_atomic(journal, b"".join(line + b"\n" for n, line in enumerate(scan.lines, start=1)
                                           if n not in bad_numbers))
            with contextlib.suppress(OSError):  # it covered the journal as it was (and is void now anyway)
                (directory / CHECKPOINT_NAME).unlink(missing_ok=True)
    finally:
        lock.release()
    has_header = any(isinstance(r, StudyHeader) for r in scan.records)
    return Repair(journal, side_file, len(scan.records), scan.bad, has_header)


def _earlier(side_file: Path) -> bytes:
    """What an earlier repair moved aside, kept ahead of this one's lines; a side file that is not a regular
    file of ours (a symlink, a fifo someone left) holds nothing of ours, and is replaced, never followed."""
    try:
        fd = open_regular(side_file, follow=False)
    except (FileNotFoundError, NotRegularFile):
        return b""
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _copy(source: BinaryIO, start: int, size: int, out: BinaryIO) -> None:
    """`size` bytes of `source` from `start`, in bounded pieces."""
    source.seek(start)
    while size:
        piece = source.read(min(size, 1 << 20))
        if not piece:
            raise OSError(f"{source.name} changed while it was repaired")
        out.write(piece)
        size -= len(piece)
