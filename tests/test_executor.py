"""The process pool as a user meets it: a trial's processes end with it, memory is bounded, a result the
engine cannot take is refused with a reason that says why, and a study never starts more workers than it
can use."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import executor_objectives as objectives
from tui_tuner import SearchSpace, make_searcher, records
from tui_tuner.engine import Engine
from tui_tuner.errors import InputError
from tui_tuner.executors.pool import ProcessExecutor, pool_size
from tui_tuner.results import REASON_CHARS
from tui_tuner.spec import spec_from_dict

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def importable_tests(monkeypatch):
    """Worker processes import the test objectives by module name."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))


def alive(pid: int) -> bool:
    """Running or stopped, not a zombie: a process that still holds memory and may still do things."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def pids_in(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def left_alive(path: Path, within: float = 2.0) -> list[int]:
    """The pids in `path` still alive after `within` seconds (those the test must clean up itself)."""
    deadline = time.monotonic() + within
    while (alive_pids := [p for p in pids_in(path) if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive_pids:
        os.kill(pid, 9)
    return alive_pids


@pytest.fixture
async def executor():
    """One worker, closed after the test whatever it asserted."""
    pool = ProcessExecutor(1)
    yield pool
    await pool.close()


@pytest.fixture
def pids(tmp_path):
    return tmp_path / "pids"


async def run_one(executor, objective, params, **kwargs):
    return await executor.run(objective, params, number=0, seed=0, **kwargs)


# ------------------------------------------------------------------------------------ item 4: process trees


@pytest.mark.slow
async def test_a_timed_out_trial_takes_its_children_with_it(pids, executor):
    outcome = await run_one(executor, objectives.children_then_hang, {"pids": str(pids)}, timeout=1.5)
    assert outcome.state == "failed" and "timed out after 1.5 s" in outcome.reason
    assert len(pids_in(pids)) == 3
    assert left_alive(pids) == []


@pytest.mark.slow
async def test_a_cancelled_trial_takes_its_children_with_it(pids, executor):
    task = asyncio.create_task(run_one(executor, objectives.children_then_hang, {"pids": str(pids)}))
    while len(pids_in(pids)) < 3:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert left_alive(pids) == []


@pytest.mark.slow
async def test_children_a_finished_trial_left_running_end_before_its_result_arrives(pids, executor):
    first = await run_one(executor, objectives.children_then_return, {"pids": str(pids)})
    assert [p for p in pids_in(pids) if alive(p)] == []  # no grace period: gone when the result is
    await run_one(executor, objectives.grandchild_daemon, {"pids": str(pids)})
    assert [p for p in pids_in(pids) if alive(p)] == []
    again = await run_one(executor, objectives.worker_pid, {})
    assert first.state == "finished" and again.result == first.result  # the same worker went on
    assert len(pids_in(pids)) == 4


@pytest.mark.slow
async def test_an_objective_that_forks_gives_one_answer_and_leaves_no_copy(pids, executor):
    outcomes = [await run_one(executor, objectives.forks, {"pids": str(pids), "x": x}) for x in (1, 2, 3)]
    assert left_alive(pids, within=0) == []
    assert [(o.state, o.result) for o in outcomes] == [("finished", 1.0), ("finished", 2.0), ("finished", 3.0)]


@pytest.mark.slow
async def test_an_objective_that_replaces_its_worker_fails_without_a_timeout(pids, executor):
    outcome = await asyncio.wait_for(run_one(executor, objectives.becomes_sleep, {"pids": str(pids)}), 20)
    after = await run_one(executor, objectives.worker_pid, {})
    assert outcome.state == "failed" and "closed its connection without a result" in outcome.reason
    assert after.state == "finished"
    assert left_alive(pids, within=0) == []


HANGING_STUDY = """
name: hangs
objective: {python: "executor_objectives:worker_and_children_then_hang", metric: value}
search: {strategy: random, trials: 4, workers: 2, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


def hanging_study(tmp_path, monkeypatch, pids) -> subprocess.Popen:
    """`tui-tuner run` with two trials running, each worker with three children, all noted in `pids`."""
    monkeypatch.setenv("EXECUTOR_TEST_PIDS", str(pids))
    (tmp_path / "study.yaml").write_text(HANGING_STUDY)
    study = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", "s"],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(pids_in(pids)) < 8 and time.monotonic() < deadline:  # 2 workers, 3 children each
        time.sleep(0.05)
    return study


@pytest.mark.slow
def test_kill_9_of_the_study_takes_its_workers_and_their_children_with_it(tmp_path, monkeypatch, pids):
    study = hanging_study(tmp_path, monkeypatch, pids)
    study.kill()
    study.communicate()
    assert len(pids_in(pids)) == 8
    assert left_alive(pids, within=1.0) == []


@pytest.mark.slow
def test_ctrl_c_twice_abandons_the_trials_and_their_children(tmp_path, monkeypatch, pids):
    study = hanging_study(tmp_path, monkeypatch, pids)
    study.send_signal(signal.SIGINT)
    time.sleep(0.3)
    study.send_signal(signal.SIGINT)
    _, err = study.communicate(timeout=30)
    assert study.returncode == 130 and "abandoning running trials" in err
    assert [p for p in pids_in(pids) if alive(p)] == []  # gone when the study has exited, not later


@pytest.mark.slow
async def test_a_trial_past_its_memory_limit_fails_and_the_next_runs():
    executor = ProcessExecutor(1, memory_limit=200 << 20)
    try:
        first = await run_one(executor, objectives.worker_pid, {})
        hungry = await run_one(executor, objectives.eats_memory, {"mb": 600}, timeout=30)
        after = await run_one(executor, objectives.worker_pid, {})
    finally:
        await executor.close()
    assert hungry.state == "failed"
    assert hungry.reason.startswith("out of memory (") and "over the 200 MB limit" in hungry.reason
    assert hungry.duration < 10
    assert after.state == "finished" and after.result != first.result  # killed and replaced
    assert not alive(int(first.result))


def test_trial_memory_is_a_size_with_a_unit():
    def settings(value):
        return spec_from_dict({"objective": {"python": "executor_objectives:worker_pid"},
                               "search": {"trial_memory": value},
                               "params": {"x": {"type": "float", "low": 0, "high": 1}}},
                              base_dir=TESTS).settings

    assert settings("600MB").trial_memory == 600 << 20
    assert settings("1.5 GiB").trial_memory == 3 << 29
    assert settings(None).trial_memory is None
    for bad, words in [("lots", "like 600MB or 4GB"), (600, "like 600MB"), ("1KB", "at least 100MB")]:
        with pytest.raises(InputError) as info:
            settings(bad)
        assert info.value.field == "search.trial_memory" and words in str(info.value)


# --------------------------------------------------------------------------------- item 5: failure reasons


RESULTS = ["generator", "lambda in a dict", "an object", "10 MB string", "text metric", "bool", "None", "huge int",
           "10 MB exception", "numpy scalar", "numpy metrics"]


@pytest.mark.slow
async def test_results_the_engine_cannot_take_are_refused_with_what_came_and_what_is_allowed(tmp_path):
    allowed = "allowed: a number, or a dict of metric name -> number"
    expected = {
        "generator": ["generator <generator object", "cannot be sent back", allowed],
        "lambda in a dict": ["dict {'fn': <function", "cannot be sent back", allowed],
        "an object": ["object <object object at", allowed],
        "10 MB string": ["str 'xxxx", "9.5 MB; a result may take 1 MB", allowed],
        "text metric": ["'note': str 'hello', not a number", allowed],
        "bool": ["bool True", allowed],
        "None": ["the objective returned None; " + allowed],
        "huge int": ["the objective returned inf for 'value'"],
        "10 MB exception": ["RuntimeError: eee"],
    }
    space = SearchSpace.from_dict({"what": {"type": "categorical", "choices": RESULTS}})
    engine = Engine(objectives.returns, make_searcher("grid", space),
                    ProcessExecutor(1, log_path=tmp_path / "workers.log"))  # a 10 MB traceback goes there
    seen = []
    engine.subscribe(seen.append)
    try:
        await engine.run()
    finally:
        await engine.executor.close()
    what = {e.number: e.params["what"] for e in seen if isinstance(e, records.Started)}
    failed = {what[e.number]: e.reason for e in seen if isinstance(e, records.Failed)}
    finished = {what[e.number]: e for e in seen if isinstance(e, records.Finished)}
    assert sorted(failed) == sorted(expected) and sorted(finished) == ["numpy metrics", "numpy scalar"]
    for name, words in expected.items():
        assert all(w in failed[name] for w in words), (name, failed[name])
        assert len(failed[name]) <= REASON_CHARS and "\n" not in failed[name]
    assert failed["10 MB exception"].endswith("…")
    assert finished["numpy scalar"].value == 0.5
    assert finished["numpy metrics"].metrics == {"value": 2.0, "loss": 0.25}
    assert type(finished["numpy metrics"].metrics["value"]) is float


@pytest.mark.slow
async def test_an_objective_that_closes_the_worker_log_fails_only_its_own_trial(executor):
    first, second = [await run_one(executor, objectives.closes_stdio, {}) for _ in range(2)]
    after = await run_one(executor, objectives.worker_pid, {})
    assert first.state == "finished"
    assert second.state == "failed" and second.reason == "OSError: [Errno 9] Bad file descriptor"
    assert after.result == first.result  # the same worker, still serving


@pytest.mark.slow
@pytest.mark.parametrize("step, values, words", [
    (0, {"loss": "high"}, ["'loss'", "str 'high'", "not a number"]),
    (0, {"loss": True}, ["'loss'", "bool True", "not a number"]),
    ("one", {"loss": 1.0}, ["step must be a whole number", "str 'one'"]),
    (0, {"loss": "x" * 10_000_000}, ["'loss'", "str 'xxx"]),
])
async def test_reports_that_are_not_numbers_fail_the_trial_with_a_reason(step, values, words, executor):
    outcome = await run_one(executor, objectives.reports, {"step": step, "values": values})
    assert outcome.state == "failed" and outcome.reason.startswith("TypeError: trial.report()")
    assert all(w in outcome.reason for w in words), outcome.reason
    assert len(outcome.reason) <= REASON_CHARS


# ------------------------------------------------------------------------------------ item 7: pool size


def test_the_pool_is_no_bigger_than_the_trials_left_nor_the_machine():
    cpus = os.cpu_count()
    assert pool_size(64, trials_left=2) == (2, None)
    assert pool_size(None, trials_left=1) == (1, None)
    assert pool_size(2) == (2, None)
    size, note = pool_size(10 ** 9)
    assert size == 4 * cpus
    assert note == f"starting {size} workers, not the {10 ** 9} asked: at most 4 a CPU on this {cpus}-CPU machine"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    size, note = pool_size(4 * cpus, trial_memory=memory // 2)
    assert size == 2 and "search.trial_memory" in note


STUDY = """
name: pool
objective: {{python: "executor_objectives:count_workers", metric: value}}
search: {{strategy: random, trials: {trials}, workers: {workers}, seed: 0}}
params:
  x: {{type: float, low: 0.0, high: 1.0}}
"""


@pytest.mark.slow
@pytest.mark.parametrize("trials, workers", [(2, 64), (10, "1.0e+9")])
def test_a_study_starts_only_the_workers_it_can_use(tmp_path, trials, workers):
    (tmp_path / "study.yaml").write_text(STUDY.format(trials=trials, workers=workers))
    run = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", "s"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in (tmp_path / "s" / "journal.jsonl").read_text().splitlines()]
    counts = [r["metrics"]["workers"] for r in records if r["event"] == "finished"]
    bound = min(trials, 4 * os.cpu_count())
    assert len(counts) == trials and max(counts) == bound  # all started before the first trial
    if bound < trials:
        assert f"tui-tuner: starting {bound} workers, not the 1000000000 asked: at most 4 a CPU" in run.stderr


async def test_workers_share_the_cores_out_for_blas_instead_of_each_taking_them_all():
    """Two workers each spinning a BLAS thread a core on a busy machine train several times slower."""
    cpus = os.cpu_count()
    for workers, expected in ((cpus, 1), (1, cpus)):
        executor = ProcessExecutor(workers)
        try:
            outcome = await run_one(executor, objectives.blas_threads, {})
        finally:
            await executor.close()
        assert outcome.state == "finished" and outcome.result == expected
