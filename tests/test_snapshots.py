"""Snapshots of the main states at 120x40 and 80x24 (pytest-textual-snapshot; update with --snapshot-update).

The study directory here is written from fixed events, so the screens do not depend on timing."""

import textwrap

import pytest
from textual.widgets import Input

from tui_tuner.app import open_target
from tui_tuner.app.app import TunerApp
from tui_tuner.spec import load_spec
from tui_tuner.records import Failed, Finished, Reported, Started
from tui_tuner.storage import JOURNAL_NAME, Journal
from tui_tuner.study import Study

STUDY = """\
name: snapshot
objective: {python: "train.py:objective", metric: val_loss, direction: minimize}
search: {strategy: random, trials: 8, workers: 2, seed: 0}
params:
  lr: {type: float, low: 0.001, high: 1.0, log: true}
  optimizer: {type: categorical, choices: [sgd, adam]}
  momentum: {type: float, low: 0.0, high: 0.99, when: {optimizer: sgd}}
"""


@pytest.fixture
def study_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(STUDY))
    return path


@pytest.fixture
def study_dir(study_path):
    """A study with five trials: finished ones with epoch reports, one failed, one still running."""
    study = Study.create(load_spec(study_path), "run")
    trials = [(0.01, "adam", None, 0.42), (0.1, "sgd", 0.9, 0.31), (0.5, "sgd", 0.5, None), (0.03, "adam", None, 0.37),
              (0.2, "sgd", 0.0, "running")]
    with Journal(study.directory / JOURNAL_NAME) as journal:
        for number, (lr, optimizer, momentum, value) in enumerate(trials):
            params = {"lr": lr, "optimizer": optimizer, **({"momentum": momentum} if momentum is not None else {})}
            journal.append(Started(number, params, number, time=0))
            for epoch in range(6):
                journal.append(Reported(number, epoch, {"loss": 1.0 / (epoch + 1) + lr,
                                                        "val_loss": 1.1 / (epoch + 1) + lr, "lr": lr * 0.8 ** epoch}))
            if value is None:
                journal.append(Failed(number, "FloatingPointError: loss diverged", 1.5, time=None))
            elif value != "running":
                journal.append(Finished(number, value, {}, 2.0 + number, time=None))
    return "run"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_a_study_file_before_it_runs(snap_compare, study_path, size):
    document, _ = open_target(str(study_path))
    assert snap_compare(TunerApp(document), terminal_size=size)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_a_study_directory_with_trials(snap_compare, study_dir, size):
    document, study = open_target(study_dir)
    assert snap_compare(TunerApp(document, study), terminal_size=size, press=["tab", "tab"])


def test_the_help_screen(snap_compare, study_path):
    document, _ = open_target(str(study_path))
    assert snap_compare(TunerApp(document), terminal_size=(120, 40), press=["question_mark"])


def test_the_parameter_form_with_an_inline_error(snap_compare, study_path):
    document, _ = open_target(str(study_path))

    async def break_it(pilot):
        await pilot.press("enter")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the picture depend on timing
        pilot.app.screen.query_one("#low").value = "2"
        await pilot.pause()

    assert snap_compare(TunerApp(document), terminal_size=(120, 40), run_before=break_it)
