"""A search space that changes during a study: each version journaled with its reason and changes, the trials
after it drawn from it, the searcher told only the trials that fit it, and the same versions after replay."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tui_tuner.errors import InputError
from tui_tuner.spec import load_spec
from tui_tuner.storage import read_journal
from tui_tuner.study import Study

TESTS = Path(__file__).parent
CLI = [sys.executable, "-m", "tui_tuner.cli"]
NARROW = {"x": {"type": "float", "low": 0.5, "high": 1.0}}


@pytest.fixture(autouse=True)
def quick_tests(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TUI_TUNER_TEST_SLEEP", "0")
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.chdir(tmp_path)


def study_file(tmp_path, *, trials=4, strategy="random"):
    path = tmp_path / "study.yaml"
    path.write_text(f"""\
name: space-test
objective: {{python: "study_dir_objectives:slow_bowl", metric: value, direction: minimize}}
search: {{strategy: {strategy}, trials: {trials}, workers: 1, seed: 0}}
params:
  x: {{type: float, low: 0.0, high: 1.0}}   # the range
""")
    return path


def space_lines(study_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (study_dir / "journal.jsonl").read_text().splitlines()
            if json.loads(line)["event"] == "space"]


def run_cli(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("strategy", ["random", "bayes"])
async def test_a_running_study_goes_on_over_the_new_space_and_its_searcher_learns_only_what_fits(tmp_path, strategy):
    study = Study.create(load_spec(study_file(tmp_path, trials=10, strategy=strategy)), tmp_path / "s")
    told_before: list = []

    def change_after_four(record):
        if study.log.count("finished") == 4 and not told_before:
            told_before.append([c for c, _ in study.engine.searcher.history])
            asyncio.get_running_loop().call_soon(study.change_space, NARROW, "edit")
    study.subscribe(change_after_four)
    await study.run()

    records = sorted(study.log.records.values(), key=lambda r: r.number)
    later = [r for r in records if r.space_version == 2]
    assert len(later) >= 5 and all(0.5 <= r.params["x"] <= 1.0 for r in later)
    assert [r.space_version for r in records] == sorted(r.space_version for r in records)  # 1s, then 2s
    told = [config for config, _ in study.engine.searcher.history]
    assert told and all(0.5 <= c["x"] <= 1.0 for c in told)  # never a config outside its space
    fitting = [r.params for r in records if r.done and r.params["x"] >= 0.5]
    assert told == fitting  # every trial that fits, in trial order
    assert any(r.params["x"] < 0.5 for r in records if r.space_version == 1)  # the old ones that did not: left out

    assert [(v["version"], v["reason"], v["changes"]) for v in space_lines(tmp_path / "s")] == [
        (1, "created", []), (2, "edit", ["x: low 0 -> 0.5"])]
    again = Study.open(tmp_path / "s")  # replay gives the same versions and the space now
    assert again.log.spaces == study.log.spaces and again.spec.space == study.spec.space
    assert yaml.safe_load((tmp_path / "s" / "study.yaml").read_text())["params"] == NARROW
    assert "# the range" in (tmp_path / "s" / "study.yaml").read_text()  # the snapshot keeps the file's words


async def test_an_idle_study_changes_space_once_and_a_resume_draws_from_it(tmp_path):
    study = Study.create(load_spec(study_file(tmp_path, trials=4)), tmp_path / "s")
    await study.run()
    assert study.change_space(load_spec(study_file(tmp_path)).raw["params"], "edit") == []  # unchanged: nothing
    assert study.change_space(NARROW, "edit") == ["x: low 0 -> 0.5"]
    assert study.change_space(NARROW, "edit") == []
    assert [v.version for v in Study.open(tmp_path / "s").log.spaces] == [1, 2]

    resumed = Study.open(tmp_path / "s", trials=8)
    await resumed.run()
    new = [r for r in resumed.log.records.values() if r.number >= 4]
    assert len(new) == 4 and all(r.space_version == 2 and r.params["x"] >= 0.5 for r in new)
    assert all(c["x"] >= 0.5 for c, _ in resumed.engine.searcher.history)


def test_a_bad_space_names_the_field_and_changes_nothing(tmp_path):
    study = Study.create(load_spec(study_file(tmp_path)), tmp_path / "s")
    study._release_lock()
    with pytest.raises(InputError) as caught:
        study.change_space({"x": {"type": "float", "low": 1.0, "high": 0.0}}, "edit")
    assert caught.value.field.startswith("params.x")
    assert len(space_lines(tmp_path / "s")) == 1 and study.log.space_version == 1


def test_a_journal_from_before_space_versions_reads_its_snapshot_as_version_1(tmp_path):
    Study.create(load_spec(study_file(tmp_path)), tmp_path / "s")._release_lock()
    journal = tmp_path / "s" / "journal.jsonl"
    journal.write_text("".join(line + "\n" for line in journal.read_text().splitlines() if '"space"' not in line))
    study = Study.open(tmp_path / "s")
    assert [(v.version, v.reason, v.params["x"]["high"]) for v in study.log.spaces] == [(1, "created", 1.0)]
    assert study.change_space(NARROW, "edit") == ["x: low 0 -> 0.5"]
    assert [r["version"] for r in space_lines(tmp_path / "s")] == [2]


def test_run_resume_with_a_changed_file_goes_on_over_its_space_and_analyze_uses_the_trials_that_fit(tmp_path):
    path = study_file(tmp_path, trials=6)
    assert run_cli("run", path, "--study", tmp_path / "s").returncode == 0
    path.write_text(path.read_text().replace("low: 0.0", "low: 0.5"))
    result = run_cli("run", path, "--resume", "--study", tmp_path / "s", "--trials", "16")
    assert result.returncode == 0, result.stderr
    assert "space version 2 (study file): x: low 0 -> 0.5" in result.stdout
    assert [(v["version"], v["reason"]) for v in space_lines(tmp_path / "s")] == [(1, "created"), (2, "study file")]
    started = [r for r in read_journal(tmp_path / "s" / "journal.jsonl") if type(r).__name__ == "Started"]
    assert [r.space for r in started] == [1] * 6 + [2] * 10
    assert all(r.params["x"] >= 0.5 for r in started[6:])
    again = run_cli("run", path, "--resume", "--study", tmp_path / "s", "--trials", "16")
    assert "space version" not in again.stdout and len(space_lines(tmp_path / "s")) == 2

    outside = sum(r.params["x"] < 0.5 for r in started)
    analyzed = run_cli("analyze", tmp_path / "s")
    assert analyzed.returncode == 0, analyzed.stderr
    assert f"{outside} finished trials left out: their params do not fit the study's space" in analyzed.stdout
    assert run_cli("trials", tmp_path / "s").returncode == 0


@pytest.mark.parametrize("record, problem", [
    ({"version": 0, "params": NARROW, "reason": "edit"}, "whose version is 0, not a whole number >= 1"),
    ({"version": 2, "params": {"x": 1}, "reason": "edit"}, "whose params is {'x': 1}, not a params mapping"),
    ({"version": 2, "params": NARROW, "reason": "whim"}, "whose reason is 'whim', not one of created, edit"),
    ({"version": 2, "params": NARROW}, "has a space record without reason"),
])
def test_a_damaged_space_record_is_named_by_what_is_wrong(record, problem):
    from tui_tuner.storage.schema import record_problem

    assert problem in record_problem({"event": "space", **record})
    assert record_problem({"event": "space", "version": 2, "params": NARROW, "reason": "edit", "changes": []}) is None
