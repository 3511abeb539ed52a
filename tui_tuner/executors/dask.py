"""Trials on a dask.distributed cluster: `--dask tcp://HOST:PORT`, or `--dask local:N` for N worker processes
on this machine. The driver (engine, journal, app) stays where it is; only `objective(params, trial)` moves.

Each trial is one dask task, an `async def` run on the worker's event loop, that hands the trial to a
process pool of that worker (pool.py, the same code as on one machine): the trial runs in a child process,
so a timeout, a stop or a quit kills its whole process tree (a dask task cannot be killed, a process can),
and a crash costs the trial, not the worker.

The two-way channel `trial.report()` needs is a pair of distributed `Queue`s a trial, named after its task:
reports (and first of all "started on worker W") go out on one, the engine's prune answers and a "stop"
come back on the other. Queues, because every message must arrive, in order, exactly once, and a report
must wait for its answer (the pool's report is a question): Pub/Sub drops what is published before the
subscriber is known, and a Variable keeps only the last value. The worker side also watches its task's
state, so a driver that vanished (kill -9) does not leave trials running on the cluster.

A worker lost mid-trial: dask would run the task again elsewhere by itself, which would count the trial's
reports twice. The executor hears the scheduler's "remove-worker" event (or a second "started" from another
worker), cancels that task and returns `lost`; the engine records the trial interrupted and runs it again
as a new task, under its number, params and seed. The notice says how many workers are left.

A scheduler lost mid-study (killed, its machine gone): no trial can go on, and dask's client cancels every
task it had. `run` raises ExecutorLost instead of reporting them failed; the engine records the running trials
interrupted and stops, and a resume runs them again. So does a cluster left without a worker for
WORKERS_SECONDS, whose tasks would wait for one forever. Before any of that, `open` reads the scheduler's first
message itself, a few bytes under a timeout: distributed's own comm would allocate whatever length the
peer's first 8 bytes say (an HTTP server's "HTTP/1.1" reads as 3 EiB), and waits on a peer that says nothing.

The user's code reaches the workers as a zip of the objective's folder's modules, registered as a worker
plugin (workers that join later get it too) and unpacked per digest (shipping.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
import pickle
import socket
import struct
import time
import uuid
from pathlib import Path
from typing import Any

import dask.config
import distributed
import msgpack
from distributed.comm.addressing import parse_address, parse_host_port

from ..errors import InputError, TunerError
from ..results import shorten
from .base import LOST, ExecutorLost, Outcome, ReportHandler
from .pool import WORKERS_PER_CPU, Pickled, ProcessExecutor
from .shipping import Shipped, copy_of, digest, unpack, zip_modules

CODE_DIR = "tui-tuner-code"  # under each worker's local directory: the copies of the user's code
WORKER_LOG = "tui-tuner-workers.log"  # under each worker's local directory: what trials printed, tracebacks
CONNECT_SECONDS = 10
SHIP_SECONDS = 60  # to copy the user's code to the workers
WORKERS_SECONDS = 10  # a cluster without a worker this long runs no trial: the study stops (or does not start)
HANDSHAKE_SECONDS = 5  # to connect, then again for the scheduler's first message
HANDSHAKE_BYTES = 1 << 16  # a scheduler's first message is about 60 bytes
STOP_SECONDS = 5  # at most this long to tell a cluster that a trial stops
WATCH_SECONDS = 0.5  # how often a trial's task on a worker checks that it is still wanted
ABANDONED = ("cancelled", "released", "forgotten")  # a task's state on its worker once nobody wants it


class DaskExecutor:
    """Runs each trial as a task on a dask.distributed cluster, `capacity` at once (default: the cluster's
    threads when it is reached)."""

    def __init__(self, address: str, *, workers: int | None = None, memory_limit: int | None = None,
                 code_folder: str | None = None, trial_log: str | os.PathLike | None = None) -> None:
        self.address = address
        self.trial_log = str(trial_log) if trial_log else None  # kept where a worker sees the study directory
        self.asked = workers
        self.capacity = workers or 1
        self.memory_limit = memory_limit
        self.code_folder = code_folder
        self._code: tuple[str, str] | None = None  # (folder, digest) of the code shipped to the workers
        self._client = None
        self._cluster = None
        self._lost: set[str] = set()  # workers the scheduler removed
        self._gone: asyncio.Future | None = None  # set, to why, when no trial can run on the cluster any more
        self._watch: asyncio.Task | None = None
        self._watching: dict[str, tuple[str, asyncio.Future]] = {}  # task key -> (its worker, set when lost)
        self._payloads: dict[int, tuple[Any, bytes]] = {}

    # ------------------------------------------------------------------------------------------ the cluster

    async def open(self) -> str | None:
        if self._client is not None:
            return None
        # a lost worker or scheduler is our one line, not distributed's log (a client closed while it tries to
        # reconnect logs a traceback); dask's config sets the client's level apart
        for name in ("distributed", "distributed.client"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            workers = await self._connect()
        except TunerError:
            await self.close()
            raise
        except Exception as err:  # noqa: BLE001 - whatever the cluster or a peer did, one line
            await self.close()
            why = (f"no answer in {CONNECT_SECONDS} s" if isinstance(err, TimeoutError)
                   else str(err).strip().split("\n", 1)[0] or type(err).__name__)
            raise TunerError(f"cannot reach the dask scheduler at {shorten(self.address, 80)}: {why}") from None
        self._gone = asyncio.get_running_loop().create_future()
        self._watch = asyncio.ensure_future(self._watch_cluster())
        threads = sum(w["nthreads"] for w in workers)
        bound = WORKERS_PER_CPU * max(1, threads)  # a trial past these waits anyway, and costs two queues
        self.capacity = min(self.asked or max(1, threads), bound)
        waiting = "; the rest wait for a free thread" if self.capacity > threads else ""
        if self.asked and self.asked > bound:
            waiting += f" (not the {self.asked} asked: at most {WORKERS_PER_CPU} a thread)"
        return (f"on dask at {self._client.scheduler.address}: {len(workers)} worker{'s' * (len(workers) != 1)}, "
                f"{threads} thread{'s' * (threads != 1)}; {self.capacity} trial{'s' * (self.capacity != 1)} at once"
                f"{waiting}")

    async def _connect(self) -> list[dict]:
        """Start the local cluster or reach the scheduler, and ship the user's code: the cluster's workers."""
        local = self.address.split(":")
        if local[0] == "local":
            with dask.config.set({"distributed.worker.daemon": False}):
                self._cluster = await distributed.LocalCluster(
                    n_workers=int(local[1]) if len(local) > 1 else os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, host="127.0.0.1", dashboard_address=None, asynchronous=True,
                    silence_logs=logging.ERROR)
            self._client = await distributed.Client(self._cluster, asynchronous=True)
        else:
            await check_scheduler(self.address)
            client = distributed.Client(self.address, asynchronous=True, timeout=CONNECT_SECONDS)
            try:
                async with asyncio.timeout(CONNECT_SECONDS):
                    self._client = await client
            finally:
                if self._client is None:
                    await _quietly(client.close())  # else its __del__ warns of a close never awaited
        self._client.subscribe_topic("all", self._on_cluster_event)
        try:
            async with asyncio.timeout(WORKERS_SECONDS):
                await self._client.wait_for_workers(1)
        except TimeoutError:
            raise TunerError(f"the dask scheduler at {shorten(self.address, 80)} has no worker (none joined in "
                             f"{WORKERS_SECONDS} s)") from None
        async with asyncio.timeout(CONNECT_SECONDS):
            workers = list((await self._client.scheduler.identity())["workers"].values())
        if self.code_folder:
            async with asyncio.timeout(SHIP_SECONDS):
                await self._ship(self.code_folder)
        return workers

    async def _ship(self, folder: str) -> None:
        """Copy the objective's modules to every worker, now and as workers join."""
        data = zip_modules(folder)
        key = digest(data)
        plugin = _CodePlugin(folder, key, data)
        await self._client.register_plugin(plugin, name=f"tui-tuner-code-{key}")
        self._code = (folder, key)

    def _on_cluster_event(self, event: tuple[float, dict]) -> None:
        message = event[1]
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        address = message.get("worker")
        self._lost.add(address)
        for worker, lost in self._watching.values():
            if worker == address and not lost.done():
                lost.set_result(None)

    async def _watch_cluster(self) -> None:
        """Set `_gone` once the client's connection to the scheduler is lost (it then only tries to reconnect),
        or the cluster has had no worker for WORKERS_SECONDS (its tasks would wait for one forever)."""
        where = shorten(self.address, 80)
        workers_seen = time.monotonic()
        while not self._scheduler_lost():
            info = self._client.scheduler_info()  # as the client last heard, every 2 s
            if info.get("n_workers", len(info.get("workers", ()))):
                workers_seen = time.monotonic()
            elif time.monotonic() - workers_seen > WORKERS_SECONDS:
                self._gone.set_result(f"no dask worker left at {where} for {WORKERS_SECONDS} s")
                return
            await asyncio.sleep(WATCH_SECONDS)
        self._gone.set_result(f"lost the dask scheduler at {where}")

    def _scheduler_lost(self) -> bool:
        return self._client is None or self._client.status != "running"

    async def _workers_left(self) -> int:
        try:
            return len((await self._client.scheduler.identity())["workers"])
        except OSError:
            return 0

    async def close(self) -> None:
        """Let go of the cluster (and stop it, when this executor started it)."""
        if self._watch is not None:
            self._watch.cancel()
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            with contextlib.suppress(Exception):  # noqa: BLE001 - a scheduler gone away: nothing to tell it
                client.unsubscribe_topic("all")
            await _quietly(client.close())
        if cluster is not None:
            await _quietly(cluster.close())

    # ------------------------------------------------------------------------------------------ one trial

    def _payload(self, objective: Any) -> bytes:
        """The objective pickled here, once: workers unpickle it only in the trial's own process."""
        key = id(objective)
        if key not in self._payloads or self._payloads[key][0] is not objective:
            self._payloads[key] = (objective, pickle.dumps(objective))
        return self._payloads[key][1]

    async def run(self, objective: Any, params: dict, *, number: int, seed: int, timeout: float | None = None,
                  on_report: ReportHandler | None = None) -> Outcome:
        """The trial's Outcome; ExecutorLost when the scheduler is lost before it came back (dask's client
        then cancels every task it had: a failure that is not the trial's)."""
        trial = asyncio.ensure_future(self._run(objective, params, number=number, seed=seed, timeout=timeout,
                                                on_report=on_report))
        try:
            await asyncio.wait({trial, self._gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not trial.done():  # cancelled, or the scheduler is gone: the trial stops (bounded, see _stop)
                trial.cancel()
                await asyncio.wait({trial})
        if trial.cancelled() or not await self._still_there(trial):
            await asyncio.wait({self._gone}, timeout=WATCH_SECONDS * 2)  # a failed ping: the watch says why next
            why = self._gone.result() if self._gone.done() else f"the dask scheduler at {self.address} went silent"
            raise ExecutorLost(f"{shorten(why, 200)}; the trials it ran are recorded interrupted")
        return trial.result()

    async def _still_there(self, trial: asyncio.Future) -> bool:
        """Whether the scheduler outlived a trial that failed: a failure may be the first sign that it is gone
        (the client notices a moment later, and cancels every task it had)."""
        if trial.exception() is None and trial.result().state != "failed":
            return True
        ping = asyncio.ensure_future(self._client.scheduler.identity())
        try:
            await asyncio.wait({ping, self._gone}, timeout=HANDSHAKE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            answered = ping.done() and ping.exception() is None
        finally:
            _drop(ping)
        return answered and not self._gone.done()

    async def _run(self, objective: Any, params: dict, *, number: int, seed: int, timeout: float | None,
                   on_report: ReportHandler | None) -> Outcome:
        client = self._client
        key = f"tui-tuner-trial-{number}-{uuid.uuid4().hex[:12]}"
        outbox = await _queue(f"{key}-out", client)
        inbox = await _queue(f"{key}-in", client)
        started = time.monotonic()
        future = client.submit(run_on_worker, self._payload(objective), self._code, params, number, seed, timeout,
                               self.memory_limit, self.trial_log, key, key=key, pure=False, retries=0)
        result = asyncio.ensure_future(_result_of(future))
        lost = asyncio.get_running_loop().create_future()
        worker = message = None
        try:
            while True:
                message = asyncio.ensure_future(outbox.get())
                await asyncio.wait({message, result, lost}, return_when=asyncio.FIRST_COMPLETED)
                if not message.done():
                    message.cancel()
                    if lost.done():
                        return await self._lost_outcome(future, worker, started)
                    return _outcome(result, time.monotonic() - started)  # a task that failed before "done"
                kind, *body = message.result()
                if kind == "done":
                    await asyncio.wait({result, lost}, return_when=asyncio.FIRST_COMPLETED)
                    if not result.done():  # the worker went with the result on it
                        return await self._lost_outcome(future, worker, started)
                    await inbox.put(["done"])
                    return _outcome(result, time.monotonic() - started)
                if kind == "started":
                    if worker is not None or body[0] in self._lost:  # dask ran it again: the first worker is gone
                        return await self._lost_outcome(future, worker or body[0], started)
                    worker = body[0]
                    self._watching[key] = (worker, lost)
                elif kind == "report":
                    answer = on_report(body[0], body[1]) if on_report else False
                    if inspect.isawaitable(answer):  # ordered pruning: held until earlier trials catch up
                        pending = asyncio.ensure_future(answer)
                        await asyncio.wait({pending, result, lost}, return_when=asyncio.FIRST_COMPLETED)
                        if not pending.done():  # the task ended or its worker went: the loop's next turn says
                            pending.cancel()
                            continue
                        answer = pending.result()
                    await inbox.put(["answer", bool(answer)])
        except asyncio.CancelledError:  # stop now: the worker kills the trial's processes
            if not self._scheduler_lost():
                await asyncio.shield(_stop(client, future, inbox))
            raise
        finally:
            self._watching.pop(key, None)
            _drop(result, message)
            for queue in (outbox, inbox):
                queue.close()

    async def _lost_outcome(self, future, worker: str | None, started: float) -> Outcome:
        await self._client.cancel([future])
        left = await self._workers_left()
        return Outcome(LOST, reason=f"its dask worker {worker} was lost; {left} worker{'s' * (left != 1)} left",
                       duration=time.monotonic() - started)


async def check_scheduler(address: str, *, field: str | None = None, file: str | None = None) -> None:
    """A dask scheduler answers at a tcp address: InputError when nothing or something else does, TunerError
    when the network does not carry us there (tls, ws and ucx are left to distributed, under open's timeout).
    Reads at most HANDSHAKE_BYTES, in HANDSHAKE_SECONDS."""
    def wrong(problem: str) -> InputError:
        return InputError(problem, field=field, file=file)

    where = shorten(address, 80)
    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":
            return
        host, port = parse_host_port(location)
    except ValueError as err:
        raise wrong(f"{where} is not an address: {err}") from None
    try:
        async with asyncio.timeout(HANDSHAKE_SECONDS):
            reader, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError:
        raise wrong(f"nothing listens at {where} (connection refused)") from None
    except (socket.gaierror, UnicodeError, ValueError) as err:  # an unknown host, a name DNS cannot hold
        raise wrong(f"no such host in {where} ({getattr(err, 'strerror', None) or err})") from None
    except TimeoutError:
        raise TunerError(f"cannot reach the dask scheduler at {where}: no connection in {HANDSHAKE_SECONDS} s"
                         ) from None
    except OSError as err:
        raise TunerError(f"cannot reach the dask scheduler at {where}: {err.strerror or err}") from None
    head = b""
    try:
        async with asyncio.timeout(HANDSHAKE_SECONDS):
            head = await reader.readexactly(8)
            (size,) = struct.unpack("Q", head)  # distributed's frame prefix: the message's length
            if 0 < size <= HANDSHAKE_BYTES:
                head += await reader.readexactly(size)
    except TimeoutError:
        said = f"sent {head[:40]!r} then nothing" if head else "said nothing"
        raise wrong(f"{where} is not a dask scheduler: it {said} in {HANDSHAKE_SECONDS} s") from None
    except (asyncio.IncompleteReadError, OSError) as err:
        said = getattr(err, "partial", b"")
        raise wrong(f"{where} is not a dask scheduler: it closed the connection"
                    f"{f' after {said[:40]!r}' if said else ''}") from None
    finally:
        writer.close()
    if not _is_handshake(head[8:]):
        raise wrong(f"{where} is not a dask scheduler: it answered {head[:40]!r}")


def _is_handshake(message: bytes) -> bool:
    """A scheduler's first message: a frame count, the frames' lengths, then msgpack of a dict naming its
    python and pickle versions."""
    if len(message) < 16:
        return False
    (count,) = struct.unpack_from("Q", message)
    start = 8 * (count + 1)
    if not 0 < count <= 8 or len(message) < start:
        return False
    lengths = struct.unpack_from(f"{count}Q", message, 8)
    if sum(lengths) != len(message) - start:
        return False
    try:
        first = msgpack.unpackb(message[start:start + lengths[0]])
    except Exception:  # noqa: BLE001 - whatever the bytes were, they are not a handshake
        return False
    return isinstance(first, dict) and "python" in first


async def _quietly(closing) -> None:
    """Await a close that must not hang or raise (a scheduler gone away cannot answer it)."""
    with contextlib.suppress(Exception):  # noqa: BLE001
        async with asyncio.timeout(STOP_SECONDS):
            await closing


def _drop(*tasks: asyncio.Future | None) -> None:
    """Cancel what is still pending, and take the error of what ended (a queue read whose scheduler went away),
    so asyncio prints no "exception was never retrieved"."""
    for task in filter(None, tasks):
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


async def _queue(name: str, client) -> distributed.Queue:
    """A distributed Queue, created on the scheduler once: awaiting the Queue itself would ask a second time,
    and leave the first ask's error unheard ("Task exception was never retrieved") when the scheduler is gone."""
    queue = distributed.Queue(name, client=client)
    await queue._started
    return queue


async def _result_of(future) -> Any:
    return await future


async def _stop(client, future, inbox) -> None:
    """Tell the trial's task to kill the trial, and cancel it; a stop never waits long on a cluster gone
    away (the worker's watch ends the trial once nobody wants its task)."""
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await inbox.put(["stop"])
            await client.cancel([future])
    except (OSError, TimeoutError):
        return


def _outcome(result: asyncio.Future, duration: float) -> Outcome:
    """The Outcome of a trial task that ended: what the worker's pool said, or why the task itself failed
    (tui-tuner missing on the worker, a worker that could not take the task, ...)."""
    if result.cancelled():
        return Outcome("failed", reason="the dask task was cancelled by the cluster", duration=duration)
    error = result.exception()
    if error is not None:
        text = str(error).strip().split("\n", 1)[0]
        return Outcome("failed", reason=f"the dask worker could not run the trial: {type(error).__name__}: {text}",
                       duration=duration)
    state, value, reason, step = result.result()
    return Outcome(state, result=value, reason=reason, step=step, duration=duration)


# ------------------------------------------------------------------------------------------ worker side


class _CodePlugin(distributed.WorkerPlugin):
    """Unpacks the user's modules into each worker's local directory, as it joins (or now, if it is in)."""

    def __init__(self, folder: str, key: str, data: bytes) -> None:
        self.folder, self.key, self.data = folder, key, data

    def setup(self, worker) -> None:
        unpack(self.data, copy_of(self.folder, Path(worker.local_directory) / CODE_DIR, self.key))


_POOLS: dict[tuple[int | None, str | None], ProcessExecutor] = {}  # per worker process, memory limit and
# trial log: where trials run


def _pool(worker, memory_limit: int | None, trial_log: str | None) -> ProcessExecutor:
    """This worker's pool for trials of that memory limit, writing their own output to `trial_log` when the
    study directory is on a disk this worker sees (this machine's, or a shared one), else to the worker's log."""
    if trial_log and not Path(trial_log).parent.parent.is_dir():
        trial_log = None
    if (memory_limit, trial_log) not in _POOLS:
        # A dask worker is a daemonic process by default (distributed.worker.daemon), which multiprocessing
        # forbids to start children; the pool's own lifeline and process tree end them instead.
        multiprocessing.current_process()._config["daemon"] = False
        _POOLS[memory_limit, trial_log] = ProcessExecutor(max(1, worker.state.nthreads), memory_limit=memory_limit,
                                                          log_path=Path(worker.local_directory) / WORKER_LOG,
                                                          trial_log=trial_log)
    return _POOLS[memory_limit, trial_log]


async def run_on_worker(payload: bytes, code: tuple[str, str] | None, params: dict, number: int, seed: int,
                        timeout: float | None, memory_limit: int | None, trial_log: str | None, key: str) -> tuple:
    """The dask task of one trial: (state, result, reason, step) of the pool's Outcome."""
    worker = distributed.get_worker()
    client = distributed.get_client()
    outbox = await _queue(f"{key}-out", client)
    inbox = await _queue(f"{key}-in", client)
    await outbox.put(["started", worker.address])
    copy = str(copy_of(code[0], Path(worker.local_directory) / CODE_DIR, code[1])) if code else None
    objective = Pickled(pickle.dumps(Shipped(payload, code[0] if code else None, copy)))
    answers: asyncio.Queue[bool] = asyncio.Queue()

    async def ask(step: int, values: dict) -> bool:
        await outbox.put(["report", step, values])
        return await answers.get()

    pool = _pool(worker, memory_limit, trial_log)
    await asyncio.get_running_loop().run_in_executor(None, pool.start)  # seconds, the first time: not on the loop
    trial = asyncio.ensure_future(pool.run(objective, params, number=number, seed=seed,
                                   timeout=timeout, on_report=ask))
    listening = asyncio.ensure_future(_listen(inbox, answers, trial))
    watching = asyncio.ensure_future(_watch(worker, key, trial, listening))
    try:
        outcome = await trial
    except asyncio.CancelledError:
        return "failed", None, "stopped", None  # nobody waits for it: the driver stopped it or is gone
    finally:
        watching.cancel()
    await outbox.put(["done"])  # the driver answers "done" too: no queue read is left waiting on either side
    return outcome.state, outcome.result, outcome.reason, outcome.step


async def _listen(inbox, answers: asyncio.Queue, trial: asyncio.Future) -> None:
    """Hand the engine's answers to the trial until "done"; on "stop", cancel the trial (the pool kills
    its processes)."""
    while True:
        message = await inbox.get()
        if message[0] == "answer":
            answers.put_nowait(message[1])
        else:
            if message[0] == "stop":
                trial.cancel()
            return


async def _watch(worker, key: str, trial: asyncio.Future, listening: asyncio.Future) -> None:
    """Cancel the trial once its task is no longer wanted: the driver cancelled it, or went away."""
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        task = worker.state.tasks.get(key)
        if task is None or task.state in ABANDONED:
            trial.cancel()
            listening.cancel()
            return
