"""The engine against real worker processes: faults, reports, budgets, commands, reproducibility."""

import asyncio
import time

import pytest

import engine_objectives as objectives
from tui_tuner import SearchSpace, make_searcher
from tui_tuner import records
from tui_tuner.engine import Engine, PastTrial, pruned_at
from tui_tuner.errors import SpaceError
from tui_tuner.executors.pool import ProcessExecutor
from tui_tuner.governor import Governor
from tui_tuner.pruners import MedianPruner
from tui_tuner.searchers import RandomSearcher

pytestmark = pytest.mark.slow

X = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})


def _engine(objective, space=X, strategy="random", workers=2, seed=0, **kwargs):
    searcher = make_searcher(strategy, space, seed=seed)
    engine = Engine(objective, searcher, ProcessExecutor(workers), seed=seed, **kwargs)
    seen = []
    engine.subscribe(seen.append)
    return engine, seen


async def _run(engine):
    try:
        await engine.run()
    finally:
        await engine.executor.close()


def _of(seen, cls):
    return [e for e in seen if isinstance(e, cls)]


async def test_every_fault_fails_its_trial_and_the_study_goes_on():
    space = SearchSpace.from_dict({
        "fault": {"type": "categorical", "choices": ["raise", "nan", "inf", "hang", "exit", "segfault", "string",
                                                     "none"]},
        "x": {"type": "float", "low": 0, "high": 1, "grid": [0.5]},
    })
    engine, seen = _engine(objectives.by_fault, space, strategy="grid", trial_timeout=2.0)
    await _run(engine)
    failed = {e.number: e.reason for e in _of(seen, records.Failed)}
    started = {e.number: e.params["fault"] for e in _of(seen, records.Started)}
    reasons = {started[n]: r for n, r in failed.items()}
    assert reasons["raise"] == "ValueError: diverged at epoch 3"
    assert "NaN" in reasons["nan"] and "inf" in reasons["inf"]
    assert "timed out after 2 s" in reasons["hang"]
    assert "exited with code 3" in reasons["exit"]
    assert "SIGSEGV" in reasons["segfault"]
    assert "'very good'" in reasons["string"]
    finished = _of(seen, records.Finished)
    assert [started[e.number] for e in finished] == ["none"] and finished[0].value == 0.5
    assert engine.state == "finished"


async def test_reports_stream_while_the_trial_runs_and_metrics_come_back():
    engine, seen = _engine(objectives.WithMetric(objectives.reporting, "loss"), trials=3)
    await _run(engine)
    for finished in _of(seen, records.Finished):
        steps = [e.step for e in _of(seen, records.Reported) if e.number == finished.number]
        assert steps == [0, 1, 2]
        assert finished.metrics["accuracy"] == pytest.approx(1 - finished.value)
    # every report of a trial arrives before it finishes
    order = [(type(e).__name__, getattr(e, "number", None)) for e in seen]
    for n in range(3):
        assert max(i for i, e in enumerate(order) if e == ("Reported", n)) < order.index(("Finished", n))


class PruneAtStepOne:
    ordered = False

    def __init__(self):
        self.finished = []

    def take(self, number, step, values):
        return 0.0

    def judge(self, number, step, value):
        return step >= 1 and number % 2 == 1

    def on_finish(self, number, state):
        self.finished.append((number, state))


async def test_pruner_answer_reaches_the_trial():
    pruner = PruneAtStepOne()
    engine, seen = _engine(objectives.WithMetric(objectives.reporting, "loss"), trials=4, pruner=pruner)
    await _run(engine)
    assert sorted(e.number for e in _of(seen, records.Pruned)) == [1, 3]
    assert all(e.step == 1 for e in _of(seen, records.Pruned))
    assert sorted(pruner.finished) == [(0, "finished"), (1, "pruned"), (2, "finished"), (3, "pruned")]


async def test_ordered_pruning_makes_the_same_decisions_however_the_trials_are_timed():
    """Three workers, trials whose pace is left to chance: twice the same trials pruned at the same steps."""
    runs = []
    for _ in range(2):
        pruner = MedianPruner("loss", "minimize", warmup=1, min_trials=2)
        engine, seen = _engine(objectives.WithMetric(objectives.jittery_curve, "loss"), workers=3, trials=12,
                               pruner=pruner)
        await _run(engine)
        runs.append(({e.number: e.step for e in _of(seen, records.Pruned)},
                     sorted(e.number for e in _of(seen, records.Finished))))
    assert runs[0] == runs[1]
    assert runs[0][0] and len(runs[0][1]) + len(runs[0][0]) == 12  # some were pruned, all ended


