"""A dask address or cluster that is not what it should be: a service that is not a dask scheduler (HTTP,
silent, closing at once, nothing listening), `local:N` past what the machine runs, a scheduler killed
mid-study. Each is one line and the right exit code, within seconds; finished trials are never lost.
Fake services and schedulers listen on 127.0.0.1 only; at most one dask worker runs at a time."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from test_dask import CLI, finished_once, journal, marks_of, run_cli, study
from tui_tuner import SearchSpace, records
from tui_tuner.engine import Engine
from tui_tuner.errors import InputError, TunerError
from tui_tuner.executors import ExecutorLost, Outcome, check_dask_address
from tui_tuner.searchers import RandomSearcher
from waiting import wait_for


@contextmanager
def service(kind: str):
    """A TCP server on 127.0.0.1 that answers each connection as `kind`: "http", "silent", "closes", or
    "refused" (a port with nothing listening). Yields its tcp:// address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    if kind == "refused":
        listener.close()
        yield address
        return
    listener.listen()
    held = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if kind == "http":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            if kind == "closes":
                conn.close()
            else:
                held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield address
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("kind, said", [
    ("http", "is not a dask scheduler: it answered b'HTTP/1.1'"),
    ("silent", "is not a dask scheduler: it said nothing in 0.5 s"),
    ("closes", "is not a dask scheduler: it closed the connection"),
    ("refused", "nothing listens at tcp://127.0.0.1:"),
])
async def test_a_service_that_is_not_a_dask_scheduler_is_told_apart_quickly(kind, said, monkeypatch):
    pytest.importorskip("distributed")
    from tui_tuner.executors import dask as on_dask

    monkeypatch.setattr(on_dask, "HANDSHAKE_SECONDS", 0.5)
    with service(kind) as address:
        started = time.monotonic()
        with pytest.raises(InputError) as raised:
            await on_dask.check_scheduler(address, field="--dask")
        assert time.monotonic() - started < 3
    assert said in str(raised.value) and str(raised.value).startswith("--dask: ")


def test_run_against_an_http_server_is_one_line_and_leaves_no_study(tmp_path):
    """distributed's own client read "HTTP/1.1" as the length of a 3 EiB message (a MemoryError traceback)."""
    pytest.importorskip("distributed")
    path, _ = study(tmp_path)
    with service("http") as address:
        result = run_cli("run", path, "--dask", address, "--study", tmp_path / "run", timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tui-tuner: --dask: {address} is not a dask scheduler: it answered "
                                          "b'HTTP/1.1'"]
    assert not (tmp_path / "run").exists()


def test_local_n_past_what_the_machine_runs_is_refused_naming_the_cap(tmp_path):
    cap = 4 * (os.cpu_count() or 1)
    assert check_dask_address(f"local:{cap}", field="--dask") == f"local:{cap}"
    for asked in (cap + 1, 100_000, "9" * 5000):
        with pytest.raises(InputError, match=f"asks for .* worker processes; this .*-CPU machine runs at most "
                                             f"{cap} \\(4 a CPU\\)"):
            check_dask_address(f"local:{asked}", field="--dask")
    result = run_cli("run", study(tmp_path)[0], "--dask", "local:100000", "--study", tmp_path / "run")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"tui-tuner: --dask: local:100000 asks for 100000 worker processes; this "
                                          f"{os.cpu_count()}-CPU machine runs at most {cap} (4 a CPU)"]
    assert not (tmp_path / "run").exists()


class VanishingExecutor:
    """Two trials at once; trial 0 runs until cancelled, trial 1 finds the cluster gone."""

    capacity = 2

    def __init__(self) -> None:
        self.runs: list[int] = []
        self.cancelled: list[int] = []

    async def open(self) -> None:
        return None

    async def run(self, objective, params, *, number, seed, timeout=None, on_report=None):
        self.runs.append(number)
        if number == 1:
            await asyncio.sleep(0.05)
            raise ExecutorLost("lost the dask scheduler at tcp://127.0.0.1:1")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.append(number)
            raise
        return Outcome("finished", result=0.0)

    async def close(self) -> None:
        return None


