"""The trials table as a user meets it: `tui-tuner trials` and `tui_tuner.load_study` on study directories
made by the real engine, with finished, failed, pruned, manual, running and interrupted trials and notes."""

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tui_tuner import load_study
from tui_tuner.cli import main
from tui_tuner.errors import InputError
from tui_tuner.records import Failed, Finished, Started, StudyHeader
from tui_tuner.spec import load_spec
from tui_tuner.storage import JOURNAL_NAME, StudyLocked, StudyLog, read_journal
from tui_tuner.study import Study
from tui_tuner.analysis.table import flat_row, table_columns, trial_row

TESTS = Path(__file__).parent

STUDY = """
name: table-test
objective:
  python: "table_objectives:by_kind"
  metric: loss
  direction: minimize
search: {strategy: random, trials: 1, workers: 1, seed: 0}
params:
  x: {type: float, low: 0.0, high: 1.0}
  kind: {type: categorical, choices: [ok, fail, prune, wait]}
  gate: {type: categorical, choices: ["%s"]}
"""


@pytest.fixture(autouse=True)
def importable_tests(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.chdir(tmp_path)


def new_study(tmp_path, name="s"):
    (tmp_path / "study.yaml").write_text(STUDY % (tmp_path / "gate"))
    return Study.create(load_spec(tmp_path / "study.yaml"), tmp_path / name)


def config(kind, x=0.5):
    return {"x": x, "kind": kind, "gate": str(Path.cwd() / "gate")}


@pytest.fixture
def ended_study(tmp_path):
    """Trials 0-3 run by hand (ok x=0.25, fail, prune, ok x=0.9), one searched trial after them; notes."""
    study = new_study(tmp_path)
    (tmp_path / "gate").touch()  # a searched trial of kind "wait" ends at once
    manual = [(config("ok", 0.25), None), (config("fail"), None), (config("prune"), None), (config("ok", 0.9), None)]
    asyncio.run(study.run(manual=manual))
    study.note("lr too high here", number=1)
    study.note("first note, replaced", number=3)
    study.note("x near 0.9 is slow", number=3)
    study.note("the study as a whole")
    return study.directory


def cli(capsys, *args):
    code = main(["trials", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_trial_is_a_row_whatever_its_end(ended_study, capsys):
    code, out, err = cli(capsys, ended_study, "--format", "jsonl")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["state"] for r in rows[:4]] == ["finished", "failed", "pruned", "finished"]
    ok, failed, pruned, slow = rows[:4]

    assert ok["value"] == pytest.approx(0.05 ** 2) and ok["metric_loss"] == ok["value"]
    assert ok["metric_fit_time"] == pytest.approx(0.75)
    assert (ok["params_x"], ok["params_kind"]) == (0.25, "ok")
    assert ok["manual"] is True and rows[4]["manual"] is False
    assert ok["proposer"] == "manual" and rows[4]["proposer"] == "random"  # what proposed each trial
    assert ok["fail_reason"] is None and ok["pruned_step"] is None

    assert failed["value"] is None and "boom: the data loader broke" in failed["fail_reason"]
    assert pruned["value"] is None and pruned["pruned_step"] == 1 and pruned["fail_reason"] is None

    for row in rows:
        start = datetime.fromisoformat(row["datetime_start"])
        end = datetime.fromisoformat(row["datetime_complete"])
        assert start.utcoffset().total_seconds() == 0 and start <= end
        assert row["duration"] >= 0 and isinstance(row["seed"], int)
    assert [r["note"] for r in rows] == [None, "lr too high here", None, "x near 0.9 is slow", None]


def test_the_space_column_says_which_version_of_the_search_space_each_trial_was_drawn_from(ended_study, capsys):
    with open(ended_study / JOURNAL_NAME, "a") as f:  # a trial of a later space; the earlier ones predate versions
        f.write('{"event": "started", "number": 5, "params": {"x": 0.5, "kind": "ok"}, "seed": 5, "manual": false, '
                '"predicted": null, "time": 1.0, "proposer": "imported", "space": 2}\n')
    code, out, _ = cli(capsys, ended_study, "--format", "csv")
    header, *rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and header[header.index("proposer") + 1] == "space"
    cells = [dict(zip(header, row)) for row in rows]
    assert [c["space"] for c in cells] == ["1"] * 5 + ["2"] and cells[5]["proposer"] == "imported"


def test_the_command_line_prints_a_table_a_csv_reader_takes(ended_study):
    result = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "trials", str(ended_study)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["state"] for r in rows][:3] == ["finished", "failed", "pruned"] and rows[3]["note"]


def test_csv_is_the_default_and_json_holds_the_same_rows(ended_study, capsys):
    _, out_csv, _ = cli(capsys, ended_study)
    _, out_json, _ = cli(capsys, ended_study, "--format", "json")
    _, out_jsonl, _ = cli(capsys, ended_study, "--format", "jsonl")
    as_json = json.loads(out_json)
    assert as_json == [json.loads(line) for line in out_jsonl.splitlines()]
    from_csv = list(csv.DictReader(io.StringIO(out_csv)))
    assert list(from_csv[0]) == list(as_json[0])  # the same columns in the same order
    for text_row, row in zip(from_csv, as_json, strict=True):
        for column, value in row.items():
            if value is None:
                assert text_row[column] == ""
            elif isinstance(value, float):
                assert float(text_row[column]) == value  # no digit lost
            else:
                assert text_row[column] == str(value)
    assert list(as_json[0])[:3] == ["number", "state", "value"]


def test_output_file_is_written_atomically_and_a_bad_path_is_one_line(ended_study, tmp_path, capsys, monkeypatch):
    target = tmp_path / "out" / "trials.csv"
    code, out, _ = cli(capsys, ended_study, "-o", target)
    assert code == 0 and out.strip() == f"5 trials written to {target}"
    assert len(list(csv.DictReader(target.open()))) == 5

    import tui_tuner.analysis.table as table

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(table, "write_rows", crash)
    with pytest.raises(OSError):
        load_study(ended_study).save(target, "json")
    assert len(list(csv.DictReader(target.open()))) == 5  # the old table, whole
    assert [p.name for p in target.parent.iterdir()] == ["trials.csv"]  # no temporary file left

    code, _, err = cli(capsys, ended_study, "-o", tmp_path)
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err
    journal = (ended_study / JOURNAL_NAME).read_bytes()
    code, _, err = cli(capsys, ended_study, "-o", ended_study / JOURNAL_NAME)
    assert code == 2 and "is a file of the study directory" in err
    assert (ended_study / JOURNAL_NAME).read_bytes() == journal


@pytest.mark.parametrize("args, fragment", [
    (["missing"], "missing: no such directory"),
    (["."], "not a study directory (no journal.jsonl)"),
    (["s", "--format", "xml"], "invalid choice: 'xml'"),
    ([], "the following arguments are required: STUDY_DIR"),
])
def test_bad_input_is_one_line_and_exit_2(ended_study, capsys, args, fragment):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_a_damaged_journal_is_named_by_line(ended_study, capsys):
    with open(ended_study / JOURNAL_NAME, "a") as f:
        f.write('{"event": "finished", "number": 0, "value": "high"}\n')
    code, _, err = cli(capsys, ended_study)
    assert code == 2 and "journal.jsonl:" in err and "value is 'high'" in err and "tui-tuner repair" in err


def test_load_study_gives_the_same_rows_typed_and_the_best(ended_study, capsys):
    study = load_study(ended_study)
    _, out, _ = cli(capsys, ended_study, "--format", "json")
    assert list(study.rows()) == json.loads(out)
    assert study.metric == "loss" and study.direction == "minimize" and study.name == "table-test"
    assert study.params == ["gate", "kind", "x"]
    finished = [t for t in study.trials if t.state == "finished"]
    assert study.best.value == min(t.value for t in finished) <= 0.0025  # trial 0's, unless the search beat it
    assert study.note == "the study as a whole"
    assert [t.state for t in study.trials][:3] == ["finished", "failed", "pruned"]


def test_to_pandas(ended_study):
    pd = pytest.importorskip("pandas")
    frame = load_study(ended_study).to_pandas()
    assert len(frame) == 5 and frame["number"].tolist() == [0, 1, 2, 3, 4]
    assert "UTC" in str(frame["datetime_start"].dtype) and "UTC" in str(frame["datetime_complete"].dtype)
    assert (frame["datetime_complete"] >= frame["datetime_start"]).all()
    assert frame.loc[0, "value"] == pytest.approx(0.0025) and frame.loc[0, "params_kind"] == "ok"
    assert pd.isna(frame.loc[1, "value"]) and frame.loc[2, "pruned_step"] == 1


def test_load_study_needs_no_pandas_until_asked_for_a_frame(ended_study):
    code = (f"import sys, tui_tuner; s = tui_tuner.load_study({str(ended_study)!r}); print(repr(s)); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    last = load_study(ended_study).trials[4].state  # the searched trial: whatever kind the seed drew
    counts = {"failed": 1, "finished": 2, "pruned": 1}
    counts[last] = counts.get(last, 0) + 1
    said = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    assert out.splitlines() == [f"<StudyTrials {str(ended_study)!r}: 5 trials: {said}>", "False"]


def test_to_pandas_without_pandas_says_how_to_get_it(ended_study, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        load_study(ended_study).to_pandas()


def test_a_study_being_written_shows_its_running_trial_and_a_dead_ones_as_interrupted(tmp_path):
    study = new_study(tmp_path)
    gate = tmp_path / "gate"

    async def run_and_look():
        task = asyncio.create_task(study.run(search=False, manual=[(config("ok"), None), (config("wait"), None)]))
        journal = study.directory / JOURNAL_NAME
        for _ in range(1500):  # 30 s at most
            if journal.read_text().count('"started"') == 2 or task.done():
                break
            await asyncio.sleep(0.02)
        assert not task.done(), task.exception()
        seen = load_study(study.directory)  # read-only, while this process holds the writer's lock
        study.note("still running at the first look", number=1)  # the app's note on a running study
        copy = tmp_path / "killed"  # the same journal with no writer: a study killed mid-trial
        copy.mkdir()
        shutil.copy(journal, copy / JOURNAL_NAME)
        gate.touch()
        await task
        return seen, load_study(copy)

    seen, killed = asyncio.run(run_and_look())
    states = {t.number: t.state for t in seen.trials}
    running = seen.trials[-1]
    assert states[1] == "running" and running.datetime_start and running.datetime_complete is None
    assert running.params["kind"] == "wait" and running.value is None
    dead = killed.trials[-1]
    assert dead.state == "interrupted" and "stopped while it ran" in dead.fail_reason

    after = load_study(study.directory)
    assert [t.state for t in after.trials] == ["finished", "finished"]
    assert after.trials[1].note == "still running at the first look" and seen.trials[1].note is None


def test_notes_are_validated_kept_latest_and_refused_while_another_process_writes(ended_study, tmp_path):
    study = Study.open(ended_study)
    for wrong in (99, True, "3"):
        with pytest.raises(InputError, match=f"no trial {wrong!r}"):
            study.note("nothing there", number=wrong)
    with pytest.raises(InputError, match="a note is text"):
        study.note(None, number=0)
    study.note("", number=1)  # an empty note clears it
    assert load_study(ended_study).trials[1].note == ""
    log = StudyLog.replay(read_journal(ended_study / JOURNAL_NAME))
    assert log.records[3].note == "x near 0.9 is slow" and log.note == "the study as a whole"

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tui_tuner.storage import StudyLock; "
                               f"StudyLock({str(ended_study)!r}); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StudyLocked, match=f"pid {holder.pid}"):
            study.note("while another writes", number=0)
    finally:
        holder.kill()
        holder.wait()
    assert "while another writes" not in (ended_study / JOURNAL_NAME).read_text()


def test_a_note_record_of_the_wrong_shape_is_named_by_line(ended_study, capsys):
    with open(ended_study / JOURNAL_NAME, "a") as f:
        f.write('{"event": "note", "number": 2, "text": 7}\n')
    code, _, err = cli(capsys, ended_study)
    assert code == 2 and "note record whose text is 7, not a string" in err


def test_several_metrics_are_one_column_each():
    records = [StudyHeader(name="m", metric=["accuracy", "fit_time"], direction=["maximize", "minimize"]),
               Started(0, {"x": 1}, 3, time=10.0),
               Finished(0, 0.9, {"accuracy": 0.9, "fit_time": 1.5, "size": 12}, 1.5, time=11.5, values=[0.9, 1.5]),
               Started(1, {"x": 2}, 4, time=12.0),
               Failed(1, "nan", 0.1, time=12.1)]
    log = StudyLog.replay(records)
    rows = [trial_row(r, ["accuracy", "fit_time"], writer_alive=False) for r in log.records.values()]
    columns = table_columns(rows, ["accuracy", "fit_time"])
    assert columns[:4] == ["number", "state", "value_accuracy", "value_fit_time"] and "value" not in columns
    assert rows[0].values == {"accuracy": 0.9, "fit_time": 1.5} and rows[1].values == {"accuracy": None,
                                                                                    "fit_time": None}
    assert rows[0].datetime_start == "1970-01-01T00:00:10.000000+00:00" and rows[0].duration == 1.5
    flat = flat_row(rows[0], columns)
    assert (flat["value_accuracy"], flat["value_fit_time"], flat["metric_size"]) == (0.9, 1.5, 12)


def test_a_line_being_written_is_left_and_reports_are_no_columns(ended_study, capsys):
    with open(ended_study / JOURNAL_NAME, "a") as f:
        f.write('{"event": "started", "number": 5, "params": {"x": 0.1, "kind": "a"}, "seed": 5}\n')
        f.write('{"event": "reported", "number": 5, "step": 0, "values": {"loss": 1.0}}\n')
        f.write('{"event": "started", "number": 6, "params": {"x": 0.1, "kin')  # the writer is mid-line
    code, out, err = cli(capsys, ended_study, "--format", "jsonl")
    assert code == 0 and err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert not any(c.startswith(("loss", "step")) for c in rows[0])


@pytest.mark.slow
def test_a_study_another_process_runs_is_tabled_while_it_runs_and_after_kill_9(tmp_path):
    import signal
    import time

    (tmp_path / "study.yaml").write_text(STUDY % (tmp_path / "gate"))
    study_dir = tmp_path / "s"
    writer = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", str(study_dir),
                               "--trials", "50", "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)

    def table():
        result = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "trials", str(study_dir), "--format", "json"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the searched trials of kind "wait" hold until the gate opens
            if (study_dir / JOURNAL_NAME).exists():
                rows = table()
                waiting = [r["number"] for r in rows if r["state"] == "running" and r["params_kind"] == "wait"]
                if waiting and any(r["state"] != "running" for r in rows):
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("no running trial beside an ended one within 60 s")
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()
    after = {r["number"]: r for r in table()}  # trials of kind "wait" never end: kill -9 cut them off
    assert all(after[n]["state"] == "interrupted" and after[n]["fail_reason"] for n in waiting)
    assert all(r["datetime_complete"] for r in rows if r["state"] != "running")