async def test_a_pruned_trial_is_told_its_step_and_last_value_of_the_metric():
    told = []

    class Recording(RandomSearcher):
        def tell_pruned(self, config, step, last_value):
            told.append((config["x"], step, last_value))
            super().tell_pruned(config, step, last_value)

    engine = Engine(objectives.WithMetric(objectives.reporting, "loss"), Recording(X, seed=0), ProcessExecutor(2),
                    trials=4, pruner=PruneAtStepOne())
    await _run(engine)
    assert len(told) == 2
    for x, step, last_value in told:
        assert step == 1 and last_value == pytest.approx(2 * x)  # the report at step 1: loss = x * (3 - 1)


def test_the_governor_cuts_effort_step_by_step_and_gives_it_back_when_there_is_slack():
    governor = Governor(ask_share=0.05, workers=2)
    for _ in range(3):
        governor.trial_ended(0.05)
    efforts, notes = [], []
    for ask in [0.01] * 15 + [0.0001] * 11:  # 10 ms asks: 40% of the time of 50 ms trials on 2 workers
        efforts.append(governor.effort())
        notes.append(governor.note)
        governor.asked(ask)
    assert efforts[:16:5] == [1.0, 0.5, 0.25, 0.125]
    assert notes[15] == "searcher held to 12% effort: ask 10 ms vs trial 50 ms, 2 workers"
    assert efforts[-1] == 0.5  # asks of 0.1 ms: it doubles back
    assert notes[-1] == "searcher held to 50% effort: ask 0.1 ms vs trial 50 ms, 2 workers"
    assert Governor(0.05, 2).effort() == 1.0 and Governor(0.05, 2).note is None  # nothing measured: all of it


async def test_a_study_of_fast_trials_holds_bayes_to_less_effort_and_says_so():
    async def run(ask_share):
        searcher = make_searcher("bayes", X, seed=0, initial=3)
        engine = Engine(objectives.noop, searcher, ProcessExecutor(2), trials=24, ask_share=ask_share)
        await _run(engine)
        return engine

    governed, free = await run(0.001), await run(None)
    assert governed.searcher.effort < 1 and governed.governor_note.startswith("searcher held to ")
    assert free.searcher.effort == 1 and free.governor_note is None
    genetic = Engine(objectives.noop, make_searcher("genetic", X, seed=0), ProcessExecutor(2), trials=24,
                     ask_share=0.000001)
    await _run(genetic)
    assert genetic.governor_note is None  # its effort changes nothing: never said to be held back


def test_a_resumed_pruned_trial_is_told_as_pruned_again():
    told = []

    class Recording(RandomSearcher):
        def tell_pruned(self, config, step, last_value):
            told.append((config, step, last_value))

    Engine(objectives.noop, Recording(X, seed=0), ProcessExecutor(1),
           history=[PastTrial(0, {"x": 0.5}, pruned_at(2, [(0, {"loss": 3.0}), (2, {"loss": 2.0, "lr": 0.1}),
                                                            (3, {"lr": 0.01})], "loss"))])
    assert told == [({"x": 0.5}, 2, 2.0)]


async def test_same_seed_and_workers_give_the_same_trials():
    async def trials(seed):
        engine, seen = _engine(objectives.quadratic, trials=8, seed=seed)
        await _run(engine)
        return [(e.number, e.params, e.seed) for e in _of(seen, records.Started)]

    first, second = await trials(5), await trials(5)
    assert first == second and len(first) == 8
    assert first != await trials(6)


async def test_stop_finishes_running_trials_and_starts_none():
    engine, seen = _engine(objectives.sleepy, trials=20)

    async def stop_soon():
        while len(_of(seen, records.Started)) < 2:
            await asyncio.sleep(0.01)
        engine.stop()

    await asyncio.gather(_run(engine), stop_soon())
    assert len(_of(seen, records.Started)) == 2 and len(_of(seen, records.Finished)) == 2
    assert [e.state for e in _of(seen, records.StateChanged)] == ["running", "stopping", "finished"]


async def test_pause_holds_new_trials_and_manual_config_runs_first():
    engine, seen = _engine(objectives.sleepy, trials=3, workers=1)

    async def steer():
        while not _of(seen, records.Started):
            await asyncio.sleep(0.01)
        started_first = _of(seen, records.Started)[0]
        engine.pause()
        await asyncio.sleep(0.6)
        assert len(_of(seen, records.Started)) == 1  # paused: the first finished, nothing new started
        engine.run_config({"x": 0.123})
        engine.run_config({"x": 0.9}, seed=started_first.seed)  # re-run a trial exactly: same params, seed
        engine.resume()

    await asyncio.gather(_run(engine), steer())
    started = _of(seen, records.Started)
    assert started[1].params == {"x": 0.123} and started[1].manual
    assert started[2].seed == started[0].seed and started[2].number == 2
    assert len(started) == 5  # manual trials do not spend the budget of 3


