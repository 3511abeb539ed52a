"""The journal is the record: a line that cannot come where it stands (a trial finished twice, a second study
record, a line nested 200,000 deep) is named by every reader the same way, `repair` moves it aside, and a
checkpoint cannot say anything the journal does not."""

import json
import os
import pickle
import re
from pathlib import Path

import pytest

from tui_tuner.app import open_target
from tui_tuner.cli import main
from tui_tuner.errors import InputError
from tui_tuner.records import Finished, Reported, Started
from tui_tuner.spec import load_spec
from tui_tuner.storage import CHECKPOINT_NAME, JOURNAL_NAME, REJECTED_NAME, Journal, StudyLog, read_journal
from tui_tuner.study import Study

STUDY = """
name: order
objective: {python: "train.py:objective", metric: loss, direction: minimize}
search: {strategy: random, trials: %d, workers: 1, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
"""


@pytest.fixture(autouse=True)
def own_state(tmp_path, monkeypatch):
    """The checkpoint key of these tests lives in their own state directory, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def make_study(tmp_path: Path, trials: int = 4, budget: int = 5) -> Path:
    """A study of `trials` finished trials (trial n: x = loss = n / 10; trial 0 the best), its journal as the
    study writes it."""
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['x']\n")
    (tmp_path / "study.yaml").write_text(STUDY % budget)
    study = Study.create(load_spec(tmp_path / "study.yaml"), tmp_path / "s")
    study._journal.close()
    study._release_lock()
    with Journal(study.directory / JOURNAL_NAME) as journal:
        for n in range(trials):
            journal.append(Started(n, {"x": n / 10}, n, time=1.0))
            journal.append(Reported(n, 0, {"loss": n / 10}, time=1.0))
            journal.append(Finished(n, n / 10, {"loss": n / 10}, 0.1, time=1.0))
    return study.directory


def lines(directory: Path) -> list[str]:
    return (directory / JOURNAL_NAME).read_text().splitlines()


def write_lines(directory: Path, text: list[str]) -> None:
    (directory / JOURNAL_NAME).write_text("".join(line + "\n" for line in text))


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def refused_by_every_reader(capsys, directory: Path, line: int, problem: str) -> None:
    """run --resume, analyze, trials, compare, the app and a follower all name the line, exit 2, one line."""
    for args in (["run", directory.parent / "study.yaml", "--resume", "--study", directory],
                 ["analyze", directory], ["trials", directory], ["compare", directory, directory]):
        code, out, err = cli(capsys, *args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert f"line {line} {problem}" in err and f"tui-tuner repair {directory}" in err, err
    with pytest.raises(InputError, match=re.escape(f"line {line} {problem}")):
        open_target(str(directory))


def repaired(capsys, directory: Path, moved: list[int]) -> None:
    """`repair` moves exactly the `moved` lines aside, and every reader then takes the journal."""
    before = lines(directory)
    code, out, err = cli(capsys, "repair", directory)
    assert code == 0 and err == "" and f"moved {len(moved)} bad line(s) ({', '.join(map(str, moved))})" in out
    assert (directory / REJECTED_NAME).read_text().splitlines() == [before[n - 1] for n in moved]
    assert lines(directory) == [line for n, line in enumerate(before, start=1) if n not in moved]
    assert cli(capsys, "trials", directory)[0] == 0


# ------------------------------------------------------------------------------ lines against those before them

def finished(number, value):
    return json.dumps({"event": "finished", "number": number, "value": value, "metrics": {"loss": value},
                       "duration": 0.1})


SETTINGS = {"strategy": "random", "strategy_options": {}, "seed": 0, "trials": 5, "workers": 1}
OUT_OF_PLACE = {  # name -> (the line appended to a study of four finished trials, what its line is called)
    "a second finished": (finished(0, -99999.0), "finishes trial 0, which is not running (it finished)"),
    "a second study record": (json.dumps({"event": "study", "name": "order", "direction": "maximize"}),
                              "has a second study record"),
    "a negative timeout": (json.dumps({"event": "settings", "settings": {**SETTINGS, "trial_timeout": -5}}),
                           "has a settings record whose settings.trial_timeout is -5, not a positive number"),
    "no workers": (json.dumps({"event": "settings", "settings": {**SETTINGS, "workers": 0}}),
                   "has a settings record whose settings.workers is 0, not a whole number >= 1"),
    "a finished trial started again": (json.dumps({"event": "started", "number": 1, "params": {"x": 0.9},
                                                   "seed": 1}), "starts trial 1 again after it finished"),
    "a report after the end": (json.dumps({"event": "reported", "number": 2, "step": 5, "values": {"loss": 0}}),
                               "reports trial 2, which is not running (it finished)"),
    "an end of a trial never started": (json.dumps({"event": "failed", "number": 9, "reason": "x"}),
                                        "fails trial 9, which never started"),
}


@pytest.mark.parametrize("name", OUT_OF_PLACE)
def test_a_line_out_of_place_is_named_by_every_reader_and_repair_moves_it_aside(tmp_path, capsys, name):
    line, problem = OUT_OF_PLACE[name]
    directory = make_study(tmp_path)
    write_lines(directory, [*lines(directory), line])
    refused_by_every_reader(capsys, directory, 15, problem)
    repaired(capsys, directory, [15])
    log = Study.open(directory).log
    assert log.best().number == 0 and log.best().value == 0.0 and log.direction == "minimize"


def test_reordered_lines_are_named_and_the_trial_is_not_rerun_silently(tmp_path, capsys):
    directory = make_study(tmp_path)
    text = lines(directory)
    text[5], text[7] = text[7], text[5]  # trial 1's finished line ahead of its started line
    write_lines(directory, text)
    refused_by_every_reader(capsys, directory, 6, "finishes trial 1, which never started")


def test_a_study_record_after_other_records_is_named(tmp_path, capsys):
    directory = make_study(tmp_path)
    text = lines(directory)
    write_lines(directory, [text[2], *text[:2], *text[3:]])
    refused_by_every_reader(capsys, directory, 2, "has a study record after other records")


def test_the_order_carries_across_the_scans_of_a_follower(tmp_path):
    """A reader following another process's appends sees the same verdict a fresh reader does."""
    directory = make_study(tmp_path, trials=1)
    follower = Study.open(directory)
    append = [json.dumps({"event": "started", "number": 1, "params": {"x": 0.5}, "seed": 1})]
    write_lines(directory, [*lines(directory), *append])
    assert len(follower.catch_up()) == 1
    write_lines(directory, [*lines(directory), finished(1, 0.5)])  # its end, in a later scan: sound
    assert len(follower.catch_up()) == 1 and follower.log.records[1].state == "finished"
    write_lines(directory, [*lines(directory), finished(1, -1.0)])
    with pytest.raises(InputError, match="line 8 finishes trial 1, which is not running"):
        follower.catch_up()
    with pytest.raises(InputError, match="line 8 finishes trial 1, which is not running"):
        follower.catch_up()  # and again: a refused scan leaves the follower where it was
    assert follower.log.records[1].value == 0.5


