"""The journal survives torn writes; best-config files are written atomically and validated on load."""

import json
import os

import pytest

from tui_tuner.errors import InputError
from tui_tuner.storage import Journal, StudyLog, load_config, read_journal, save_config, write_atomic


def _events():
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
        for e in _events():
            journal.append(e)
    log = StudyLog.replay(read_journal(path))
    assert log.direction == "maximize"
    assert [r.state for r in log.records.values()] == ["finished", "failed", "finished", "running"]
    assert log.records[0].reports == [(0, {"loss": 0.5})]
    assert log.records[1].reason == "ValueError: boom"
    assert log.best().number == 2  # maximize: 0.9 beats 0.8


def test_torn_last_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        for e in _events()[:4]:
            journal.append(e)
    with open(path, "ab") as f:  # what kill -9 in the middle of a write leaves behind
        f.write(b'{"event": "started", "number": 1, "par')
    assert len(read_journal(path)) == 4
    with Journal(path) as journal:
        journal.append(_events()[4])
    records = read_journal(path)
    assert len(records) == 5 and records[-1]["number"] == 1


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
        journal.append({"event": "reported", "number": 0, "step": 0, "values": {"loss": float("nan")}})
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
    events = [
        {"event": "started", "number": 0, "params": {"x": 1}, "seed": 1},
        {"event": "started", "number": 1, "params": {"x": 2}, "seed": 2},
        {"event": "finished", "number": 0, "value": 0.5},
        {"event": "interrupted", "number": 1},
    ]
    for event in events:
        log.apply(event)
    assert log.count("finished") == 1 and log.count("interrupted") == 1 and log.best().number == 0
    log.apply({"event": "started", "number": 1, "params": {"x": 2}, "seed": 2})  # resumed: run again
    assert log.count("interrupted") == 0 and log.count("running") == 1
    log.apply({"event": "finished", "number": 1, "value": 0.9})
    assert log.count("finished") == 2 and log.best().number == 1 and [r.number for r in log.ranked()] == [1, 0]


def test_batched_reports_reach_the_file_at_once_and_are_synced_on_close(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"event": "started", "number": 0, "params": {}, "seed": 0})
    assert len(synced) == 1
    journal.append({"event": "reported", "number": 0, "step": 0, "values": {"loss": 1.0}}, durable=False)
    assert len(synced) == 1  # not yet fsync'd, but already in the file: a killed process loses nothing
    assert len(read_journal(tmp_path / "j.jsonl")) == 2
    journal.close()
    assert len(synced) == 2
