"""The files of a study directory, by name."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import InputError
from ..files import kind_of

JOURNAL_NAME = "journal.jsonl"
REJECTED_NAME = "journal.rejected.jsonl"  # lines `tui-tuner repair` moved out of the journal
SNAPSHOT_NAME = "study.yaml"
BEST_NAME = "best.json"
LOCK_NAME = "lock"
CHECKPOINT_NAME = "checkpoint.pickle"  # the replayed trials of a long journal (storage/checkpoint.py)
WORKERS_LOG = "workers.log"  # what the trials' workers printed, and the tracebacks of failed trials
LOGS_DIR = "logs"
TRIAL_LOG = LOGS_DIR + "/trial-{number}.log"  # what a trial's program printed (a command objective), one a trial
STUDY_FILES = (JOURNAL_NAME, REJECTED_NAME, SNAPSHOT_NAME, BEST_NAME, LOCK_NAME,  # never overwritten by an export
               CHECKPOINT_NAME, WORKERS_LOG, LOGS_DIR)


def is_study_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / JOURNAL_NAME).is_file()


def check_own_files(directory: str | os.PathLike) -> None:
    """Refuse to write a study directory whose own files (the journal, lock, snapshot, ..., logs/ and what it
    holds) include a link, a fifo, a socket or a device: planted in a directory someone else prepared, it would
    be written through (a journal linked to ~/.bashrc appended to, a lock linked elsewhere given our pid, a
    device replaced). A directory where a file belongs is harmless: writing it fails and says so."""
    directory = Path(directory)
    if directory.is_symlink():
        raise InputError(f"is a symlink (to {os.readlink(directory)}); name the study directory itself",
                         file=str(directory))
    for name in STUDY_FILES:
        if name == CHECKPOINT_NAME:  # a cache, read without following links and replaced whole: never written through
            continue
        try:
            _check_entry(directory / name, os.lstat(directory / name).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            continue
    if (directory / LOGS_DIR).is_dir():
        with os.scandir(directory / LOGS_DIR) as entries:
            for entry in entries:
                if not (entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)):  # no stat
                    _check_entry(Path(entry.path), entry.stat(follow_symlinks=False).st_mode)


def _check_entry(path: Path, mode: int) -> None:
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise planted(path, kind_of(mode))


def planted(path: Path, kind: str) -> InputError:
    """The one line for a file of a study directory that is a link, a fifo, a socket or a device."""
    return InputError(f"is {kind}: a study directory holds only files and folders tui-tuner made there, never "
                      "links, fifos, sockets or devices; remove it, or use another study directory", file=str(path))


def study_owning(path: str | os.PathLike, study: str | os.PathLike | None = None) -> Path | None:
    """The study directory `path` is one of the files of (its journal, lock, best.json, a file under logs/,
    ...), or None. A study directory is one that holds a journal, or `study` (one about to be created).
    Links in the directories on the way are followed: a link to a study directory leads into it."""
    path = Path(path)
    parent = Path(os.path.realpath(path.parent))  # (never raises: a loop of links stays as it is)
    studies = {Path(os.path.realpath(study))} if study is not None else set()

    def is_study(directory: Path) -> bool:
        return directory in studies or os.path.lexists(directory / JOURNAL_NAME)

    if path.name.casefold() in STUDY_FILES and is_study(parent):
        return parent
    return next((d.parent for d in (parent, *parent.parents) if d.name == LOGS_DIR and is_study(d.parent)), None)


def trial_log_path(directory: str | os.PathLike, number: int) -> Path:
    """Where trial `number` of the study in `directory` keeps its program's output (a command objective's)."""
    return Path(directory) / TRIAL_LOG.format(number=number)
