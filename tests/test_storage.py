"""The journal survives torn writes; best-config files are written atomically and validated on load."""

import errno
import json
import os
import subprocess
import sys

import pytest

from tui_tuner.errors import InputError
from tui_tuner.records import (IMPORTED, MANUAL, Failed, Finished, Interrupted, Note, Notice, Reported, Started, StateChanged,
                               StudyHeader, TestScored, from_json, to_json, trial_number)
from tui_tuner.storage import (Journal, StudyLock, StudyLocked, StudyLog, dumps, load_config, read_journal,
                               repair_journal, save_config, write_atomic, writer_pid)


def _records():
    """`_events()` as the records a journal holds."""
    return [from_json(e) for e in _events()]


def _events():
    """A journal's lines as JSON objects."""
    return [
        {"event": "study", "name": "s", "direction": "maximize"},
        {"event": "started", "number": 0, "params": {"x": 1.0}, "seed": 11, "time": 1.0},
        {"event": "reported", "number": 0, "step": 0, "values": {"loss": 0.5}, "time": 1.1},
        {"event": "finished", "number": 0, "value": 0.8, "metrics": {"accuracy": 0.8}, "duration": 0.2},
        {"event": "started", "number": 1, "params": {"x": 2.0}, "seed": 12, "time": 1.2},
        {"event": "failed", "number": 1, "reason": "ValueError: boom", "duration": 0.1},
        {"event": "started", "number": 2, "params": {"x": 3.0}, "seed": 13, "time": 1.3},
        {"event": "finished", "number": 2, "value": 0.9, "metrics": {}, "duration": 0.3},
        {"event": "started", "number": 3, "params": {"x": 4.0}, "seed": 14, "time": 1.4},
    ]