async def test_a_lost_executor_stops_the_study_with_its_running_trials_interrupted_never_failed():
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    executor = VanishingExecutor()
    engine = Engine(lambda params, trial: None, RandomSearcher(space, seed=0), executor, trials=6, seed=0)
    seen = []
    engine.subscribe(seen.append)
    with pytest.raises(ExecutorLost, match="lost the dask scheduler"):
        await asyncio.wait_for(engine.run(), 10)
    assert executor.runs == [0, 1] and executor.cancelled == [0]
    assert sorted(e.number for e in seen if isinstance(e, records.Interrupted)) == [0, 1]
    assert not [e for e in seen if isinstance(e, (records.Failed, records.Finished))]


async def test_a_cluster_without_workers_is_one_line_at_start_and_stops_the_study_when_they_all_go(monkeypatch):
    """Its tasks would wait for a worker forever: a hang."""
    distributed = pytest.importorskip("distributed")
    from tui_tuner.executors import dask as on_dask

    monkeypatch.setattr(on_dask, "WORKERS_SECONDS", 1)
    async with distributed.Scheduler(host="127.0.0.1", port=0, dashboard_address=None) as scheduler:
        with pytest.raises(TunerError, match=f"^the dask scheduler at {scheduler.address} has no worker \\(none "
                                             "joined in 1 s\\)$"):
            await asyncio.wait_for(on_dask.DaskExecutor(scheduler.address).open(), 10)
        executor = on_dask.DaskExecutor(scheduler.address)
        async with distributed.Worker(scheduler.address, nthreads=1):
            await executor.open()
        try:
            with pytest.raises(ExecutorLost, match=f"^no dask worker left at {scheduler.address} for 1 s; the trials "
                                                   "it ran are recorded interrupted$"):
                await asyncio.wait_for(executor.run(abs, {"x": 1.0}, number=0, seed=0), 15)
        finally:
            await executor.close()


async def test_trials_at_once_on_a_cluster_are_held_to_four_a_thread():
    """--workers 100000 on a one-thread cluster had 100,000 trials in flight, two scheduler queues each."""
    distributed = pytest.importorskip("distributed")
    from tui_tuner.executors.dask import DaskExecutor

    async with distributed.Scheduler(host="127.0.0.1", port=0, dashboard_address=None) as scheduler:
        async with distributed.Worker(scheduler.address, nthreads=1):
            executor = DaskExecutor(scheduler.address, workers=100_000)
            try:
                said = await asyncio.wait_for(executor.open(), 30)
            finally:
                await executor.close()
    assert executor.capacity == 4
    assert said.endswith("1 worker, 1 thread; 4 trials at once; the rest wait for a free thread (not the 100000 "
                         "asked: at most 4 a thread)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def scheduler_and_one_worker(folder):
    """A dask scheduler process and one worker process (two threads, no nanny) on 127.0.0.1, their logs in
    `folder`. Yields (address, the scheduler's Popen); every process it started is gone afterwards."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = folder / f"worker-{port}.log"
    started = []
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        wait_for(lambda: listening(port), 30)
        with open(log, "w") as out:
            started.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "2",
                 "--no-nanny", "--death-timeout", "10"], stdout=out, stderr=out, start_new_session=True))
        wait_for(lambda: "Registered to" in log.read_text(), 30)
        yield address, started[0]
    finally:
        for process in started:  # each in a session of its own: the group is the process and its children
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@pytest.mark.slow
def test_a_scheduler_killed_mid_study_interrupts_its_trials_and_the_study_resumes(tmp_path):
    """It was: the six running trials recorded failed (never run again), then a hang."""
    pytest.importorskip("distributed")
    path, marks = study(tmp_path, trials=4, steps=40, pause=0.1)
    with scheduler_and_one_worker(tmp_path) as (address, scheduler):
        driver = subprocess.Popen([*CLI, "run", path, "--dask", address, "--study", tmp_path / "run"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: {n for n, _, _ in marks_of(marks)} == {0, 1})
        os.killpg(scheduler.pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=30)
    assert driver.returncode == 1, err
    assert err.splitlines()[-1] == (f"tui-tuner: lost the dask scheduler at {address}; the trials it ran are "
                                    f"recorded interrupted; continue with: tui-tuner run {path} --resume --study "
                                    f"{tmp_path / 'run'}")
    assert "Traceback" not in err
    before = journal(tmp_path / "run")
    assert sorted(r["number"] for r in before if r["event"] == "interrupted") == [0, 1]
    assert not [r for r in before if r["event"] in ("failed", "finished")]

    with scheduler_and_one_worker(tmp_path) as (address, _):
        resumed = run_cli("run", path, "--dask", address, "--resume", "--study", tmp_path / "run", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert finished_once(journal(tmp_path / "run"), 4)