def test_an_interrupted_trial_runs_again_and_the_resume_finishes_the_study(tmp_path, capsys):
    directory = make_study(tmp_path, trials=2, budget=3)
    write_lines(directory, [*lines(directory),
                            json.dumps({"event": "started", "number": 2, "params": {"x": 0.7}, "seed": 2}),
                            json.dumps({"event": "interrupted", "number": 2}),
                            json.dumps({"event": "started", "number": 2, "params": {"x": 0.7}, "seed": 2})])
    code, out, err = cli(capsys, "run", tmp_path / "study.yaml", "--resume", "--study", directory)
    assert code == 0, err
    log = StudyLog.replay(read_journal(directory / JOURNAL_NAME))
    assert sorted(r.number for r in log.finished()) == [0, 1, 2]


# --------------------------------------------------------------------------------- lines no parser should meet

HOSTILE = {
    "nested 200,000 deep": ("[" * 200_000 + "]" * 200_000, "is not a journal record (nested deeper than 64)"),
    "nested 100 deep in params": (
        '{"event": "started", "number": 4, "params": {"x": ' + "[" * 100 + "]" * 100 + '}, "seed": 4}',
        "is not a journal record (nested deeper than 64)"),
    "a 17 MB line": ('{"event": "note", "number": null, "text": "' + "x" * (17 << 20) + '"}',
                     "is not a journal record (longer than 16,777,216 bytes)"),
    "1e999": (finished(4, "1e999").replace('"1e999"', "1e999"), "is not a journal record (the number 1e999"),
    "a 5,000-digit integer": (finished(4, "N").replace('"N"', "9" * 5000), "is not a journal record"),
    "a 400-digit integer": (finished(4, "N").replace('"N"', "9" * 400), "is not a journal record (the number 9999"),
    "NaN": (finished(4, "N").replace('"N"', "NaN"), "is not a journal record (NaN is no JSON number)"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_line_no_parser_should_meet_is_named_and_repair_survives_it(tmp_path, capsys, name):
    line, problem = HOSTILE[name]
    directory = make_study(tmp_path)
    text = lines(directory)
    write_lines(directory, [*text[:-1], line, text[-1]])  # ahead of the last trial's end
    refused_by_every_reader(capsys, directory, 14, problem)
    repaired(capsys, directory, [14])


# ----------------------------------------------------------------------------------- a checkpoint cannot lie

@pytest.fixture
def checkpointed(tmp_path, monkeypatch):
    from tui_tuner import study as study_module
    monkeypatch.setattr(study_module, "CHECKPOINT_EVERY", 10)
    directory = make_study(tmp_path, trials=8, budget=9)
    Study.open(directory, write=True)._release_lock()
    assert (directory / CHECKPOINT_NAME).is_file()
    return directory


def test_a_forged_checkpoint_with_invented_trials_is_not_believed(checkpointed, tmp_path, capsys):
    import hashlib

    from tui_tuner.storage import checkpoint as module

    data = (checkpointed / CHECKPOINT_NAME).read_bytes()
    head = len(module.MAGIC) + module._HEAD.size
    offset, next_line, _ = module._HEAD.unpack_from(data, len(module.MAGIC))
    state = pickle.loads(data[head:])
    state["records"][3].value = -99999.0  # an invented best, its digest recomputed with a key of the forger's
    payload = pickle.dumps(state, protocol=5)
    digest = hashlib.sha256((checkpointed / JOURNAL_NAME).read_bytes()[:offset]).digest()
    mac = module._mac(b"forger's key".ljust(32), offset, next_line, payload)
    mac.update(digest)
    (checkpointed / CHECKPOINT_NAME).write_bytes(module.MAGIC + module._HEAD.pack(offset, next_line, mac.digest())
                                                 + payload)
    assert Study.open(checkpointed).log.best().value == 0.0
    code, out, err = cli(capsys, "run", tmp_path / "study.yaml", "--resume", "--study", checkpointed)
    assert code == 0 and "-99999" not in out, err
    assert Study.open(checkpointed).log.best().value == 0.0  # the checkpoint the resume wrote is the journal's


def test_a_checkpoint_made_under_another_key_is_a_miss(checkpointed, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(checkpointed.parent / "another"))
    assert Study.open(checkpointed).log.count("finished") == 8


def test_the_key_is_the_users_alone(checkpointed, tmp_path):
    key = tmp_path / "state" / "tui-tuner" / "checkpoint.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32


@pytest.mark.parametrize("kind", ["12 bytes asking for a bytearray of 2**63 - 1",
                                  "12 bytes asking for bytes of as many", "a symlink to /dev/zero", "a fifo",
                                  "a symlink to the journal"])
def test_a_checkpoint_that_cannot_be_read_falls_back_to_the_journal_and_the_resume_finishes(checkpointed, tmp_path,
                                                                                            capsys, kind):
    path = checkpointed / CHECKPOINT_NAME
    path.unlink()
    if kind.startswith("12 bytes"):  # pickle's BYTEARRAY8 raised MemoryError, BINBYTES8 OverflowError
        path.write_bytes(b"\x80\x05" + (b"\x96" if "bytearray" in kind else b"\x8e") + b"\xff" * 7 + b"\x7f.")
    elif kind == "a fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if kind == "a symlink to /dev/zero" else checkpointed / JOURNAL_NAME)
    assert Study.open(checkpointed).log.count("finished") == 8
    code, out, err = cli(capsys, "run", tmp_path / "study.yaml", "--resume", "--study", checkpointed)
    assert code == 0 and "Traceback" not in err, err
    assert StudyLog.replay(read_journal(checkpointed / JOURNAL_NAME)).count("finished") == 9
    assert path.is_file() and not path.is_symlink()  # the resume wrote a sound one in its place


def test_a_journal_that_is_a_symlink_out_of_the_directory_is_neither_read_nor_appended_to(tmp_path, capsys):
    directory = make_study(tmp_path)
    outside = tmp_path / "elsewhere.jsonl"
    (directory / JOURNAL_NAME).rename(outside)
    (directory / JOURNAL_NAME).symlink_to(outside)
    before = outside.read_bytes()
    for args in (["run", tmp_path / "study.yaml", "--resume", "--study", directory], ["trials", directory]):
        code, out, err = cli(capsys, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "is a symlink, not a journal" in err, err
    with pytest.raises(OSError):
        Journal(directory / JOURNAL_NAME)
    assert outside.read_bytes() == before


def test_a_line_after_the_checkpoint_is_checked_against_the_trials_it_holds(checkpointed, tmp_path, capsys):
    write_lines(checkpointed, [*lines(checkpointed), finished(0, -99999.0)])
    refused_by_every_reader(capsys, checkpointed, 27, "finishes trial 0, which is not running (it finished)")