def test_journal_replay_rebuilds_every_trial(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for record in _records():
            journal.append(record)
    log = StudyLog.replay(read_journal(path))
    assert log.direction == "maximize"
    assert [r.state for r in log.records.values()] == ["finished", "failed", "finished", "running"]
    assert log.records[0].reports == [(0, {"loss": 0.5})]
    assert log.records[1].reason == "ValueError: boom"
    assert log.best().number == 2  # maximize: 0.9 beats 0.8


def test_torn_last_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for record in _records()[:4]:
            journal.append(record)
    with open(path, "ab") as f:  # what kill -9 in the middle of a write leaves behind
        f.write(b'{"event": "started", "number": 1, "par')
    assert len(read_journal(path)) == 4
    with Journal(path) as journal:
        journal.append(_records()[4])
    records = read_journal(path)
    assert len(records) == 5 and records[-1] == _records()[4]


def test_damaged_line_in_the_middle_is_reported_not_dropped(tmp_path):
    path = tmp_path / "journal.jsonl"
    lines = [json.dumps(e) for e in _events()[:3]]
    lines[1] = "garbage"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line 2 is not a journal record"):
        read_journal(path)


def test_journal_never_writes_nan(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        journal.append(Reported(0, 0, {"loss": float("nan")}))
    assert json.loads(path.read_text())["values"]["loss"] is None


def test_save_and_load_config_round_trip(tmp_path):
    path = save_config(tmp_path / "best.json", params={"lr": 0.01, "units": 64}, value=0.93,
                       metric="accuracy", direction="maximize", strategy="random", seed=3, trial=7)
    doc = load_config(path)
    assert doc["params"] == {"lr": 0.01, "units": 64}
    assert doc["value"] == 0.93 and doc["metric"] == "accuracy" and doc["direction"] == "maximize"
    assert doc["strategy"] == "random" and doc["seed"] == 3 and doc["trial"] == 7
    assert "version" in doc and "time" in doc


def test_crash_before_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "best.json"
    save_config(path, params={"lr": 0.1}, value=1.0, metric="loss", direction="minimize")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        save_config(path, params={"lr": 0.2}, value=0.5, metric="loss", direction="minimize")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["best.json"]  # no temp file left behind


def test_write_atomic_replaces_content(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    write_atomic(path, "one")
    write_atomic(path, "two")
    assert path.read_text() == "two"


@pytest.mark.parametrize("content, field, fragment", [
    ("{not json", None, "not valid JSON"),
    ("[1, 2]", None, "must be a JSON object"),
    ('{"value": 1, "metric": "m", "direction": "minimize"}', "params", "missing"),
    ('{"params": {}, "metric": "m", "direction": "minimize"}', "value", "missing"),
    ('{"params": {}, "value": "high", "metric": "m", "direction": "minimize"}', "value", "must be a number"),
    ('{"params": {}, "value": 1, "metric": "m", "direction": "up"}', "direction", "'minimize' or 'maximize'"),
    ('{"params": [], "value": 1, "metric": "m", "direction": "minimize"}', "params", "must be a dict"),
])
def test_load_config_errors_name_the_file_and_field(tmp_path, content, field, fragment):
    path = tmp_path / "best.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert fragment in message
    if field:
        assert f": {field}: " in message


def test_load_config_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_config(tmp_path / "nope.json")


def test_atomic_writes_keep_ordinary_permissions(tmp_path):
    fresh = write_atomic(tmp_path / "best.json", "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600: others may read a config
    os.chmod(fresh, 0o640)
    write_atomic(fresh, "{}")
    assert fresh.stat().st_mode & 0o777 == 0o640


def test_counts_and_best_follow_reruns_and_direction():
    log = StudyLog("maximize")
    records = [Started(0, {"x": 1}, 1), Started(1, {"x": 2}, 2), Finished(0, 0.5, None, None), Interrupted(1)]
    for record in records:
        log.apply(record)
    assert log.count("finished") == 1 and log.count("interrupted") == 1 and log.best().number == 0
    log.apply(Started(1, {"x": 2}, 2))  # resumed: run again
    assert log.count("interrupted") == 0 and log.count("running") == 1
    log.apply(Finished(1, 0.9, None, None))
    assert log.count("finished") == 2 and log.best().number == 1 and [r.number for r in log.ranked()] == [1, 0]


def test_batched_reports_reach_the_file_at_once_and_are_synced_on_close(tmp_path, monkeypatch):
    journal = Journal(tmp_path / "j.jsonl")  # (a new journal's directory entry is synced once, here)
    journal.append(StudyHeader(name="s"))
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    journal.append(Started(0, {}, 0))
    assert len(synced) == 1
    journal.append(Reported(0, 0, {"loss": 1.0}), durable=False)
    assert len(synced) == 1  # not yet fsync'd, but already in the file: a killed process loses nothing
    assert len(read_journal(tmp_path / "j.jsonl")) == 3
    journal.close()
    assert len(synced) == 2


# ----------------------------------------------------------------------- records checked at the journal's edge

@pytest.mark.parametrize("bad, problem", [
    ('{"event": "finished", "number": 0, "val', "line 3 is not a journal record (not valid JSON)"),
    ('[1, 2]', "line 3 is not a journal record (not a JSON object)"),
    ('{"event": "finished", "number": 0, "value": "0.8", "duration": 1.0}',
     "line 3 has a finished record whose value is '0.8', not a finite number"),
    ('{"event": "finished", "number": 0, "value": null}', "line 3 has a finished record whose value is None"),
    ('{"event": "started", "number": 4, "seed": 1}', "line 3 has a started record without params"),
    ('{"event": "started", "number": "4", "params": {}, "seed": 1}', "whose number is '4', not a whole number"),
    ('{"event": "reported", "number": 0, "step": 1, "values": [1]}', "whose values is [1], not a JSON object"),
    ('{"event": "exploded", "number": 0}', "line 3 is not a journal record (unknown event 'exploded')"),
    ('{"event": "study", "name": "s", "settings": {"strategy": "random", "seed": 0, "trials": "9"}}',
     "line 3 has a study record whose settings.trials is '9', not a whole number >= 1"),
])
def test_a_record_of_the_wrong_shape_or_content_is_named_by_line_with_the_way_out(tmp_path, bad, problem):
    path = tmp_path / "journal.jsonl"
    lines = [json.dumps(e) for e in _events()]
    lines.insert(2, bad)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        read_journal(path)
    assert problem in str(caught.value) and caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ") and f"tui-tuner repair {tmp_path}" in str(caught.value)


def test_repair_moves_bad_lines_aside_keeps_the_rest_and_appends_to_the_side_file(tmp_path):
    path = tmp_path / "journal.jsonl"
    good = [json.dumps(e) for e in _events()]
    damaged = good[:2] + ["garbage"] + good[2:5] + ['{"event": "failed", "number": "x"}'] + good[5:]
    path.write_text("\n".join(damaged) + "\n" + '{"event": "started", "num')  # and a torn last line
    repair = repair_journal(tmp_path)
    assert [b.number for b in repair.moved] == [3, 7] and repair.kept == len(good) and repair.has_header
    assert "moved 2 bad line(s) (3, 7)" in repair.summary()
    assert path.read_text().splitlines() == good
    assert (tmp_path / "journal.rejected.jsonl").read_text() == 'garbage\n{"event": "failed", "number": "x"}\n'
    assert len(read_journal(path)) == len(good)

    path.write_text(path.read_text() + "more garbage\n")
    repair_journal(tmp_path)
    assert (tmp_path / "journal.rejected.jsonl").read_text().splitlines()[-1] == "more garbage"
    before = path.read_bytes()
    assert "nothing to repair" in repair_journal(tmp_path).summary() and path.read_bytes() == before


def test_a_failed_append_leaves_no_half_record(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append(_records()[0])
    real_write = os.write

    def disk_fills(fd, data):  # half the record reaches the disk, then it is full
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(OSError):
        journal.append(_records()[1])
    monkeypatch.undo()
    journal.append(_records()[1])  # space again: the next record starts on a line of its own
    journal.close()
    assert read_journal(path) == _records()[:2]


def test_one_writer_a_lock_held_by_another_process_names_its_pid_and_dies_with_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tui_tuner.storage import StudyLock; "
                               f"lock = StudyLock({str(tmp_path)!r}); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert writer_pid(tmp_path) == holder.pid
        with pytest.raises(StudyLocked, match=f"pid {holder.pid}") as caught:
            StudyLock(tmp_path)
        assert caught.value.exit_code == 2
        (tmp_path / "journal.jsonl").write_text("garbage\n")
        with pytest.raises(StudyLocked):  # nor are lines moved under a writer
            repair_journal(tmp_path)
        assert (tmp_path / "journal.jsonl").read_text() == "garbage\n"
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs
        holder.wait()
    assert writer_pid(tmp_path) is None
    lock = StudyLock(tmp_path)
    assert writer_pid(tmp_path) == os.getpid()
    lock.release()


def test_best_config_params_hold_fixed_values_and_load_with_a_space_that_lacks_them(tmp_path):
    from tui_tuner import SearchSpace

    space = SearchSpace.from_dict({"lr": {"type": "float", "low": 0.001, "high": 1.0}})
    path = save_config(tmp_path / "best.json", params={"lr": 0.01}, value=0.9, metric="accuracy",
                       direction="maximize", fixed={"epochs": 27, "lr": 0.5})
    doc = json.loads(path.read_text())
    assert doc["params"] == {"epochs": 27, "lr": 0.01} and doc["fixed"] == {"epochs": 27}  # tuned lr wins
    assert load_config(path, space)["params"] == {"epochs": 27, "lr": 0.01}
    doc["params"]["units"] = 3  # not fixed and not the space's: still refused
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="params.units"):
        load_config(path, space)


# ------------------------------------------------------------------------ typed records, JSON at the edge

TODAYS_JOURNAL = b"""\
{"event": "study", "name": "demo", "version": "0.3.0", "time": 1700000000.5, "source": "/home/u/study.yaml", "base_dir": "/home/u", "metric": "val_loss", "direction": "minimize", "settings": {"strategy": "random", "strategy_options": {}, "seed": 0, "trials": 5, "workers": 1}}
{"event": "started", "number": 0, "params": {"lr": 0.01}, "seed": 7, "manual": false, "predicted": null, "time": 1700000001.0, "proposer": "random"}
{"event": "reported", "number": 0, "step": 0, "values": {"loss": 0.9, "lr": 0.01}, "time": 1700000001.5}
{"event": "finished", "number": 0, "value": 0.42, "metrics": {"val_loss": 0.42}, "duration": 1.25, "time": 1700000002.25}
{"event": "started", "number": 1, "params": {"lr": 0.1}, "seed": 8, "manual": true, "predicted": null, "time": 1700000003.0, "proposer": "manual"}
{"event": "failed", "number": 1, "reason": "ValueError: boom", "duration": 0.5, "time": 1700000003.5}
{"event": "started", "number": 2, "params": {"lr": 0.001}, "seed": 9, "manual": false, "predicted": [0.5, 0.1], "time": 1700000004.0, "proposer": "bayes"}
{"event": "pruned", "number": 2, "step": 1, "duration": 0.75, "time": 1700000005.0}
{"event": "started", "number": 3, "params": {"lr": 0.02}, "seed": 10, "manual": false, "predicted": null, "time": 1700000006.0, "proposer": "random"}
{"event": "interrupted", "number": 3, "time": 1700000007.0}
{"event": "note", "number": 0, "text": "the one to beat", "time": 1700000008.0}
{"event": "note", "number": null, "text": "lr matters most", "time": 1700000009.0}
{"event": "test", "number": 0, "value": 0.45, "error": null, "metric": "val_loss", "time": 1700000010.0}
"""
TODAYS_MULTI_LINES = [  # a several-metric study's header and ending, as today's writer makes them
    b'{"event": "study", "name": "m", "version": "0.3.0", "time": 1.5, "source": null, "base_dir": "/tmp", '
    b'"metric": ["accuracy", "fit_time"], "direction": ["maximize", "minimize"], "settings": {"strategy": '
    b'"random", "seed": 0}, "balance": {"rule": "knee"}}',
    b'{"event": "finished", "number": 0, "value": 0.9, "metrics": {"accuracy": 0.9, "fit_time": 2.0}, '
    b'"duration": 1.0, "time": 2.5, "values": [0.9, 2.0]}',
]


def test_a_journal_in_todays_format_replays_and_its_lines_are_written_back_byte_for_byte(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(TODAYS_JOURNAL)
    records = read_journal(path)
    assert isinstance(records[0], StudyHeader) and records[0].metric == "val_loss"
    log = StudyLog.replay(records)
    assert log.header.name == "demo" and (log.header.settings or {})["trials"] == 5
    assert [log.records[n].state for n in range(4)] == ["finished", "failed", "pruned", "interrupted"]
    assert [log.records[n].proposer for n in range(4)] == ["random", "manual", "bayes", "random"]
    assert log.records[0].reports == [(0, {"loss": 0.9, "lr": 0.01})] and log.records[0].note == "the one to beat"
    assert log.records[2].predicted == [0.5, 0.1] and log.note == "lr matters most"
    assert isinstance(log.test, TestScored) and (log.test.number, log.test.value) == (0, 0.45)

    rewritten = tmp_path / "rewritten.jsonl"
    with Journal(rewritten) as journal:
        for record in records:
            journal.append(record)
    assert rewritten.read_bytes() == TODAYS_JOURNAL
    for line in TODAYS_MULTI_LINES:
        assert dumps(to_json(from_json(json.loads(line)))).encode() == line


def test_every_trial_records_what_proposed_it_and_the_space_version_it_was_drawn_from(tmp_path):
    path = tmp_path / "journal.jsonl"
    older = b'{"event": "started", "number": 0, "params": {"x": 1}, "seed": 1, "time": 1.0}\n'  # before both
    path.write_bytes(TODAYS_JOURNAL.splitlines(keepends=True)[0] + older)
    with Journal(path) as journal:
        journal.append(Started(1, {"x": 2}, 2, proposer=IMPORTED, space=2))
        journal.append(Started(2, {"x": 3}, 3, proposer=MANUAL, manual=True))
    lines = path.read_bytes().splitlines()
    assert b'"space"' not in lines[3] and lines[2].endswith(b'"proposer": "imported", "space": 2}')
    log = StudyLog.replay(read_journal(path))
    assert [(r.proposer, r.space_version) for r in log.records.values()] == [(None, 1), ("imported", 2),
                                                                            ("manual", 1)]

    path.write_bytes(path.read_bytes() + b'{"event": "started", "number": 3, "params": {}, "seed": 1, "space": 0}\n')
    with pytest.raises(InputError, match="line 5 has a started record whose space is 0, not a whole number >= 1"):
        read_journal(path)


def test_the_log_dispatches_on_the_records_type_and_screen_news_has_no_trial():
    log = StudyLog()
    log.apply(StudyHeader(name="s", metric="loss", direction="maximize"))
    log.apply(Started(0, {"x": 1}, 1, proposer="random"))
    log.apply(Note(None, "on the study"))
    log.apply(Note(0, "on the trial"))
    log.apply(Finished(0, 0.5, {"loss": 0.5}, 1.0, time=9.0))
    assert log.direction == "maximize" and log.metrics == ["loss"] and log.note == "on the study"
    assert (log.records[0].note, log.records[0].ended, log.best().number) == ("on the trial", 9.0, 0)
    assert to_json(Notice("fewer workers")) == {"event": "notice", "text": "fewer workers"}
    assert trial_number(StateChanged("running")) is None and trial_number(Note(None, "")) is None


def test_the_log_counts_searched_and_manual_trials_apart_as_they_change_state():
    log = StudyLog()
    log.apply(Started(0, {"x": 1.0}, 0))
    log.apply(Started(1, {"x": 2.0}, 1, manual=True))
    log.apply(Finished(0, 1.0, {}, 0.1))
    log.apply(Failed(1, "boom", 0.1))
    log.apply(Started(1, {"x": 2.0}, 1, manual=True))  # run again under its number
    assert (log.count("finished", manual=False), log.count("failed", manual=True), log.count("running", manual=True)) == (1, 0, 1)
    log.apply(Finished(1, 2.0, {}, 0.1))
    assert log.count("finished") == 2 and log.count("finished", manual=True) == 1 and log.count("finished", manual=False) == 1
