"""`tui-tuner run` as a user meets it: exit codes, one-line errors, the summary, export, resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui_tuner.cli import main
from tui_tuner.records import Interrupted
from tui_tuner.storage import StudyLog, load_config, read_journal

TESTS = Path(__file__).parent


def study_file(tmp_path, *, function="quadratic", trials=6, workers=1, seed=0, strategy="random", extra=""):
    path = tmp_path / "study.yaml"
    path.write_text(f"""
name: cli-test
objective:
  python: "cli_objectives:{function}"
  metric: value
  direction: minimize
search:
  strategy: {strategy}
  trials: {trials}
  workers: {workers}
  seed: {seed}
params:
  x: {{type: float, low: 0.0, high: 1.0}}
{extra}""")
    return path


@pytest.fixture(autouse=True)
def importable_tests(monkeypatch, tmp_path):
    """Worker processes import the test objectives by module name, and runs/ lands in a temp dir."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.chdir(tmp_path)


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tui_tuner.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("args, fragment", [
    (["run"], "the following arguments are required: STUDY_FILE"),
    (["run", "x.yaml", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "x.yaml", "--trials", "zero"], "must be a whole number"),
    (["run", "x.yaml", "--trials", "0"], "must be a whole number, at least 1, got 0"),
    (["run", "x.yaml", "--seed", "-1"], "must be a whole number, at least 0, got -1"),
    (["run", "x.yaml", "--strategy", "annealing"], "invalid choice: 'annealing'"),
    (["run", "missing.yaml"], "missing.yaml"),
    (["missing.yaml"], "missing.yaml: no such file or directory"),
    (["."], ".: not a study file or a study directory"),
    (["a.yaml", "b.yaml"], "unrecognized arguments: b.yaml"),
])
def test_user_mistakes_are_one_line_and_exit_2(capsys, args, fragment):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malformed_study_file_is_one_line_naming_file_and_field(tmp_path, capsys):
    path = study_file(tmp_path)
    path.write_text(path.read_text().replace("trials: 6", "trials: many"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "search.trials" in err and err.count("\n") == 1


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--strategy", "--trials", "--workers", "--seed", "--study", "--resume", "--export"):
        assert flag in out


@pytest.mark.slow
def test_run_writes_journal_best_and_export(tmp_path):
    path = study_file(tmp_path, function="flaky", trials=8)
    result = run_cli("run", path, "--study", tmp_path / "s", "--export", tmp_path / "best.json")
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    assert len(log.records) == 8
    assert all(r.state in ("finished", "failed") for r in log.records.values())
    failed = [r for r in log.records.values() if r.state == "failed"]
    assert failed and all("x too large" in r.reason for r in failed)  # seed 0 draws some x > 0.8
    assert "top trials" in result.stdout and "x too large" in result.stdout
    exported = load_config(tmp_path / "best.json")
    best = log.best()
    assert exported["params"] == best.params and exported["value"] == best.value
    assert exported["strategy"] == "random" and exported["seed"] == 0 and exported["trial"] == best.number
    assert json.loads((tmp_path / "s" / "best.json").read_text())["params"] == best.params


def test_a_pruner_stops_poor_curves_and_pruned_is_not_failed(tmp_path):
    path = study_file(tmp_path, function="curve", trials=10,
                      extra="pruner: {name: successive_halving, reduction_factor: 2}")
    result = run_cli("run", path, "--study", tmp_path / "s")
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    pruned = [r for r in log.records.values() if r.state == "pruned"]
    finished = [r for r in log.records.values() if r.state == "finished"]
    assert pruned and finished and len(pruned) + len(finished) == 10
    assert all(len(r.reports) < 9 and r.reason.startswith("pruned at step") for r in pruned)
    assert all(len(r.reports) == 9 for r in finished)
    assert log.best().value <= min(r.reports[-1][1]["value"] for r in pruned)  # the pruned were worse
    assert "pruned" in result.stdout


def test_switching_strategy_on_resume_goes_on_from_the_trials_run(tmp_path):
    path = study_file(tmp_path, trials=3)
    assert run_cli("run", path, "--study", tmp_path / "s").returncode == 0
    result = run_cli("run", path, "--study", tmp_path / "s", "--resume", "--strategy", "grid", "--trials", "5")
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    new = [r.params["x"] for r in sorted(log.records.values(), key=lambda r: r.number)][3:]
    assert new == [0.0, 0.25]  # the grid from its start: the random trials took none of its points
    result = run_cli("run", path, "--study", tmp_path / "s", "--resume", "--strategy", "bayes", "--trials", "7")
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    assert len(log.records) == 7 and len({r.params["x"] for r in log.records.values()}) == 7


@pytest.mark.slow
def test_same_seed_same_trials(tmp_path):
    path = study_file(tmp_path, trials=5, workers=2)
    runs = []
    for name in ("a", "b"):
        assert run_cli("run", path, "--study", tmp_path / name).returncode == 0
        log = StudyLog.replay(read_journal(tmp_path / name / "journal.jsonl"))
        runs.append([(r.number, r.params, r.seed, r.value) for r in log.records.values()])
    assert runs[0] == runs[1]
    other = run_cli("run", path, "--study", tmp_path / "c", "--seed", "1")
    assert other.returncode == 0
    log = StudyLog.replay(read_journal(tmp_path / "c" / "journal.jsonl"))
    assert [r.params for r in log.records.values()] != [p for _, p, _, _ in runs[0]]


@pytest.mark.slow
def test_resume_after_sigkill_loses_nothing_and_runs_nothing_twice(tmp_path):
    path = study_file(tmp_path, function="slow_quadratic", trials=10, workers=2)
    study_dir = tmp_path / "s"
    journal = study_dir / "journal.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", "run", str(path), "--study", str(study_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count('"finished"') >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the study process and its workers, mid-trial
    proc.wait()
    before = StudyLog.replay(read_journal(journal))
    finished_before = {r.number: r.params for r in before.finished()}
    running_before = [r.params for r in before.records.values() if r.state == "running"]
    assert len(finished_before) >= 3 and len(finished_before) < 10

    result = run_cli("run", path, "--study", study_dir, "--resume")
    assert result.returncode == 0, result.stderr
    after = StudyLog.replay(read_journal(journal))
    for number, params in finished_before.items():  # nothing completed is lost
        assert after.records[number].state == "finished" and after.records[number].params == params
    finished_params = [json.dumps(r.params, sort_keys=True) for r in after.finished()]
    assert len(finished_params) == len(set(finished_params))  # nothing ran twice
    assert len(after.finished()) == 10
    for params in running_before:  # interrupted trials ran again
        assert json.dumps(params, sort_keys=True) in finished_params
    interrupted = {e.number for e in read_journal(journal) if isinstance(e, Interrupted)}
    assert interrupted == {n for n, r in before.records.items() if r.state == "running"}  # and say so


@pytest.mark.slow
def test_grid_ends_when_exhausted_and_flags_override_the_file(tmp_path):
    path = study_file(tmp_path, strategy="grid", trials=50,
                      extra="  kind: {type: categorical, choices: [a, b]}\n")
    path.write_text(path.read_text().replace("high: 1.0}", "high: 1.0, num: 3}"))
    assert run_cli("run", path, "--study", tmp_path / "g").returncode == 0
    log = StudyLog.replay(read_journal(tmp_path / "g" / "journal.jsonl"))
    assert len(log.records) == 6  # 3 x values times 2 kinds, though the file allows 50 trials
    assert len({json.dumps(r.params, sort_keys=True) for r in log.records.values()}) == 6

    result = run_cli("run", path, "--study", tmp_path / "r", "--strategy", "random", "--trials", "3")
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "r" / "journal.jsonl"))
    assert len(log.records) == 3


def test_an_existing_study_directory_is_never_overwritten(tmp_path, capsys):
    path = study_file(tmp_path)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "journal.jsonl").write_text('{"event": "study"}\n')
    assert main(["run", str(path), "--study", str(tmp_path / "s")]) == 2
    assert "already holds a study" in capsys.readouterr().err
    assert (tmp_path / "s" / "journal.jsonl").read_text() == '{"event": "study"}\n'


def test_the_app_refuses_a_broken_study_file_like_the_cli(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [x\n")
    assert main([str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tui-tuner: {broken}:") and "not valid YAML" in err and err.count("\n") == 1


def test_version_prints_the_installed_version_and_exits_0():
    from tui_tuner import __version__

    p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "--version"], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0 and p.stdout.strip() == f"tui-tuner {__version__}" and not p.stderr, p.stderr
