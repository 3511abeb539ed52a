"""Trials on a dask.distributed cluster, through the real CLI: a LocalCluster of worker processes bound to
127.0.0.1 (never another address), a worker killed mid-trial, a driver killed and resumed, a timeout, and the
user's code, in a folder of its own, shipped to the workers."""

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tui_tuner import SearchSpace, records
from tui_tuner.engine import Engine
from tui_tuner.errors import InputError
from tui_tuner.executors import LOST, Outcome, check_dask_address
from tui_tuner.searchers import RandomSearcher
from waiting import wait_for

CLI = [sys.executable, "-m", "tui_tuner.cli"]

TRAIN = '''
import os, time
import helper

def objective(params, trial):
    with open(params["marks"], "a") as marks:
        marks.write(f"{trial.number} {os.getpid()} {helper.__file__}\\n")
    for step in range(params["steps"]):
        time.sleep(params["pause"])
        trial.report(step, value=helper.bowl(params["x"]) + 1.0 / (step + 1))
    if params["x"] > params["hang_above"]:
        time.sleep(120)
    return helper.bowl(params["x"])
'''


@pytest.fixture(scope="module")
def cluster():
    """A scheduler in this process and two worker processes (nannies restart a killed one), all on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local, distributed.Client(local) as client:
        assert local.scheduler_address.startswith("tcp://127.0.0.1:")
        yield local.scheduler_address, client


def study(tmp_path, *, trials=4, workers=2, steps=3, pause=0.05, hang_above=2.0, timeout=None, objective=None):
    """A study file whose objective lives in a folder of its own and imports a sibling module."""
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text(TRAIN)
    (code / "helper.py").write_text("def bowl(x):\n    return (x - 0.3) ** 2\n")
    marks = tmp_path / "marks.txt"
    path = tmp_path / "study.yaml"
    path.write_text(f"""
name: dask-test
objective:
  python: "{objective or 'code/train.py:objective'}"
  metric: value
  fixed: {{marks: "{marks}", steps: {steps}, pause: {pause}, hang_above: {hang_above}}}
search: {{strategy: random, trials: {trials}, workers: {workers}, seed: 0{f', trial_timeout: {timeout}' if timeout else ''}}}
params:
  x: {{type: float, low: 0.0, high: 1.0}}
""")
    return path, marks


def run_cli(*args, timeout=60):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def journal(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()]


def trial_events(records: list[dict]) -> dict[int, list[str]]:
    """Trial number -> the kinds of its records in order."""
    events: dict[int, list[str]] = {}
    for record in records:
        if "number" in record and record["event"] != "note":
            events.setdefault(record["number"], []).append(record["event"])
    return events


def finished_once(records: list[dict], trials: int) -> bool:
    ends = Counter(r["number"] for r in records if r["event"] in ("finished", "failed", "pruned"))
    return sorted(ends) == list(range(trials)) and set(ends.values()) == {1}


def marks_of(marks: Path) -> list[tuple[int, int, str]]:
    if not marks.exists():
        return []
    return [(int(n), int(pid), where) for n, pid, where in (line.split(" ", 2) for line in marks.read_text().splitlines())]


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_dask_address_is_checked_like_any_search_option(tmp_path, monkeypatch):
    assert check_dask_address("local:3", field="--dask") == "local:3"
    assert check_dask_address("tcp://127.0.0.1:8786", field="--dask") == "tcp://127.0.0.1:8786"
    for bad in ("local:0", "nowhere", "tcp://127.0.0.1", 8786):
        with pytest.raises(InputError, match="must be local, local:N"):
            check_dask_address(bad, field="search.executor.dask")
    path, _ = study(tmp_path)
    path.write_text(path.read_text().replace("seed: 0", "seed: 0, executor: {dask: 'local:x'}"))
    result = run_cli("run", path, "--study", tmp_path / "run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"tui-tuner: {path}:7: search.executor.dask: must be local, local:N (N worker processes on this machine) "
        "or a dask scheduler's address like tcp://10.0.0.5:8786, got 'local:x'"]
    result = run_cli("run", study(tmp_path)[0], "--dask", "10.0.0.5", "--study", tmp_path / "run")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--dask: must be local, local:N" in result.stderr
    assert not (tmp_path / "run").exists()

    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(InputError, match=r"pip install 'tui-tuner\[dask\]'"):
        check_dask_address("local", field="--dask")


@pytest.mark.slow
def test_a_study_on_local_dask_workers_has_the_pool_s_trials_and_journal(tmp_path):
    path, marks = study(tmp_path)
    on_dask = run_cli("run", path, "--dask", "local:2", "--study", tmp_path / "dask")
    assert on_dask.returncode == 0, on_dask.stderr
    on_pool = run_cli("run", path, "--study", tmp_path / "pool")
    assert on_pool.returncode == 0, on_pool.stderr
    dask_records, pool_records = journal(tmp_path / "dask"), journal(tmp_path / "pool")
    assert trial_events(dask_records) == trial_events(pool_records) == {
        n: ["started", "reported", "reported", "reported", "finished"] for n in range(4)}

    def trials(records):
        return {r["number"]: (r["params"], r["seed"]) for r in records if r["event"] == "started"}

    def values(records):
        return {r["number"]: r["value"] for r in records if r["event"] == "finished"}

    assert trials(dask_records) == trials(pool_records)
    assert values(dask_records) == values(pool_records)
    assert dask_records[0]["settings"]["dask"] == "local:2"
    # the sibling module came from the copy shipped to the workers, not from the study's folder
    shipped = [where for n, _, where in marks_of(marks) if "tui-tuner-code" in where]
    assert len(shipped) == 4


JITTERY = '''
import os, time
from tui_tuner import TrialPruned

def objective(params, trial):
    for step in range(4):
        time.sleep(int.from_bytes(os.urandom(1), "little") / 255 * 0.06)  # a pace left to chance
        trial.report(step, value=params["x"] + 1.0 / (step + 1))
        if trial.should_prune():
            raise TrialPruned()
    return params["x"]
'''


@pytest.mark.slow
def test_pruning_on_the_cluster_makes_the_same_decisions_however_the_trials_are_timed(tmp_path, cluster):
    address, _ = cluster
    (tmp_path / "jittery.py").write_text(JITTERY)
    path = tmp_path / "study.yaml"
    path.write_text("""
