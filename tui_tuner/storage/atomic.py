"""Atomic replacement of the files we own (best.json, exported configs, saved study files, a repaired journal,
trials tables).

A reader, or a process killed mid-write, sees the old file or the new one, never a torn mix. Only a regular
file or a new path is ever replaced: a device, a fifo, a socket or a symlink at the path is refused (renaming
over /dev/full as root would turn the device into a file; over a link, the link), when the write starts and
again just before the rename, so one that appeared while a study ran is refused too.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from ..files import NotRegularFile, kind_of


def write_atomic(path: str | os.PathLike, content: str | bytes) -> Path:
    """Replace `path` with `content` (text is written as UTF-8), durably, through a renamed temporary file."""
    with open_atomic(path) as f:
        f.write(content.encode("utf-8") if isinstance(content, str) else content)
    return Path(path)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` when the block ends, durably; an exception leaves `path` as it was.
    For files written piece by piece (a table of 100,000 trials is never held whole in memory). A `path` that
    is not a regular file raises NotRegularFile (an OSError) and is left as it is."""
    path = Path(path)
    check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.chmod(f.fileno(), _mode_for(path))
            os.fsync(f.fileno())
        _put(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def check_target(path: Path) -> None:
    """Raise NotRegularFile when something other than a regular file is at `path` (a link is not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:  # nothing there, or a path that cannot be written anyway (the write says why)
        return
    if not stat.S_ISREG(mode):
        raise NotRegularFile(str(path), kind_of(mode))


def _put(tmp: str, path: Path) -> None:
    """Move the written file to `path`. A new path is taken by a hard link, which fails rather than replace
    what appeared there since the check; a regular file is checked again and replaced."""
    try:
        os.link(tmp, path)
    except OSError:  # the path exists (a regular file when checked), or the file system has no hard links
        check_target(path)
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp's 0600 would not do)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file durable: the directory entry lives in the directory's own blocks."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a directory we may not open (some network mounts): the rename has happened regardless
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse to fsync a directory (EINVAL)
            os.fsync(fd)
    finally:
        os.close(fd)
