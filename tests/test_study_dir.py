"""A study directory under faults, as a user meets them through the real CLI: a second writer, kill -9, a
full disk (a real write error: a file-size limit), a damaged journal and its repair, best.json's params."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui_tuner.app import open_target
from tui_tuner.spec import load_spec
from tui_tuner.storage import StudyLog, load_config, read_journal
from tui_tuner.study import Study
from waiting import wait_for

TESTS = Path(__file__).parent
CLI = [sys.executable, "-m", "tui_tuner.cli"]


@pytest.fixture(autouse=True)
def importable_tests(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.chdir(tmp_path)


def study_file(tmp_path, *, function="slow_bowl", trials=6, workers=1, fixed=""):
    path = tmp_path / "study.yaml"
    path.write_text(f"""
name: dir-test
objective:
  python: "study_dir_objectives:{function}"
  metric: value
  direction: minimize
  {fixed}
search: {{strategy: random, trials: {trials}, workers: {workers}, seed: 0}}
params:
  x: {{type: float, low: 0.0, high: 1.0}}
""")
    return path


def run_cli(*args, timeout=120, **kwargs):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs)


def stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def start_writer(path: Path, study_dir: Path) -> subprocess.Popen:
    """`tui-tuner run` in its own process group (killed as one), returned once its first trial started; its
    trials take a second each, so it is still writing while a slow machine starts a second process."""
    journal = study_dir / "journal.jsonl"
    proc = subprocess.Popen([*CLI, "run", str(path), "--study", str(study_dir)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TUI_TUNER_TEST_SLEEP": "1.0"})
    try:
        wait_for(lambda: journal.exists() and '"started"' in journal.read_text())
    except AssertionError:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return proc


def finished_params(study_dir: Path) -> list[str]:
    log = StudyLog.replay(read_journal(study_dir / "journal.jsonl"))
    return [json.dumps(r.params, sort_keys=True) for r in log.finished()]


# --------------------------------------------------------------------------------------- one writer (item 2)

@pytest.mark.slow
def test_one_writer_a_second_is_refused_with_the_holders_pid_and_kill_9_leaves_no_stale_lock(tmp_path):
    path, study_dir = study_file(tmp_path, trials=8), tmp_path / "s"
    journal = study_dir / "journal.jsonl"
    first = start_writer(path, study_dir)
    try:
        assert Study.writer(study_dir) == first.pid
        watcher = Study.open(study_dir)  # a reader (the app watching) opens it while it is written

        second = run_cli("run", path, "--resume", "--study", study_dir)
        assert second.returncode == 2
        assert len(stderr_lines(second)) == 1 and f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        fresh = run_cli("run", path, "--study", study_dir)  # nor may a new study start over it
        assert fresh.returncode == 2 and len(stderr_lines(fresh)) == 1

        wait_for(lambda: journal.read_text().count('"finished"') >= 2)
        assert len(watcher.catch_up()) > 0 and watcher.log.count("finished") >= 2
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert Study.writer(study_dir) is None  # the kernel released the lock with its holder

    # two resumes at once: one writes, the other is refused; every trial runs exactly once
    both = [subprocess.Popen([*CLI, "run", str(path), "--resume", "--study", str(study_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in both]
    assert sorted(code for code, _ in results)[0] == 0, results
    assert all(code in (0, 2) and "Traceback" not in err for code, err in results), results
    done = finished_params(study_dir)
    assert len(done) == 8 and len(set(done)) == 8


def test_resume_of_a_run_killed_before_its_first_record_starts_it_from_nothing(tmp_path):
    path, study_dir = study_file(tmp_path, trials=3), tmp_path / "s"
    study_dir.mkdir()
    (study_dir / "study.yaml").write_text(path.read_text())  # what a kill right after the snapshot leaves
    (study_dir / "journal.jsonl").write_text('{"event": "study", "na')  # and a torn first record
    result = run_cli("run", path, "--resume", "--study", study_dir, env={**os.environ, "TUI_TUNER_TEST_SLEEP": "0"})
    assert result.returncode == 0, result.stderr
    assert len(finished_params(study_dir)) == 3


# ------------------------------------------------------------------------------------- write errors (item 1)

def _file_size_limit(limit: int):
    def apply() -> None:  # writes past `limit` bytes fail with EFBIG, like a full disk fails with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_a_journal_write_error_stops_the_run_with_one_line_exit_1_and_resume_loses_nothing(tmp_path):
    path, study_dir = study_file(tmp_path, trials=30, workers=2), tmp_path / "s"
    env = {**os.environ, "TUI_TUNER_TEST_SLEEP": "0.05"}
    started = time.monotonic()
    result = run_cli("run", path, "--study", study_dir, timeout=60, env=env, preexec_fn=_file_size_limit(6000))
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = stderr_lines(result)[-1]
    assert last.startswith("tui-tuner: cannot write ") and "journal.jsonl" in last
    assert f"--resume --study {study_dir}" in last
    log = StudyLog.replay(read_journal(study_dir / "journal.jsonl"))  # whole records only: no torn line
    safe = sum(log.count(s) for s in ("finished", "failed", "pruned"))
    assert f"{safe} trials are safe" in last and 0 < safe < 30

    resumed = run_cli("run", path, "--resume", "--study", study_dir, env=env)
    assert resumed.returncode == 0, resumed.stderr
    done = finished_params(study_dir)
    assert len(done) == 30 and len(set(done)) == 30


def test_a_best_json_write_error_stops_the_run_with_one_line_exit_1(tmp_path):
    path, study_dir = study_file(tmp_path, trials=20), tmp_path / "s"
    (study_dir / "best.json").mkdir(parents=True)  # best.json cannot be replaced: a real OSError on write
    result = run_cli("run", path, "--study", study_dir, timeout=60, env={**os.environ, "TUI_TUNER_TEST_SLEEP": "0"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = stderr_lines(result)[-1]
    assert last.startswith(f"tui-tuner: cannot write {study_dir / 'best.json'}") and "--resume" in last
    assert StudyLog.replay(read_journal(study_dir / "journal.jsonl")).count("finished") < 20


# ------------------------------------------------------------------------------- damaged journal (item 3)

def test_a_damaged_journal_line_is_named_and_repair_lets_the_study_resume(tmp_path):
    path, study_dir = study_file(tmp_path, trials=4), tmp_path / "s"
    env = {**os.environ, "TUI_TUNER_TEST_SLEEP": "0"}
    assert run_cli("run", path, "--study", study_dir, "--trials", "2", env=env).returncode == 0
    journal = study_dir / "journal.jsonl"
    lines = journal.read_text().splitlines()
    bad_line = '{"event": "finished", "number": 0, "value": "0.5", "duration": 1.0}'
    lines.insert(3, bad_line)
    journal.write_text("\n".join(lines) + "\n")

    refused = run_cli("run", path, "--resume", "--study", study_dir, env=env)
    assert refused.returncode == 2 and len(stderr_lines(refused)) == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"tui-tuner: {journal}:4: line 4 has a finished record whose value is '0.5'")
    assert f"tui-tuner repair {study_dir}" in refused.stderr

    repaired = run_cli("repair", study_dir)
    assert repaired.returncode == 0, repaired.stderr
    assert "moved 1 bad line(s) (4)" in repaired.stdout
    assert (study_dir / "journal.rejected.jsonl").read_text() == bad_line + "\n"
    assert journal.read_text().splitlines() == lines[:3] + lines[4:]  # everything else kept, in order

    resumed = run_cli("run", path, "--resume", "--study", study_dir, "--trials", "4", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert len(finished_params(study_dir)) == 4


# ----------------------------------------------------------------------------- best.json's params (item 14)

def test_best_json_params_hold_the_fixed_values_and_reproduce_the_best_trial(tmp_path):
    path = study_file(tmp_path, function="scaled_bowl", trials=4, fixed="fixed: {scale: 7.5}")
    result = run_cli("run", path, "--study", tmp_path / "s", "--export", tmp_path / "out.json")
    assert result.returncode == 0, result.stderr
    from study_dir_objectives import scaled_bowl
    space = load_spec(path).space
    for best in (tmp_path / "s" / "best.json", tmp_path / "out.json"):
        config = load_config(best, space)  # fixed keys are not the space's, and still load
        assert config["params"]["scale"] == 7.5 and config["fixed"] == {"scale": 7.5}
        assert scaled_bowl(config["params"], None) == pytest.approx(config["value"])  # as the README shows


@pytest.mark.slow
async def test_the_app_follows_a_study_another_process_writes_read_only_and_takes_it_over_after(tmp_path):
    from tui_tuner.app import open_target
    from tui_tuner.app.app import TunerApp

    path, study_dir = study_file(tmp_path, trials=40), tmp_path / "s"
    writer = start_writer(path, study_dir)
    try:
        app = TunerApp(*open_target(str(study_dir)))
        async with app.run_test(size=(120, 40)) as pilot:
            async def until(condition):
                for _ in range(300):
                    if condition():
                        return
                    await pilot.pause(0.1)
                raise AssertionError("timed out waiting for the app")

            said = lambda text: any(text in n.message for n in app._notifications)  # noqa: E731
            await until(lambda: said(f"read-only: process {writer.pid} is writing this study"))
            await until(lambda: f"read-only: pid {writer.pid} writes it" in str(app.status_bar.render()))
            seen = app.study.log.count("finished")
            await until(lambda: app.study.log.count("finished") > seen)  # it follows the other writer
            await pilot.press("r", "y")  # and does not write beside it (once the code it names is seen)
            await until(lambda: said(f"pid {writer.pid}"))
            assert writer.poll() is None
            os.killpg(writer.pid, signal.SIGKILL)  # the writer is gone: the study is this app's to run
            writer.wait()
            await until(lambda: "read-only" not in str(app.status_bar.render()))
            seen = app.study.log.count("finished")
            await pilot.press("r")
            await until(lambda: app.study.log.count("finished") > seen)
            app.session.cancel()
            await app.workers.wait_for_complete()
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait()
    done = finished_params(study_dir)
    assert len(done) == len(set(done))


async def test_a_write_error_in_the_apps_path_is_one_line_and_the_study_runs_again_after(tmp_path, monkeypatch):
    from tui_tuner.study import StudyWriteError

    monkeypatch.setenv("TUI_TUNER_TEST_SLEEP", "0")
    study_dir = tmp_path / "s"
    (study_dir / "best.json").mkdir(parents=True)  # best.json cannot be replaced
    study = Study.create(load_spec(study_file(tmp_path, trials=5)), study_dir)
    started = time.monotonic()
    with pytest.raises(StudyWriteError) as caught:
        await study.run()
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert message.startswith(f"cannot write {study_dir / 'best.json'}") and "\n" not in message
    assert f"resume with: tui-tuner run {tmp_path / 'study.yaml'} --resume --study {study_dir}" in message
    assert Study.writer(study_dir) is None  # the lock went with the run

    (study_dir / "best.json").rmdir()  # the user fixes it; the same study object goes on (the app stays usable)
    await study.run()
    assert study.log.count("finished") == 5 and load_config(study_dir / "best.json")["params"]


def test_the_snapshot_is_the_space_that_ran_not_the_file_on_disk(tmp_path):
    from tui_tuner.spec import spec_from_dict

    path = study_file(tmp_path)
    path.write_text("# my notes\n" + path.read_text())
    spec = load_spec(path)
    edited = {**spec.raw, "params": {"x": {"type": "float", "low": 0.25, "high": 0.5}}}  # the app's edit
    study = Study.create(spec_from_dict(edited, path=path, base_dir=tmp_path), tmp_path / "s")
    study._release_lock()
    snapshot = (tmp_path / "s" / "study.yaml").read_text()
    assert "# my notes" in snapshot
    assert load_spec(tmp_path / "s" / "study.yaml").raw["params"]["x"] == {"type": "float", "low": 0.25, "high": 0.5}
    assert Study.open(tmp_path / "s").spec.raw["params"]["x"]["low"] == 0.25


def test_a_resume_with_a_bigger_budget_is_the_budget_the_study_shows_when_reopened(tmp_path, monkeypatch):
    path = study_file(tmp_path, trials=3)
    monkeypatch.setenv("TUI_TUNER_TEST_SLEEP", "0")
    assert run_cli("run", path, "--study", "s").returncode == 0
    assert run_cli("run", path, "--study", "s", "--resume", "--trials", "5").returncode == 0
    study = Study.open(tmp_path / "s")  # the app, `trials` and a later resume see the budget it last ran with
    assert study.settings.trials == 5 and study.log.count("finished") == 5
    document, _ = open_target(str(tmp_path / "s"))  # the app's strategy pane shows it too, not the file's 3
    assert document.search["trials"] == 5 and document.spec().settings.trials == 5
    again = run_cli("run", path, "--study", "s", "--resume")  # nothing left: no new settings record either
    assert again.returncode == 0
    kinds = [json.loads(line)["event"] for line in (tmp_path / "s" / "journal.jsonl").read_text().splitlines()]
    assert kinds.count("settings") == 1 and kinds.count("finished") == 5
