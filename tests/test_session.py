"""The app's study session without a screen: which study runs, what changed since the screen last looked,
the status words, and the cached model that predicts a hand-made config."""

import asyncio
import json
import textwrap

import pytest

from tui_tuner.app.document import StudyDocument
from tui_tuner.app.session import StudySession
from tui_tuner.errors import InputError
from tui_tuner.study import Study

pytestmark = pytest.mark.slow  # real worker processes, a second or two a test

TRAIN = '''
import time

def objective(params, trial):
    time.sleep(params.get("pause", 0.0))
    trial.report(0, loss=params["x"] ** 2)
    return (params["x"] - 0.3) ** 2

def two(params, trial):
    return {"a": (params["x"] - 0.3) ** 2, "b": (params["x"] + 0.3) ** 2}
'''


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ and best.json land here


def document(tmp_path, strategy="random", trials=3):
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: session-test
        objective: {{python: "train.py:objective", metric: value, direction: minimize}}
        search: {{strategy: {strategy}, trials: {trials}, workers: 1, seed: 0}}
        params:
          x: {{type: float, low: -1.0, high: 1.0}}
        """))
    return StudyDocument.load(path)


async def run_once(session):
    study, created = session.study_for_run()
    await session.run(study)
    return study, created


async def test_a_run_marks_its_trials_changed_and_ends_finished_with_a_frozen_clock(tmp_path):
    notices = []
    session = StudySession(document(tmp_path), on_notice=notices.append)
    assert session.study is None and session.file_budget() == 3
    run = session.run(*session.study_for_run()[:1])
    assert session.running  # at once, before the run is awaited: the key press greys out `r`
    await run
    assert not session.running and session.take_changed() == {0, 1, 2}
    assert session.take_changed() == set()  # taken once
    assert session.take_status_changed() and not session.take_status_changed()
    assert session.state_word() == "finished" and session.out_of_budget()
    assert session.elapsed() == session.elapsed() > 0  # the clock stopped with the run
    assert session.timing_text()[0].startswith("ask ")
    assert session.best().value == min(r.value for r in session.study.log.finished())


async def test_the_status_line_says_when_the_searcher_was_held_to_less_effort(tmp_path):
    doc = document(tmp_path, strategy="bayes", trials=14)
    doc.set_search({**doc.search, "ask_share": 0.0001, "initial": 3})  # any ask costs too much
    session = StudySession(doc)
    study, _ = await run_once(session)
    assert study.engine.governor_note.startswith("searcher held to ")
    assert session.timing_text()[0] == study.engine.governor_note


async def test_a_changed_space_is_the_studys_next_version_and_a_changed_objective_a_new_study(tmp_path):
    notices = []
    session = StudySession(document(tmp_path, trials=1), on_notice=notices.append)
    first, created = await run_once(session)
    assert created
    session.document.set_search({**session.document.search, "trials": 2})  # settings only: same study
    again, created = await run_once(session)
    assert again is first and not created and len(first.log.records) == 2 and not notices
    session.document.put_param("x", "x", {"type": "float", "low": 0.0, "high": 2.0})
    session.space_edited("lr-find")  # idle: taken on the next run
    assert first.log.space_version == 1
    session.document.set_search({**session.document.search, "trials": 3})
    again, created = await run_once(session)
    assert again is first and not created and notices == ["space version 2: x: low -1 -> 0, high 1 -> 2"]
    assert [(v.version, v.reason) for v, _ in session.space_history()] == [(1, "created"), (2, "lr-find")]
    assert [n for _, n in session.space_history()] == [2, 1]
    assert 0.0 <= first.log.records[2].params["x"] <= 2.0
    session.document.raw["objective"] = {**session.document.raw["objective"], "direction": "maximize"}
    other, created = session.study_for_run()
    assert created and other is not first and other.directory != first.directory and session.study is other


async def test_an_edit_while_the_study_runs_applies_to_it_at_once(tmp_path):
    notices = []
    doc = document(tmp_path, trials=12)
    doc.put_param(None, "pause", {"type": "categorical", "choices": [0.05]})
    session = StudySession(doc, on_notice=notices.append)
    study, _ = session.study_for_run()
    run = asyncio.ensure_future(session.run(study))
    while study.log.count("finished") < 2:
        await asyncio.sleep(0.02)
    session.document.put_param("x", "x", {"type": "float", "low": 0.5, "high": 1.0})
    session.space_edited()
    assert notices == ["space version 2: x: low -1 -> 0.5"]
    await run
    later = [r for r in study.log.records.values() if r.space_version == 2]
    assert later and all(r.params["x"] >= 0.5 for r in later)
    assert study.log.spaces[-1].reason == "edit"


async def test_a_study_stopped_by_hand_says_stopped(tmp_path):
    doc = document(tmp_path, trials=20)
    doc.put_param(None, "pause", {"type": "categorical", "choices": [0.2]})
    session = StudySession(doc)
    study, _ = session.study_for_run()
    run = asyncio.ensure_future(session.run(study))
    while not study.log.count("finished"):
        await asyncio.sleep(0.05)
    assert session.state_word() == "running"
    assert session.stop() == "stopping: running trials finish"
    await run
    assert session.state_word() == "stopped" and len(study.log.records) < 20


async def test_several_metrics_rank_off_the_loop_and_best_is_the_rankings_pick(tmp_path):
    doc = document(tmp_path, trials=4)
    doc.raw["objective"] = {"python": "train.py:two", "metric": ["a", "b"], "direction": ["minimize", "minimize"]}
    session = StudySession(doc)
    study, _ = await run_once(session)
    assert session.best() is None  # no ranking yet: never made on the event loop
    copy = session.ranking_due()
    assert copy is not None and session.ranking_due() is None  # one ranking at a time
    assert await session.rank(study, copy)
    assert session.best().number == study.log.best().number and session.take_status_changed()
    assert session.ranking_due() is None  # nothing finished since


async def test_a_document_with_a_mistake_is_not_run(tmp_path):
    session = StudySession(document(tmp_path))
    session.document.raw["search"]["trials"] = "many"
    with pytest.raises(InputError, match="trials"):
        session.study_for_run()
    assert session.study is None and session.file_budget() is None


async def test_stop_pause_note_and_export_say_what_happened(tmp_path):
    session = StudySession(document(tmp_path, trials=2))
    assert session.stop() is None and session.pause() is None  # nothing runs: nothing to say
    study, _ = await run_once(session)
    session.take_changed()
    assert session.note("good one", 1) == "note on trial #1 kept in the journal"
    assert session.take_changed() == {1} and study.log.records[1].note == "good one"
    assert session.note("", None) == "note on the study cleared"
    assert session.export("best.json") == "best config written to best.json"
    assert json.loads((tmp_path / "best.json").read_text())["value"] == session.best().value
    assert not session.queue_manual({"x": 0.1}, None)  # idle: the caller starts a run for it


async def test_a_study_watched_while_another_process_writes_it_follows_the_journal(tmp_path):
    writer = StudySession(document(tmp_path, trials=2))
    study, _ = await run_once(writer)
    watcher = StudySession(document(tmp_path), Study.open(study.directory))
    watcher.take_changed()
    more = Study.open(study.directory, trials=3)
    await more.run()
    watcher.follow()
    assert watcher.take_changed() == {2} and len(watcher.study.log.records) == 3


async def test_the_idle_predictor_is_fitted_once_until_more_trials_finish(tmp_path, monkeypatch):
    first, _ = await run_once(StudySession(document(tmp_path, strategy="bayes", trials=3)))
    opened = Study.open(first.directory)  # idle, no engine: the model is fitted to the journal
    fits = []
    monkeypatch.setattr(opened, "new_searcher", lambda: fits.append(1) or Study.new_searcher(opened))
    session = StudySession(document(tmp_path, strategy="bayes"), opened)
    mean, std = session.predictor()({"x": 0.3})
    session.predictor()
    assert len(fits) == 1 and isinstance(mean, float) and std >= 0
    await Study.open(first.directory, trials=4).run()
    session.follow()
    session.predictor()
    assert len(fits) == 2  # one more finished trial: fitted again


async def test_another_study_opened_with_as_many_trials_gets_its_own_predictor(tmp_path):
    one, _ = await run_once(StudySession(document(tmp_path, strategy="bayes", trials=3)))
    doc = document(tmp_path, strategy="bayes", trials=3)
    doc.raw["search"]["seed"] = 1
    other, _ = await run_once(StudySession(doc))
    session = StudySession(doc, Study.open(one.directory))
    first = session.predictor()({"x": 0.9})
    session.open(doc, Study.open(other.directory))
    assert session.predictor()({"x": 0.9}) != first  # not the first study's model, cached by trial count


async def test_a_random_study_predicts_nothing(tmp_path):
    session = StudySession(document(tmp_path, trials=1))
    assert session.predictor() is None
    await run_once(session)
    assert session.predictor() is None


async def test_open_path_tells_study_files_directories_and_best_configs_apart(tmp_path):
    session = StudySession(document(tmp_path, trials=1))
    study, _ = await run_once(session)
    session.export("best.json")
    opened = session.open_path(str(study.directory))
    assert opened.study.directory == study.directory and opened.message.endswith(": 1 trials")
    opened = session.open_path("best.json")
    assert opened.document is None and set(opened.config["params"]) == {"x"} and opened.source == "best.json"
    opened = session.open_path("study.yaml")
    assert opened.document.name == "session-test" and opened.study is None
    with pytest.raises(InputError, match="no such file"):
        session.open_path("missing.yaml")
    session.open(opened.document, None)
    assert session.study is None and session.study_for_run()[1]  # an opened file runs as a new study
