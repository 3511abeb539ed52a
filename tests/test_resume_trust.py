"""`run FILE --resume --study DIR` runs FILE's objective, never code the directory names: a study directory
someone else prepared (an edited snapshot, a journal whose base_dir points elsewhere) is refused in one line,
and `--objective-changed` goes on with FILE's objective. The readers (analyze, trials, compare) run nothing."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "tui_tuner.cli"]
TRAIN = "def objective(params, trial):\n    return params['x'] ** 2\n"
EVIL = """\
import os
open(os.path.join({folder!r}, "MARKER"), "w").close()


def objective(params, trial):
    return 0.0
"""


def run_cli(*args, cwd):
    p = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def assert_one_line(code, err, expected=2):
    assert code == expected, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("tui-tuner: "), err


@pytest.fixture
def made(tmp_path):
    """A study file naming train.py, its study directory with 2 finished trials, and evil.py (and
    other/train.py) beside them, which leave MARKER in tmp_path when imported."""
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "evil.py").write_text(EVIL.format(folder=str(tmp_path)))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "train.py").write_text(EVIL.format(folder=str(tmp_path)))
    path = tmp_path / "study.yaml"
    path.write_text("name: t\nobjective: {python: 'train.py:objective'}\n"
                    "search: {strategy: random, trials: 2, workers: 1}\n"
                    "params:\n  x: {type: float, low: -1.0, high: 1.0}\n")
    code, _, err = run_cli("run", path, "--study", "s", cwd=tmp_path)
    assert code == 0, err
    return path, tmp_path / "s"


def finished(directory: Path) -> list[int]:
    lines = [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()]
    return [r["number"] for r in lines if r["event"] == "finished"]


def edit_snapshot(directory: Path) -> None:
    snapshot = directory / "study.yaml"
    snapshot.write_text(snapshot.read_text().replace("train.py", "evil.py"))


def edit_base_dir(directory: Path) -> None:
    journal = directory / "journal.jsonl"
    first, rest = journal.read_text().split("\n", 1)
    header = json.loads(first)
    header["base_dir"] = str(Path(header["base_dir"]) / "other")
    journal.write_text(json.dumps(header) + "\n" + rest)


def old_journal(directory: Path) -> None:
    """A journal written before the study record kept its objective's code."""
    journal = directory / "journal.jsonl"
    first, rest = journal.read_text().split("\n", 1)
    header = json.loads(first)
    del header["objective"]
    journal.write_text(json.dumps(header) + "\n" + rest)


@pytest.mark.parametrize("tamper", [edit_snapshot,
                                    lambda d: (old_journal(d), edit_snapshot(d)),
                                    lambda d: (old_journal(d), edit_base_dir(d))],
                         ids=["snapshot", "old-journal-snapshot", "old-journal-base_dir"])
def test_a_tampered_directory_is_refused_in_one_line_and_runs_none_of_its_code(made, tamper):
    path, directory = made
    tamper(directory)
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "4", cwd=path.parent)
    assert_one_line(code, err)
    assert "is not the objective the study in" in err and "--objective-changed" in err
    assert not (path.parent / "MARKER").exists() and finished(directory) == [0, 1]
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "4", "--objective-changed",
                           cwd=path.parent)
    assert code == 0, err
    assert not (path.parent / "MARKER").exists() and finished(directory) == [0, 1, 2, 3]
    # what ran is recorded: the next resume with the same file goes on without the flag
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "5", cwd=path.parent)
    assert code == 0, err
    assert not (path.parent / "MARKER").exists() and finished(directory) == [0, 1, 2, 3, 4]


def test_a_base_dir_pointing_elsewhere_runs_the_files_code_which_the_study_recorded(made):
    """The study record keeps a digest of the code: the file's code, the same as ran, runs from the file's
    folder; the folder the journal names (where other code waits) is never read, and the record follows."""
    path, directory = made
    edit_base_dir(directory)
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "3", cwd=path.parent)
    assert code == 0, err
    assert not (path.parent / "MARKER").exists() and finished(directory) == [0, 1, 2]
    last = [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines()
            if '"event": "objective"' in line][-1]
    assert last["base_dir"] == str(path.parent.resolve())


def test_a_project_folder_moved_whole_resumes_without_the_flag(made, tmp_path):
    path, directory = made
    moved = tmp_path / "moved"
    shutil.copytree(path.parent, moved, ignore=shutil.ignore_patterns("moved"))
    code, _, err = run_cli("run", moved / path.name, "--resume", "--study", moved / directory.relative_to(path.parent),
                           "--trials", "3", cwd=moved)
    assert code == 0, err
    assert finished(moved / directory.relative_to(path.parent)) == [0, 1, 2]


def test_a_resume_with_the_same_file_goes_on_and_one_naming_other_code_is_refused(made):
    path, directory = made
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "3", cwd=path.parent)
    assert code == 0, err
    assert finished(directory) == [0, 1, 2]
    path.write_text(path.read_text().replace("train.py", "evil.py"))
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "4", cwd=path.parent)
    assert_one_line(code, err)
    assert "its objective section is not this file's" in err and "train.py:objective" in err
    assert finished(directory) == [0, 1, 2]


def test_code_changed_since_the_study_ran_needs_the_flag(made):
    path, directory = made
    (path.parent / "train.py").write_text(TRAIN.replace("** 2", "** 2 + 1"))
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "3", cwd=path.parent)
    assert_one_line(code, err)
    assert "its code changed since it ran (train.py)" in err
    code, _, err = run_cli("run", path, "--resume", "--study", directory, "--trials", "3", "--objective-changed",
                           cwd=path.parent)
    assert code == 0, err
    assert finished(directory) == [0, 1, 2]


def test_the_readers_run_nothing_a_tampered_directory_names(made):
    path, directory = made
    edit_snapshot(directory)
    edit_base_dir(directory)
    for args in (["analyze", directory], ["analyze", directory, "--json"], ["trials", directory],
                 ["compare", directory, directory], ["repair", directory]):
        code, _, err = run_cli(*args, cwd=path.parent)
        assert code == 0 and "Traceback" not in err, (args, err)
    assert not (path.parent / "MARKER").exists()


async def test_the_app_shows_the_code_a_study_directory_names_before_it_runs_it(made, monkeypatch):
    from tui_tuner.app import open_target
    from tui_tuner.app.app import TunerApp
    from tui_tuner.app.screens.prompt import Confirm

    path, directory = made
    monkeypatch.chdir(path.parent)
    edit_snapshot(directory)
    app = TunerApp(*open_target(str(directory)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert isinstance(app.screen, Confirm)
        assert f"the Python function evil.py:objective in {path.parent}" in app.screen.question
        await pilot.press("n")
        await pilot.pause(0.5)
        assert not app.session.running and finished(directory) == [0, 1]
        assert not (path.parent / "MARKER").exists()


def test_objective_changed_without_resume_is_a_usage_error(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "study.yaml"
    path.write_text("objective: {python: 'train.py:objective'}\nparams: {x: {type: float, low: 0.0, high: 1.0}}\n")
    code, _, err = run_cli("run", path, "--objective-changed", "--study", "s", cwd=tmp_path)
    assert_one_line(code, err)
    assert "--objective-changed: goes with --resume" in err and not (tmp_path / "s").exists()