name: dask-pruning
objective: {python: "jittery.py:objective", metric: value}
search: {strategy: random, trials: 10, workers: 2, seed: 0}
pruner: {name: median, warmup: 1, min_trials: 2}
params:
  x: {type: float, low: 0.0, high: 1.0}
""")
    decisions = []
    for run in ("a", "b"):
        done = run_cli("run", path, "--dask", address, "--study", tmp_path / run)
        assert done.returncode == 0, done.stderr
        decisions.append({r["number"]: (r["event"], r.get("step")) for r in journal(tmp_path / run)
                          if r["event"] in ("finished", "pruned")})
    assert decisions[0] == decisions[1] and len(decisions[0]) == 10
    assert any(event == "pruned" for event, _ in decisions[0].values())


@pytest.mark.slow
def test_a_command_objective_on_the_cluster_keeps_each_trial_s_output_in_the_study(tmp_path, cluster):
    address, _ = cluster
    (tmp_path / "train.py").write_text(
        "import argparse, json\n"
        "p = argparse.ArgumentParser(); p.add_argument('--x', type=float); x = p.parse_args().x\n"
        "print(f'training at x={x}')\n"
        "print(json.dumps({'loss': (x - 0.3) ** 2}))\n")
    path = tmp_path / "study.yaml"
    path.write_text("""