async def test_time_budget_ends_the_study():
    engine, seen = _engine(objectives.sleepy, time_budget=1.0)
    begin = time.monotonic()
    await _run(engine)
    assert time.monotonic() - begin < 3
    assert 4 <= len(_of(seen, records.Finished)) <= 14


async def test_resume_history_is_told_not_rerun():
    past = [PastTrial(0, {"x": 0.9}, 0.36), PastTrial(1, {"x": 0.5}, None)]
    engine, seen = _engine(objectives.quadratic, trials=2, history=past, rerun=[PastTrial(2, {"x": 0.25}, None)])
    await _run(engine)
    started = _of(seen, records.Started)
    assert [e.number for e in started] == [2, 3]
    assert started[0].params == {"x": 0.25}
    assert [c for c, _ in engine.searcher.history][:2] == [{"x": 0.9}, {"x": 0.5}]


async def test_cancel_interrupts_running_trials():
    engine, seen = _engine(objectives.sleepy, space=SearchSpace.from_dict(
        {"x": {"type": "float", "low": 0, "high": 1}, "sleep": {"type": "float", "low": 30, "high": 31}}), trials=5)

    async def cancel_soon():
        while len(_of(seen, records.Started)) < 2:
            await asyncio.sleep(0.01)
        engine.cancel()

    begin = time.monotonic()
    await asyncio.gather(_run(engine), cancel_soon())
    assert time.monotonic() - begin < 10
    assert sorted(e.number for e in _of(seen, records.Interrupted)) == [0, 1]


async def test_review_accepts_edits_and_skips_suggestions():
    answers = iter(["accept", "edit", "skip", "accept"])
    reviewed = []

    async def review(params, predicted):
        reviewed.append((params, predicted))
        await asyncio.sleep(0.01)  # the user takes a moment
        answer = next(answers)
        return params if answer == "accept" else {"x": 0.3} if answer == "edit" else None

    engine, seen = _engine(objectives.quadratic, strategy="bayes", workers=1, trials=3, review=review)
    await _run(engine)
    started = [e.params for e in _of(seen, records.Started)]
    assert len(reviewed) == 4 and len(started) == 3  # the skipped one did not spend the budget
    assert started[0] == reviewed[0][0] and started[1] == {"x": 0.3} and started[2] == reviewed[3][0]
    assert reviewed[2][0] in [c for c, v in engine.searcher.history if v is None]  # told as skipped


async def test_model_based_suggestions_carry_their_prediction_and_asks_are_timed():
    engine, seen = _engine(objectives.quadratic, strategy="bayes", workers=1, trials=8)
    engine.searcher.initial = 3
    await _run(engine)
    predicted = [e.predicted for e in _of(seen, records.Started)]
    assert predicted[:2] == [None, None]  # no model before two finished trials
    assert all(p is not None and p[1] >= 0 for p in predicted[3:])
    assert len(engine.ask_seconds) == 8


def test_a_grid_after_another_strategy_skips_only_configs_already_run():
    searcher = make_searcher("grid", X, default_num=3)  # 0, 0.5, 1
    history = [PastTrial(0, {"x": 0.5}, 1.0), PastTrial(1, {"x": 0.77}, 2.0)]
    engine = Engine(objectives.quadratic, searcher, ProcessExecutor(1), history=history, replay_draws=False)
    assert [engine.searcher.ask() for _ in range(2)] == [{"x": 0.0}, {"x": 1.0}]


async def test_a_new_space_version_tells_only_the_history_that_fits_and_reruns_keep_their_version():
    narrow = SearchSpace.from_dict({"x": {"type": "float", "low": 0.5, "high": 1.0}})
    past = [PastTrial(0, {"x": 0.9}, 0.36), PastTrial(1, {"x": 0.1}, 0.04), PastTrial(2, {"y": 3}, 1.0)]
    searcher = make_searcher("random", narrow, seed=0)
    engine = Engine(objectives.quadratic, searcher, ProcessExecutor(1), trials=2, history=past, space_version=2,
                    rerun=[PastTrial(3, {"x": 0.2}, None, space=1)])
    seen = []
    engine.subscribe(seen.append)
    with pytest.raises(SpaceError, match=r"must be in \[0.5, 1.0\], got 0.2"):
        engine.run_config({"x": 0.2})  # manual trials: the current space
    await _run(engine)
    started = _of(seen, records.Started)
    assert [(e.number, e.space) for e in started] == [(3, 1), (4, 2)]  # the re-run keeps its params' version
    assert started[0].params == {"x": 0.2} and started[1].params["x"] >= 0.5
    assert [c for c, _ in engine.searcher.history] == [{"x": 0.9}, started[1].params]  # 0.1, y, 0.2: left out
