"""A trial's processes as a tree under its worker: found in /proc, measured, and ended all together.

Why a tree and not only a process group: an objective's children may start sessions of their own
(`start_new_session=True`, daemons), which a group kill misses. A worker is made the reaper of its orphans
(`own_the_tree`), so everything a trial starts stays below the worker until the worker dies; while it is
alive (or stopped), walking /proc from it finds them all. Linux only; elsewhere only the group is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _prctl(option: int, value) -> None:
    if LINUX:
        # CDLL(None): the C library this process already uses (glibc or musl); without prctl, do without.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def die_with_parent() -> None:
    """Ask Linux to kill this worker if its parent dies, so a killed study leaves no worker computing.
    Elsewhere the worker still ends at its next trial: the pipe to its dead parent reads EOF."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def name_this_process(name: bytes) -> None:
    """The name `ps`, `top` and /proc/PID/comm show (15 bytes at most), so workers can be told apart."""
    _prctl(PR_SET_NAME, ctypes.c_char_p(name[:15]))


def own_the_tree() -> None:
    """Make the calling process a session (and group) leader and the reaper of its orphans, so a trial's
    processes can be killed as a group and, those that left the group, found below it."""
    with contextlib.suppress(OSError):
        os.setsid()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


Table = dict[int, tuple[int, int]]


def process_table() -> Table:
    """pid -> (parent pid, resident pages) of every live process (zombies are dead: left out). One scan
    costs about 20 us a process; scan once and measure every tree in it."""
    table = {}
    if not LINUX:
        return table
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{entry}/stat", os.O_RDONLY)
            try:
                fields = os.read(fd, 1024).rpartition(b")")[2].split()
            finally:
                os.close(fd)
        except OSError:  # it ended while we looked
            continue
        if fields and fields[0] not in (b"Z", b"X"):
            table[int(entry)] = (int(fields[1]), int(fields[21]))
    return table


def _below(root: int, table: Table) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def descendants(root: int) -> list[int]:
    """Live processes below `root` (its children, theirs, and orphans it reaps)."""
    return _below(root, process_table())


def tree_bytes(root: int, table: Table) -> int:
    """Resident memory of `root` and every live process below it, in bytes (shared pages count each time)."""
    return PAGE_BYTES * sum(table[pid][1] for pid in (root, *_below(root, table)) if pid in table)


def kill_below(root: int, *, within: float = 2.0) -> None:
    """SIGKILL every process below `root`, again and again until none is left: the orphans of a killed
    process reparent to `root` (the reaper) and are found by the next pass. `root` itself lives on; stop
    it first (SIGSTOP) when it could start more."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = descendants(root)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)


def kill_group(leader: int) -> None:
    """SIGKILL the process group `leader` leads (a worker's, after `own_the_tree`), leader included."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)


def end_leftovers(*, within: float = 2.0) -> None:
    """In a worker after a trial: kill what the trial started and left running, and reap it all."""
    if not _reap():
        return  # no children at all: the common case costs one system call
    kill_below(os.getpid(), within=within)
    deadline = time.monotonic() + within
    while _reap() and time.monotonic() < deadline:
        time.sleep(0.001)


def _reap() -> bool:
    """Collect ended children; True while some child (running or not yet collected) remains."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