name: dask-command
objective: {command: "python train.py", metric: loss}
search: {strategy: random, trials: 3, workers: 2, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
""")
    done = run_cli("run", path, "--dask", address, "--study", tmp_path / "s")
    assert done.returncode == 0, done.stderr
    finished = [r for r in journal(tmp_path / "s") if r["event"] == "finished"]
    assert len(finished) == 3
    for n in range(3):
        assert "training at x=" in (tmp_path / "s" / "logs" / f"trial-{n}.log").read_text()


@pytest.mark.slow
def test_a_worker_killed_mid_trial_costs_a_rerun_and_every_trial_ends_once(tmp_path, cluster):
    address, client = cluster
    path, marks = study(tmp_path, trials=6, steps=8, pause=0.15)
    driver = subprocess.Popen([*CLI, "run", path, "--dask", address, "--study", tmp_path / "run"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: any(n == 2 for n, _, _ in marks_of(marks)))
    number, trial_pid, _ = next(m for m in marks_of(marks) if m[0] == 2)
    workers = set(client.run(os.getpid).values())
    worker = trial_pid
    while worker not in workers:
        worker = parent(worker)
    os.kill(worker, signal.SIGKILL)
    out, err = driver.communicate(timeout=60)
    assert driver.returncode == 0, err
    records = journal(tmp_path / "run")
    assert finished_once(records, 6)
    assert [r["number"] for r in records if r["event"] == "interrupted"] == [2]
    started = [r for r in records if r["event"] == "started" and r["number"] == 2]
    assert len(started) == 2 and started[0]["params"] == started[1]["params"]
    assert started[0]["seed"] == started[1]["seed"]
    said = " ".join((out + err).split())  # the notice, however the terminal wrapped it
    assert f"tui-tuner: on dask at {address}: 2 workers, 2 threads; 2 trials at once" in said
    assert "tui-tuner: trial 2: its dask worker tcp://127.0.0.1:" in said and "worker left; running it again" in said
    wait_for(lambda: not alive(trial_pid), 10)


@pytest.mark.slow
def test_a_study_killed_on_the_cluster_resumes_there_and_leaves_no_trial_running(tmp_path, cluster):
    address, _ = cluster
    path, marks = study(tmp_path, trials=5, steps=10, pause=0.2)
    driver = subprocess.Popen([*CLI, "run", path, "--dask", address, "--study", tmp_path / "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: any(n == 3 for n, _, _ in marks_of(marks)))
    driver.kill()
    driver.wait()
    running = [pid for n, pid, _ in marks_of(marks) if n in (2, 3)]
    wait_for(lambda: not any(map(alive, running)), 10)  # the cluster let go of the dead driver's trials
    before = journal(tmp_path / "run")
    finished_before = {r["number"] for r in before if r["event"] == "finished"}
    resumed = run_cli("run", path, "--dask", address, "--resume", "--study", tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr
    records = journal(tmp_path / "run")
    assert finished_once(records, 5)
    rerun = {r["number"] for r in records[len(before):] if r["event"] == "started"}
    assert rerun == set(range(5)) - finished_before


@pytest.mark.slow
def test_a_trial_past_its_timeout_on_the_cluster_fails_and_its_process_ends(tmp_path, cluster):
    address, _ = cluster
    path, marks = study(tmp_path, trials=2, steps=1, hang_above=-1.0, timeout=1.5)
    result = run_cli("run", path, "--dask", address, "--study", tmp_path / "run", "--trials", 2)
    assert result.returncode == 1  # no trial finished
    failed = [r for r in journal(tmp_path / "run") if r["event"] == "failed"]
    assert [r["reason"] for r in failed] == ["timed out after 1.5 s (trial_timeout); the worker was killed"] * 2
    wait_for(lambda: not any(alive(pid) for _, pid, _ in marks_of(marks)), 10)


@pytest.mark.slow
def test_a_module_the_workers_cannot_import_is_one_line_of_the_trial(tmp_path, cluster):
    address, _ = cluster
    path, _ = study(tmp_path, trials=1)
    (tmp_path / "code" / "train.py").write_text("import helper\nimport not_on_any_worker\n" + TRAIN)
    result = run_cli("run", path, "--dask", address, "--study", tmp_path / "run")
    assert result.returncode == 1
    [failed] = [r for r in journal(tmp_path / "run") if r["event"] == "failed"]
    assert failed["reason"] == "ModuleNotFoundError: No module named 'not_on_any_worker'"


class LosingExecutor:
    """Finishes each trial with its x, except trial 1, whose worker is lost `losses` times first."""

    capacity = 2

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.runs: list[int] = []

    async def open(self) -> None:
        return None

    async def run(self, objective, params, *, number, seed, timeout=None, on_report=None):
        self.runs.append(number)
        on_report(0, {"value": params["x"]})
        if number == 1 and self.runs.count(1) <= self.losses:
            return Outcome(LOST, reason="its dask worker tcp://127.0.0.1:1 was lost; 1 worker left")
        return Outcome("finished", result=params["x"])

    async def close(self) -> None:
        return None


class CountingSearcher(RandomSearcher):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.told: list[dict] = []

    def tell(self, config, value) -> None:
        self.told.append(config)
        super().tell(config, value)


@pytest.mark.parametrize("losses, ends", [(1, "finished"), (3, "failed")])
async def test_a_lost_trial_is_interrupted_and_run_again_under_its_number_and_told_once(losses, ends):
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    searcher = CountingSearcher(space, seed=0)
    executor = LosingExecutor(losses)
    engine = Engine(lambda params, trial: None, searcher, executor, trials=3, seed=0)
    seen = []
    engine.subscribe(seen.append)
    await engine.run()
    of_one = [type(e).__name__ for e in seen if getattr(e, "number", None) == 1]
    again = ["Interrupted", "Started", "Reported"] * min(losses, 2)
    assert of_one == ["Started", "Reported", *again, "Finished" if ends == "finished" else "Failed"]
    assert executor.runs.count(1) == min(losses + 1, 3)
    starts = [e for e in seen if isinstance(e, records.Started) and e.number == 1]
    assert len({(str(e.params), e.seed) for e in starts}) == 1
    assert len(searcher.told) == 3  # trial 1 once, however often it ran
    notices = [e.text for e in seen if isinstance(e, records.Notice)]
    assert notices == ["trial 1: its dask worker tcp://127.0.0.1:1 was lost; 1 worker left; running it again"] * min(losses, 2)
    if ends == "failed":
        [failed] = [e for e in seen if isinstance(e, records.Failed)]
        assert failed.reason.endswith("; lost 3 times, so failed")


def test_a_study_that_ran_on_dask_shows_its_cluster_in_the_app_and_runs_there_again(tmp_path):
    """The app's document of a study directory carries the executor it last ran on, as `run --resume` does."""
    from dataclasses import replace

    from tui_tuner.app.document import StudyDocument
    from tui_tuner.spec import load_spec

    path, _ = study(tmp_path)
    spec = load_spec(path)
    document = StudyDocument.from_spec(spec, tmp_path / "saved.yaml", replace(spec.settings, dask="local:2"))
    assert document.search["executor"] == {"dask": "local:2"} and document.spec().settings.dask == "local:2"
