"""One writer per study directory: an `flock`ed lock file holding the writer's pid.

The kernel releases an flock when its holder dies, so kill -9 never leaves a stale lock, and any number of
readers (the app watching a running study) can ask who writes without disturbing it. The descriptor is not
inherited by worker processes (they are started by exec, and os.open's descriptors are non-inheritable),
so a worker outliving its study cannot keep the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from ..errors import InputError
from ..files import NotRegularFile, open_regular
from .layout import LOCK_NAME, check_own_files, planted


class StudyLocked(InputError):
    """Another process writes this study directory."""

    def __init__(self, directory: Path, pid: int | None) -> None:
        who = f"another tui-tuner process (pid {pid})" if pid else "another tui-tuner process"
        super().__init__(f"is being written by {who}; wait for it to end or stop it, or open the study "
                         "read-only in the app", file=str(directory))
        self.pid = pid


class StudyLock:
    """The writer's hold on a study directory; `release()` (or the holder's death) lets the next one in.
    Every writer takes it first, so it refuses a directory whose own files were replaced by links, fifos or
    devices (InputError naming the first) before anything is written; the lock file itself is opened without
    following a link, as a regular file only (a lock linked elsewhere would get our pid written into it)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        check_own_files(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = open_regular(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644, follow=False)
        except NotRegularFile as err:  # planted since the check
            raise planted(self.directory / LOCK_NAME, err.kind) from None
        if not _try_exclusive(fd):
            os.close(fd)
            raise StudyLocked(self.directory, writer_pid(self.directory))
        with contextlib.suppress(OSError):  # a full disk: the lock holds all the same, only the pid goes unsaid
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor drops the flock; the file stays (no unlink race)


def _try_exclusive(fd: int) -> bool:
    """Take the lock, allowing a reader's momentary shared hold (`writer_pid`) to pass."""
    for _ in range(10):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.02)
    return False


def writer_pid(directory: str | os.PathLike) -> int | None:
    """The pid of the process writing this study directory, or None when no process writes it.
    (0 when one does but its pid could not be read.)"""
    path = Path(directory) / LOCK_NAME
    try:
        fd = open_regular(path, follow=False)  # a lock that is a fifo would hang the open; a link is not ours
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int:
    """The holder writes its pid just after taking the lock: allow it a moment."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.01)
    return 0
