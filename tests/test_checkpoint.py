"""A long study opens from its checkpoint, and the checkpoint never changes what the journal says: the log it
gives is the one a full replay gives, and a checkpoint that does not match the journal is ignored."""

import pickle
from pathlib import Path

import pytest

from tui_tuner import study as study_module
from tui_tuner.records import Finished, Reported, Started
from tui_tuner.spec import load_spec
from tui_tuner.storage import CHECKPOINT_NAME, JOURNAL_NAME, Journal, StudyLog, read_journal
from tui_tuner.study import Study

STUDY = """
name: checkpoint
objective: {python: "train.py:objective", metric: loss, direction: minimize}
search: {strategy: random, trials: 100, workers: 1, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch, tmp_path):
    monkeypatch.setattr(study_module, "CHECKPOINT_EVERY", 10)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the checkpoint key of these tests alone


def make_study(tmp_path: Path, trials: int) -> Path:
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['x']\n")
    (tmp_path / "study.yaml").write_text(STUDY)
    study = Study.create(load_spec(tmp_path / "study.yaml"), tmp_path / "run")
    study._journal.close()
    study._release_lock()
    append_trials(study.directory, range(trials))
    return study.directory


def append_trials(directory: Path, numbers) -> None:
    with Journal(directory / JOURNAL_NAME) as journal:
        for n in numbers:
            x = ((n * 37) % 101) / 101
            journal.append(Started(n, {"x": x}, n, time=float(n)))
            journal.append(Reported(n, 0, {"loss": x + 1}, time=float(n)))
            journal.append(Finished(n, x, {"loss": x}, 0.1, time=float(n)))


def summary(log: StudyLog) -> list:
    return [(r.number, r.state, r.value, r.params, r.reports, r.ended) for r in
            sorted(log.records.values(), key=lambda r: r.number)] + [
        log.best().number, log.count("finished"), [s.version for s in log.spaces]]


def test_the_writer_checkpoints_a_long_journal_and_a_reader_gets_the_same_trials_from_it(tmp_path):
    directory = make_study(tmp_path, 20)
    Study.open(directory, write=True)._release_lock()
    assert (directory / CHECKPOINT_NAME).is_file()
    opened = Study.open(directory)
    replayed = StudyLog.replay(read_journal(directory / JOURNAL_NAME))
    replayed.spaces = opened.log.spaces  # the study adds version 1 of the space when the journal has none
    assert summary(opened.log) == summary(replayed)
    assert opened.log.best().number == 0  # x = 0 at trial 0


def test_lines_after_the_checkpoint_are_replayed_on_top_of_it(tmp_path):
    directory = make_study(tmp_path, 20)
    Study.open(directory, write=True)._release_lock()
    append_trials(directory, range(20, 25))
    opened = Study.open(directory)
    assert len(opened.log.records) == 25
    assert [r.value for r in opened.log.ranked()] == [r.value for r in
                                                      StudyLog.replay(read_journal(directory / JOURNAL_NAME)).ranked()]
    assert opened.catch_up() == []  # where it has read to is right: nothing is read twice


def test_a_checkpoint_that_does_not_match_the_journal_is_ignored(tmp_path):
    directory = make_study(tmp_path, 20)
    Study.open(directory, write=True)._release_lock()
    journal = directory / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-30]))  # ten trials fewer than the checkpoint holds (as a repair might)
    assert len(Study.open(directory).log.records) == 10


def test_a_line_changed_inside_what_the_checkpoint_covers_voids_it(tmp_path):
    directory = make_study(tmp_path, 20)
    Study.open(directory, write=True)._release_lock()
    journal = directory / JOURNAL_NAME
    text = journal.read_text()
    journal.write_text(text.replace('"value": 0.0,', '"value": 0.5,', 1))  # trial 0 edited by hand
    assert Study.open(directory).log.records[0].value == 0.5


def test_a_checkpoint_holding_anything_but_records_is_never_unpickled(tmp_path):
    directory = make_study(tmp_path, 20)
    Study.open(directory, write=True)._release_lock()
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (directory / CHECKPOINT_NAME).write_bytes(pickle.dumps(({"format": 2}, Evil())))
    assert len(Study.open(directory).log.records) == 20
    assert not marker.exists()
