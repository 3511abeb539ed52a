"""Where trials run: a pool of long-lived worker processes, each talking to the engine over its own pipe.

Why not `concurrent.futures.ProcessPoolExecutor`: a trial must be killable on its own (hard timeout), a
segfault must cost only that trial, and `trial.report()` needs a two-way channel (values out, the prune
answer back) while the trial runs. One pipe per worker, read by the event loop with `add_reader`, gives all
three without threads. The engine sees only `await executor.run(...) -> Outcome`, so a cluster executor
(dask.distributed) can take this one's place.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable

from .errors import TrialPruned
from .trial import Trial

ReportHandler = Callable[[int, dict], bool]
PRELOAD = ["tui_tuner.executor", "numpy"]  # imported once in the fork server, not once a worker


def start_process_machinery() -> None:
    """Start the fork server and the resource tracker now. Call it before a Textual app runs: the app
    swaps `sys.stderr` for an object without a file descriptor, and starting them later fails with
    "bad value(s) in fds_to_keep"."""
    from multiprocessing import forkserver, resource_tracker

    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    resource_tracker.ensure_running()
    forkserver.ensure_running()


@dataclass(frozen=True)
class Outcome:
    """How one trial ended: `result` (a float or metrics dict) when finished, else a reason or a step."""

    state: str  # finished | failed | pruned
    result: Any = None
    reason: str | None = None
    step: int | None = None
    duration: float = 0.0


# ------------------------------------------------------------------------------------------ worker side


class _PipeChannel:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def report(self, step: int, values: dict) -> bool:
        self.conn.send(("report", step, values))
        return bool(self.conn.recv())


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if its parent dies, so a killed study leaves no orphans computing."""
    if sys.platform.startswith("linux"):
        # CDLL(None): the C library this process already uses (glibc or musl). Where prctl is missing the
        # worker still ends at its next trial: the pipe to its dead parent reads EOF.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _plain(result: Any) -> Any:
    """numpy scalars and other number types become floats, so the engine gets plain picklable values."""
    if isinstance(result, dict):
        return {str(k): _plain(v) for k, v in result.items()}
    if isinstance(result, bool) or result is None or isinstance(result, str):
        return result
    try:
        return float(result)
    except (TypeError, ValueError):
        return result


def _worker_main(conn: Connection, log_path: str | None) -> None:
    """Run trials sent over `conn` until the pipe closes. Output goes to the study's worker log."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the study's decision, not each worker's
    _die_with_parent()
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
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
            objective = pickle.loads(message[2])
            prepare = getattr(objective, "prepare", None)
            if callable(prepare):
                try:
                    prepare()
                except Exception:  # reported by the first trial that needs it, with its traceback
                    traceback.print_exc()
            continue
        _, params, number, seed = message
        trial = Trial(number, seed, params, channel=_PipeChannel(conn))
        try:
            result = ("done", _plain(objective(params, trial)))
        except TrialPruned:
            result = ("pruned", trial.last_step)
        except BaseException as err:  # noqa: BLE001 - anything the user's code raises fails only this trial
            print(f"trial {number} failed:", file=sys.stderr)
            traceback.print_exc()
            sys.stderr.flush()
            result = ("error", _describe(err))
        try:
            conn.send(result)
        except pickle.PicklingError as err:
            conn.send(("error", f"the objective returned something that cannot be sent back: {err}"))
        except (BrokenPipeError, OSError):
            return


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


# ------------------------------------------------------------------------------------------ engine side


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"the worker process died (signal {signal.Signals(-exitcode).name})"
        except ValueError:
            return f"the worker process died (signal {-exitcode})"
    return f"the worker process exited with code {exitcode}"


class _Worker:
    def __init__(self, ctx, log_path: str | None) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, log_path), daemon=True,
                                   name="tui-tuner-worker")
        self.process.start()
        child.close()
        self.token: int | None = None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ProcessExecutor:
    """Runs each trial in one of `workers` processes; kills and replaces a worker that hangs or dies."""

    def __init__(self, workers: int | None = None, *, log_path: str | os.PathLike | None = None,
                 start_method: str = "forkserver") -> None:
        self.capacity = max(1, workers or os.cpu_count() or 1)
        self.log_path = str(log_path) if log_path else None
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(PRELOAD)
        self._idle: list[_Worker] = []
        self._busy = 0
        self._tokens: dict[int, tuple[Any, bytes]] = {}

    def start(self) -> None:
        """Start the worker processes now rather than at the first trial (keeps the first trial's time fair)."""
        while len(self._idle) + self._busy < self.capacity:
            self._idle.append(_Worker(self._ctx, self.log_path))

    def _payload(self, objective: Any) -> tuple[int, bytes]:
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
        worker = self._idle.pop() if self._idle else _Worker(self._ctx, self.log_path)
        self._busy += 1
        started = time.monotonic()
        done: asyncio.Future[Outcome] = loop.create_future()
        healthy = True

        def finish(outcome: Outcome) -> None:
            if not done.done():
                done.set_result(outcome)

        def on_readable() -> None:
            nonlocal healthy
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join(timeout=5)
                healthy = False
                finish(Outcome("failed", reason=_exit_reason(worker.process.exitcode)))
                return
            kind = message[0]
            if kind == "report":
                answer = on_report(message[1], message[2]) if on_report else False
                # A worker that died after reporting cannot take the answer; its pipe then reads EOF,
                # and the branch above fails the trial with the worker's exit reason.
                with contextlib.suppress(OSError):
                    worker.conn.send(bool(answer))
            elif kind == "done":
                finish(Outcome("finished", result=message[1]))
            elif kind == "pruned":
                finish(Outcome("pruned", step=message[1]))
            else:
                finish(Outcome("failed", reason=message[1]))

        def on_timeout() -> None:
            nonlocal healthy
            healthy = False
            finish(Outcome("failed", reason=f"timed out after {timeout:g} s (trial_timeout); the worker was killed"))

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
            outcome = await done
        except asyncio.CancelledError:
            healthy = False
            raise
        except OSError as err:  # the worker was already gone when we wrote to it
            healthy = False
            worker.process.join(timeout=5)
            outcome = Outcome("failed", reason=_exit_reason(worker.process.exitcode) if worker.process.exitcode
                              is not None else f"could not reach the worker: {err}")
        finally:
            loop.remove_reader(fd)
            if timer:
                timer.cancel()
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
    return Path(directory) / "workers.log"
