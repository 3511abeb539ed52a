"""Where trials run: a pool of long-lived worker processes, each talking to the engine over its own pipe.

Why not `concurrent.futures.ProcessPoolExecutor`: a trial must be killable on its own (hard timeout), a
segfault must cost only that trial, and `trial.report()` needs a two-way channel (values out, the prune
answer back) while the trial runs. One pipe per worker, read by the event loop with `add_reader`, gives all
three without threads in the engine. It is one implementation of `base.Executor`; the dask executor runs
this same pool on each cluster worker, so a trial on a cluster is killed, timed and measured the same way.

A trial's processes end with it: each worker leads its own process group and reaps its orphans
(`process_tree`), kills what a finished trial left running, and is killed with its whole tree on timeout,
cancel, close or when the tree outgrows `memory_limit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Callable

from threadpoolctl import threadpool_limits

from ..errors import TrialPruned
from ..files import open_regular
from ..process_tree import (die_with_parent, end_leftovers, kill_below, kill_group, name_this_process, own_the_tree,
                           process_table, tree_bytes)
from ..results import ALLOWED, RESULT_BYTES, describe, plain, shorten
from ..storage.layout import WORKERS_LOG
from ..trial import Trial
from .base import Outcome, ReportHandler

PRELOAD = ["tui_tuner.executors.pool", "numpy"]  # imported once in the fork server, not once a worker
WORKERS_PER_CPU = 4  # beyond this many a CPU, more workers only share the same cores
MEMORY_CHECK_SECONDS = 0.2  # how often a running trial's memory is measured (with search.trial_memory)
MB = 1 << 20
WORKER_NAME = b"tui-tuner-work"  # what ps and /proc/PID/comm show for a worker


def start_process_machinery() -> None:
    """Start the fork server and the resource tracker now. Call it before a Textual app runs: the app
    swaps `sys.stderr` for an object without a file descriptor, and starting them later fails with
    "bad value(s) in fds_to_keep"."""
    from multiprocessing import forkserver, resource_tracker

    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    resource_tracker.ensure_running()
    forkserver.ensure_running()


def pool_size(requested: int | None, *, trials_left: int | None = None,
              trial_memory: int | None = None) -> tuple[int, str | None]:
    """How many workers to start: as requested (default: one a CPU), no more than the trials left to run
    nor than the machine can hold; with a one-line note when the machine is why there are fewer."""
    cpus = os.cpu_count() or 1
    asked = requested or cpus
    size = asked if trials_left is None else min(asked, max(1, trials_left))
    bound, why = WORKERS_PER_CPU * cpus, f"at most {WORKERS_PER_CPU} a CPU on this {cpus}-CPU machine"
    if trial_memory:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        fits = max(1, memory // trial_memory)
        if fits < bound:
            bound, why = fits, f"{fits} x search.trial_memory fit in this machine's {memory / MB / 1024:.0f} GB"
    if size <= bound:
        return size, None
    return bound, f"starting {bound} workers, not the {asked} asked: {why}"


class Pickled:
    """An objective already pickled (by the study's driver, on another machine): the pool hands the bytes
    to its worker process as they are, so only that process imports the user's code."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.token = hashlib.sha1(data).hexdigest()


# ------------------------------------------------------------------------------------------ worker side


class _Unloadable:
    """Stands in for an objective the worker process could not unpickle: each trial fails saying why."""

    def __init__(self, why: str) -> None:
        self.why = why


class _PipeChannel:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def report(self, step: int, values: dict) -> bool:
        self.conn.send(("report", step, values))
        return bool(self.conn.recv())


def _end_with_engine(lifeline: Connection) -> None:
    """Watch, from a thread, the pipe only the engine's process holds open: when that process ends (even by
    kill -9) it reads EOF, and the worker ends with everything its trial started. The fork server's death
    (die_with_parent) comes later and kills the worker alone; this is quicker and takes the tree."""
    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()
        kill_below(os.getpid())
        kill_group(os.getpid())

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _worker_main(conn: Connection, lifeline: Connection, log_path: str | None, trial_log: str | None,
                 blas_threads: int) -> None:
    """Run trials sent over `conn` until the pipe closes. Output goes to the study's worker log; `trial_log`
    (a path with `{number}`) is where each trial may keep output of its own (`Trial.log_path`). BLAS gets
    `blas_threads`: workers that each spin a thread a core slow each other down several times over."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the study's decision, not each worker's
    threadpool_limits(blas_threads, user_api="blas")
    die_with_parent()
    own_the_tree()
    _end_with_engine(lifeline)
    name_this_process(WORKER_NAME)
    for end in (conn, lifeline):  # received from the fork server inheritable; an objective's exec must not
        os.set_inheritable(end.fileno(), False)  # keep them, or the engine never learns the worker is gone
    me = os.getpid()
    if log_path:
        try:  # never through a link or to a fifo planted in the study directory: then objectives print nowhere
            fd = open_regular(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644, follow=False)
        except OSError:
            fd = os.open(os.devnull, os.O_WRONLY)
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(fd, 1), os.dup2(fd, 2)
        os.close(fd)
    objective = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "objective":
            try:
                objective = pickle.loads(message[2])
            except Exception as err:  # noqa: BLE001 - a module this machine lacks, a class that moved, ...
                objective = _Unloadable(f"cannot load the objective in the worker process: {_describe(err)}")
            prepare = getattr(objective, "prepare", None)
            if callable(prepare):
                try:
                    prepare()
                except Exception:  # reported by the first trial that needs it, with its traceback
                    _log_traceback("preparing the objective failed:")
            continue
        _, params, number, seed = message
        own_log = trial_log.format(number=number) if trial_log else None
        answer = _run_trial(objective, Trial(number, seed, params, channel=_PipeChannel(conn), log_path=own_log))
        if os.getpid() != me:
            os._exit(0)  # the objective forked and returned twice: only the worker itself answers
        end_leftovers()
        if not _send(conn, answer):
            return


def _run_trial(objective: Any, trial: Trial) -> tuple:
    """The message that tells the engine how the trial ended; a failure's traceback goes to the log."""
    if isinstance(objective, _Unloadable):
        return "error", objective.why
    try:
        returned = objective(trial.params, trial)
    except TrialPruned:
        return "pruned", trial.last_step
    except BaseException as err:  # noqa: BLE001 - anything the user's code raises fails only this trial
        _log_traceback(f"trial {trial.number} failed:")
        return "error", _describe(err)
    try:
        return "done", plain(returned)
    except Exception as err:  # noqa: BLE001 - a number or dict of the user's own kind that breaks when read
        return "error", f"the objective returned {describe(returned)}, which cannot be read ({_describe(err)})"


def _log_traceback(title: str) -> None:
    """The exception being handled, into the worker log; an objective that closed the log loses only it."""
    with contextlib.suppress(Exception):
        print(title, file=sys.stderr)
        traceback.print_exc()
        sys.stderr.flush()


def _send(conn: Connection, message: tuple) -> bool:
    """Send `message` to the engine; False when the engine can no longer be reached. A result that cannot
    be pickled or is too big to cross fails its trial with what it was, instead of the worker."""
    try:
        data = ForkingPickler.dumps(message)
    except Exception as err:  # noqa: BLE001 - whatever pickling a user's object raises
        data = ForkingPickler.dumps(("error", f"the objective returned {describe(message[1])}, which cannot be "
                                              f"sent back ({_describe(err)}); allowed: {ALLOWED}"))
    if len(data) > RESULT_BYTES:
        data = ForkingPickler.dumps(("error", f"the objective returned {describe(message[1])}, "
                                              f"{len(data) / MB:.1f} MB; a result may take {RESULT_BYTES // MB} MB; "
                                              f"allowed: {ALLOWED}"))
    try:
        conn.send_bytes(data)
    except OSError:
        return False
    return True


def _describe(err: BaseException) -> str:
    """`Type: first line of the message`, bounded, even for an exception whose str() itself fails."""
    try:
        text = str(err).strip().split("\n", 1)[0]
    except Exception:  # noqa: BLE001
        text = ""
    return shorten(f"{type(err).__name__}: {text}" if text else type(err).__name__)


# ------------------------------------------------------------------------------------------ engine side


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"the worker process died (signal {signal.Signals(-exitcode).name})"
        except ValueError:
            return f"the worker process died (signal {-exitcode})"
    return f"the worker process exited with code {exitcode} before sending a result"


async def _why_gone(worker: "_Worker") -> str:
    """Why a worker's pipe closed: its exit, if it ends within a second, else that it stopped answering."""
    for _ in range(100):
        if worker.process.exitcode is not None:
            return _exit_reason(worker.process.exitcode)
        await asyncio.sleep(0.01)
    return "the worker process closed its connection without a result (was it replaced or its files closed?)"


class _Worker:
    def __init__(self, ctx, log_path: str | None, trial_log: str | None, blas_threads: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        lifeline, self._lifeline = ctx.Pipe(duplex=False)  # never written: its end tells the worker we live
        self.process = ctx.Process(target=_worker_main, args=(child, lifeline, log_path, trial_log, blas_threads),
                                   daemon=True, name="tui-tuner-worker")
        self.process.start()
        child.close()
        lifeline.close()
        self.token: int | None = None

    def kill(self) -> None:
        """End the worker and every process its trial started: stopped first so it starts no more, then
        what is below it (those that left its group too), then its group."""
        pid = self.process.pid
        if self.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
            kill_below(pid)
        kill_group(pid)  # also after the worker died: what it started may still be in its group
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()
        self._lifeline.close()


class ProcessExecutor:
    """Runs each trial in one of `workers` processes; kills and replaces a worker that hangs, dies or uses
    more than `memory_limit` bytes (resident, with everything its trial started). `trial_log`, a path with
    `{number}` in it, is where each trial may keep output of its own."""

    def __init__(self, workers: int | None = None, *, log_path: str | os.PathLike | None = None,
                 trial_log: str | os.PathLike | None = None, start_method: str = "forkserver",
                 memory_limit: int | None = None) -> None:
        self.capacity = max(1, workers or os.cpu_count() or 1)
        self.log_path = str(log_path) if log_path else None
        self.trial_log = str(trial_log) if trial_log else None
        self.memory_limit = memory_limit
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(PRELOAD)
        self._idle: list[_Worker] = []
        self._busy = 0
        self._tokens: dict[int, tuple[Any, bytes]] = {}
        self._over_memory: dict[int, Callable[[int], None]] = {}  # busy worker's pid -> what to do past the limit
        self._memory_loop: asyncio.AbstractEventLoop | None = None  # where the memory check is scheduled

    def _watch_memory(self, pid: int, over: Callable[[int], None]) -> None:
        """Measure the tree under worker `pid` with the others, every MEMORY_CHECK_SECONDS while it runs."""
        self._over_memory[pid] = over
        loop = asyncio.get_running_loop()
        if self._memory_loop is not loop:
            self._memory_loop = loop
            loop.call_later(MEMORY_CHECK_SECONDS, self._check_memory)

    def _check_memory(self) -> None:
        if not self._over_memory:
            self._memory_loop = None
            return
        table = process_table()  # one scan of /proc for all running trials
        for pid, over in list(self._over_memory.items()):
            used = tree_bytes(pid, table)
            if used > self.memory_limit:
                over(used)
        self._memory_loop.call_later(MEMORY_CHECK_SECONDS, self._check_memory)

    def _new_worker(self) -> _Worker:
        """A worker process; the machine's cores shared out between the workers for BLAS."""
        blas_threads = max(1, (os.cpu_count() or 1) // self.capacity)
        return _Worker(self._ctx, self.log_path, self.trial_log, blas_threads)

    def start(self) -> None:
        """Start the worker processes now rather than at the first trial (keeps the first trial's time fair)."""
        while len(self._idle) + self._busy < self.capacity:
            self._idle.append(self._new_worker())

    async def open(self) -> None:
        self.start()
        return None

    def _payload(self, objective: Any) -> tuple[int | str, bytes]:
        if isinstance(objective, Pickled):
            return objective.token, objective.data
        key = id(objective)
        if key not in self._tokens or self._tokens[key][0] is not objective:
            self._tokens[key] = (objective, pickle.dumps(objective))
        return key, self._tokens[key][1]

    async def run(self, objective: Any, params: dict, *, number: int, seed: int,
                  timeout: float | None = None, on_report: ReportHandler | None = None) -> Outcome:
        """Run `objective(params, trial)` in a free worker (the caller keeps at most `capacity` running)."""
        if self._busy >= self.capacity:
            raise RuntimeError("all workers are busy")
        loop = asyncio.get_running_loop()
        worker = self._idle.pop() if self._idle else self._new_worker()
        self._busy += 1
        started = time.monotonic()
        done: asyncio.Future[Outcome | None] = loop.create_future()  # None: the worker's pipe closed
        healthy = True
        asking: set[asyncio.Future] = set()  # answers to reports still awaited (an on_report that awaits)

        def finish(outcome: Outcome | None, *, worker_fine: bool = True) -> None:
            nonlocal healthy
            if not done.done():
                done.set_result(outcome)
                healthy = worker_fine

        def on_readable() -> None:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                finish(None, worker_fine=False)
                return
            kind = message[0]
            if kind == "report":
                answer = on_report(message[1], message[2]) if on_report else False
                if inspect.isawaitable(answer):
                    pending = asyncio.ensure_future(answer)
                    asking.add(pending)
                    pending.add_done_callback(answered)
                else:
                    reply(answer)
            elif kind == "done":
                finish(Outcome("finished", result=message[1]))
            elif kind == "pruned":
                finish(Outcome("pruned", step=message[1]))
            else:
                finish(Outcome("failed", reason=message[1]))

        def reply(answer: bool) -> None:
            # A worker that died after reporting cannot take the answer; its pipe then reads EOF, and
            # on_readable fails the trial with the worker's exit reason.
            with contextlib.suppress(OSError):
                worker.conn.send(bool(answer))

        def answered(pending: asyncio.Future) -> None:
            asking.discard(pending)
            if not pending.cancelled():  # cancelled: the trial is ending, nobody waits for the answer
                reply(pending.exception() is None and pending.result())

        def on_timeout() -> None:
            finish(Outcome("failed", reason=f"timed out after {timeout:g} s (trial_timeout); the worker was killed"),
                   worker_fine=False)

        def out_of_memory(used: int) -> None:
            finish(Outcome("failed", reason=f"out of memory ({used / MB:.0f} MB over the "
                                            f"{self.memory_limit / MB:.0f} MB limit of search.trial_memory); "
                                            f"the worker was killed"), worker_fine=False)

        fd = worker.conn.fileno()
        timer = None
        try:
            token, payload = self._payload(objective)
            if worker.token != token:
                worker.conn.send(("objective", token, payload))
                worker.token = token
            worker.conn.send(("run", params, number, seed))
            loop.add_reader(fd, on_readable)
            if timeout:
                timer = loop.call_later(timeout, on_timeout)
            if self.memory_limit:
                self._watch_memory(worker.process.pid, out_of_memory)
            outcome = await done or Outcome("failed", reason=await _why_gone(worker))
        except asyncio.CancelledError:
            healthy = False
            raise
        except OSError:  # the worker was already gone when we wrote to it
            healthy = False
            outcome = Outcome("failed", reason=await _why_gone(worker))
        finally:
            loop.remove_reader(fd)
            for pending in asking:
                pending.cancel()
            if timer:
                timer.cancel()
            self._over_memory.pop(worker.process.pid, None)
            self._busy -= 1
            if healthy:
                self._idle.append(worker)
            else:
                worker.kill()
        return Outcome(outcome.state, outcome.result, outcome.reason, outcome.step, time.monotonic() - started)

    async def close(self) -> None:
        """Stop every idle worker (running trials are the engine's to finish or cancel first)."""
        workers, self._idle = self._idle, []
        for worker in workers:
            worker.conn.close()
        deadline = time.monotonic() + 2
        for worker in workers:
            while worker.process.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            worker.kill()


def default_log_path(directory: str | os.PathLike) -> Path:
    """Where the workers of a study write what objectives print, and the tracebacks of failed trials."""
    return Path(directory) / WORKERS_LOG
