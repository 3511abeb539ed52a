"""Paths someone else may have prepared: a study directory copied from a shared disk, a file a user was sent.

What we read must be a regular file of a bounded size (a fifo would hang the open, /dev/zero the read, a
symlink to /etc/shadow would be echoed); files we own are opened without following symlinks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import InputError

MIB = 1 << 20
INPUT_LIMIT = 16 * MIB  # the most a study file, sweep file or cv_results file may hold


class NotRegularFile(OSError):
    """A path that is not a regular file where one is expected; `kind` says what it is ("a fifo", ...)."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"is {kind}, not a regular file", path)
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file is, in words, from its `st_mode`."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a fifo"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symlink")):
        if test(mode):
            return word
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o644, *,
                 follow: bool = True) -> int:
    """A descriptor of the regular file at `path` (opened with `flags`), never blocking on a fifo; with
    `follow=False` a symlink is refused too (a file of ours that someone replaced by a link). Raises
    NotRegularFile naming what the path is instead, or the OSError of the open."""
    extra = os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags | extra, mode)
    except OSError as err:
        if not follow and err.errno == errno.ELOOP:  # the last component is a symlink
            raise NotRegularFile(str(path), "a symlink") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotRegularFile(str(path), kind_of(info.st_mode))
    os.set_blocking(fd, True)
    return fd


def read_bounded(path: str | os.PathLike, limit: int, *, follow: bool = True) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; NotRegularFile, or OSError(EFBIG) past it."""
    fd = open_regular(path, follow=follow)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"holds more than {limit:,} bytes, the most read", str(path))
    return data


def read_input(path: Path, *, what: str = "file", limit: int = INPUT_LIMIT) -> str:
    """A file the user named, as text; or the InputError naming it and what kept it from being read (never a
    hang on a fifo or a device, never more than `limit` bytes read)."""
    file = str(path)
    try:
        return read_bounded(path, limit).decode("utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=file) from None
    except NotRegularFile as err:
        raise InputError(f"is {err.kind}, not a {what}", file=file) from None
    except UnicodeDecodeError as err:
        raise InputError(f"cannot read: not UTF-8 text (byte {err.start})", file=file) from None
    except OSError as err:
        if err.errno == errno.EFBIG:
            raise InputError(f"is larger than {limit // MIB} MiB, the most a {what} may be", file=file) from None
        raise InputError(f"cannot read: {err.strerror or err}", file=file) from None
