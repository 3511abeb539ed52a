"""Several metrics: the study file's lists, Pareto fronts and hypervolume against brute force, every strategy
through the real engine with each trial's values in the journal, the balance's pick in best.json, and
single-metric studies exactly as before."""

import asyncio
import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tui_tuner import SEARCHERS, InputError, SearchSpace, make_searcher
from tui_tuner.analysis import pareto
from tui_tuner.analysis.balance import Balance
from tui_tuner.analysis.pareto import crowding_distance, hypervolume, non_dominated, pareto_ranks, rank_and_crowding
from tui_tuner.spec import load_spec
from tui_tuner.records import Finished, Started, StudyHeader
from tui_tuner.storage import StudyLog, load_config, read_journal
from tui_tuner.study import Study

TRAIN = '''
import math

def zdt1(params, trial):
    f1 = params["x"]
    g = 1 + 9 * params["y"]
    return {"f1": f1, "f2": g * (1 - math.sqrt(f1 / g)), "noise": 0.5}

def without_f2(params, trial):
    return {"f1": params["x"]}

def one_number(params, trial):
    return params["x"]
'''


def study_file(tmp_path, objective="", *, function="zdt1", strategy="random", trials=8, params=None):
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "study.yaml"
    path.write_text(f"""
name: multi
objective: {{python: "train.py:{function}", {objective or 'metric: [f1, f2], direction: [minimize, minimize]'}}}
search: {{strategy: {strategy}, trials: {trials}, workers: 1, seed: 0}}
params: {params or '{x: {type: float, low: 0.0, high: 1.0}, y: {type: float, low: 0.0, high: 1.0}}'}
""")
    return path


def run_study(path, directory):
    study = Study.create(load_spec(path), directory)
    asyncio.run(study.run())
    return study


# ------------------------------------------------------------------------------------------ the study file

@pytest.mark.parametrize("objective, field, words", [
    ("metric: [f1, f1], direction: [minimize, minimize]", "objective.metric", "'f1' twice"),
    ("metric: [f1, f2], direction: [minimize]", "objective.direction", "list of 2 directions"),
    ("metric: [f1, f2], direction: [minimize, down]", "objective.direction", "'down' for 'f2'"),
    ("metric: [f1, 3], direction: [minimize, minimize]", "objective.metric", "metric names"),
    ("metric: f1, direction: [minimize, minimize]", "objective.direction", "minimize or maximize"),
    ("metric: [f1, f2], balance: {f3: 1}", "objective.balance.f3", "not one of the study's metrics"),
    ("metric: [f1, f2], balance: {f2: 'about 2'}", "objective.balance.f2", "a limit like"),
    ("metric: [f1, f2], balance: {f2: -1}", "objective.balance.f2", "a weight"),
    ("metric: f1, balance: {f1: 1}", "objective.balance", "needs several metrics"),
])
def test_a_bad_metric_list_is_one_line_naming_the_field(tmp_path, objective, field, words):
    with pytest.raises(InputError) as caught:
        load_spec(study_file(tmp_path, objective))
    message = str(caught.value)
    assert f"{field}:" in message and words in message and "study.yaml:" in message


def test_the_cli_refuses_a_bad_direction_list_with_exit_2_and_no_traceback(tmp_path):
    path = study_file(tmp_path, "metric: [f1, f2], direction: [minimize]")
    result = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", str(path)], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "objective.direction" in lines[0] and "Traceback" not in result.stderr


def test_an_estimator_measures_fit_time_and_model_size_beside_its_scorer(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("""
objective: {model: sklearn.tree.DecisionTreeClassifier, dataset: iris, metric: [accuracy, fit_time, model_size],
            validation: {kfold: 2}}
params: {max_depth: {type: int, low: 1, high: 4}}
""")
    objective = load_spec(path).objective
    assert objective.metrics == ("accuracy", "fit_time", "model_size")
    assert objective.directions == ("maximize", "minimize", "minimize")
    from tui_tuner.trial import Trial

    shallow = objective({"max_depth": 1}, Trial.offline(seed=0, params={}))
    deep = objective({"max_depth": 4}, Trial.offline(seed=0, params={}))
    assert shallow["fit_time"] > 0 and deep["model_size"] > shallow["model_size"] > 0

    path.write_text(path.read_text().replace("[accuracy, fit_time, model_size]", "[fit_time, accuracy]"))
    with pytest.raises(InputError, match="objective.metric: must be a scikit-learn scorer followed by"):
        load_spec(path)


# ------------------------------------------------------------------------------------------ Pareto functions

def brute_ranks(points):
    ranks, remaining, rank = np.zeros(len(points), int), set(range(len(points))), 0
    while remaining:
        rank += 1
        front = {i for i in remaining if not any(np.all(points[j] <= points[i]) and np.any(points[j] < points[i])
                                                 for j in remaining)}
        for i in front:
            ranks[i] = rank
        remaining -= front
    return ranks


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(4))
def test_non_dominated_sorting_matches_brute_force_ties_included(m, seed):
    points = np.random.default_rng(seed).integers(0, 6, (60, m)).astype(float)  # few levels: many ties
    ranks = pareto_ranks(points)
    assert np.array_equal(ranks, brute_ranks(points))
    front = points[non_dominated(points)]
    assert not any(np.all(a <= b) and np.any(a < b) for a in points for b in front)


@pytest.mark.parametrize("m", [3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_non_dominated_sorting_across_blocks_matches_brute_force(m, seed, monkeypatch):
    """Points are ranked a block at a time (against all earlier ones, then within the block): with blocks of
    7, a point's dominators lie in earlier blocks, its own, or both."""
    monkeypatch.setattr(pareto, "BLOCK", 7)
    points = np.random.default_rng(seed).integers(0, 5, (60, m)).astype(float)
    ranks = brute_ranks(points)
    assert np.array_equal(pareto_ranks(points), ranks)
    assert np.array_equal(non_dominated(points), ranks == 1)


def test_crowding_keeps_the_extremes_and_prefers_the_lonely_point():
    front = np.array([[0.0, 4.0], [1.0, 3.0], [1.2, 2.8], [3.0, 1.0], [4.0, 0.0]])
    distance = crowding_distance(front)
    assert np.isinf(distance[[0, 4]]).all()
    assert distance[3] > distance[1] and distance[3] > distance[2]
    flat = np.column_stack([front, np.full(len(front), 7.0)])  # a metric equal everywhere changes nothing
    assert np.array_equal(crowding_distance(flat), distance)
    order = rank_and_crowding(np.vstack([front, [[5.0, 5.0]]]))
    assert order[-1] == 5 and set(order[:2]) == {0, 4}


def brute_hypervolume(points, reference):
    """Union of the boxes by the grid of their coordinates: a cell counts when some point dominates its corner."""
    axes = [np.unique(np.append(points[:, j], reference[j])) for j in range(len(reference))]
    volume = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        low = np.array([axes[j][i] for j, i in enumerate(cell)])
        if np.any(np.all(points <= low, axis=1)):
            volume += np.prod([axes[j][i + 1] - axes[j][i] for j, i in enumerate(cell)])
    return volume


def test_hypervolume_of_known_sets():
    assert hypervolume(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]), [4.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(np.array([[1.0, 1.0, 1.0]]), [2.0, 3.0, 4.0]) == pytest.approx(6.0)
    assert hypervolume(np.array([[5.0, 0.0]]), [4.0, 4.0]) == 0.0  # beyond the reference: nothing
    line = np.column_stack([np.linspace(0, 1, 2001), 1 - np.linspace(0, 1, 2001)])
    assert hypervolume(line, [1.0, 1.0]) == pytest.approx(0.5, abs=1e-3)  # the triangle under x + y = 1


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_brute_force(m):
    rng = np.random.default_rng(m)
    for _ in range(5):
        points = rng.random((12, m))
        assert hypervolume(points, np.full(m, 1.1)) == pytest.approx(brute_hypervolume(points, np.full(m, 1.1)))


# ------------------------------------------------------------------------------------------ the balance

VALUES = np.array([[0.95, 9.0], [0.90, 3.0], [0.80, 1.0], [0.60, 0.5], [0.70, 2.0]])  # accuracy, fit_time
METRICS, DIRECTIONS = ["accuracy", "fit_time"], ["maximize", "minimize"]


def balance(section):
    return Balance.from_yaml(section, METRICS)


def test_the_balance_picks_the_expected_trial():
    assert balance({"accuracy": 1}).pick(VALUES, METRICS, DIRECTIONS) == 0
    assert balance({"fit_time": 1}).pick(VALUES, METRICS, DIRECTIONS) == 3
    assert balance({"fit_time": "< 2"}).pick(VALUES, METRICS, DIRECTIONS) == 2  # 2 and 3 tie: the earlier
    assert balance({"fit_time": "< 2", "accuracy": 1}).pick(VALUES, METRICS, DIRECTIONS) == 2
    assert balance({"accuracy": "> 0.65", "fit_time": 1}).pick(VALUES, METRICS, DIRECTIONS) == 2  # 3 is out
    assert balance({"fit_time": "<= 3", "accuracy": ">= 0.85"}).pick(VALUES, METRICS, DIRECTIONS) == 1
    assert balance({"fit_time": "< 0.1"}).pick(VALUES, METRICS, DIRECTIONS) == 3  # none meets it: the closest
    # no balance: the front's member closest to the ideal (0.95, 0.5) in normalised metrics, never a dominated one
    assert balance(None).pick(VALUES, METRICS, DIRECTIONS) == 1  # (0.14, 0.29) from it; (0.43, 0.06) for #2
    assert Balance.from_json(balance({"fit_time": "< 2", "accuracy": 2}).to_json()) == balance(
        {"fit_time": "< 2", "accuracy": 2})


def test_the_trial_log_ranks_by_pareto_rank_and_best_is_the_balances_pick():
    log = StudyLog(DIRECTIONS, balance({"fit_time": "< 2"}))
    log.apply(StudyHeader(name="s", metric=METRICS, direction=DIRECTIONS))
    for number, values in enumerate(VALUES.tolist()):
        log.apply(Started(number, {}, 0))
        log.apply(Finished(number, values[0], {}, None, values=values))
    assert [r.number for r in log.front()] == [0, 3, 1, 2]  # extremes first, then by crowding
    assert log.pareto_rank()[4] == 2 and log.ranked()[-1].number == 4
    assert log.best().number == 2


# ------------------------------------------------------------------------------------------ searchers

SPACE = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0},
                               "y": {"type": "float", "low": 0.0, "high": 1.0}})


def test_multi_objective_tell_takes_one_value_a_metric():
    searcher = make_searcher("random", SPACE, seed=0, direction=["minimize", "maximize"])
    config = searcher.ask()
    searcher.tell(config, [1.0, 2.0])
    searcher.tell(config, None)
    searcher.tell(config, [float("nan"), 1.0])  # a NaN among them: a failed trial
    assert [v for _, v in searcher.history] == [(1.0, 2.0), None, None]
    for wrong in (1.0, [1.0], [1.0, 2.0, 3.0], "ab"):
        with pytest.raises(TypeError):
            searcher.tell(config, wrong)
    with pytest.raises(TypeError):
        make_searcher("random", SPACE, seed=0).tell(config, [1.0, 2.0])  # a single-metric searcher: a float
    with pytest.raises(InputError, match="objective.direction"):
        make_searcher("random", SPACE, seed=0, direction=["minimize", "sideways"])


def test_nsga2_breeds_from_the_front_first():
    searcher = make_searcher("genetic", SPACE, seed=0, direction=["minimize", "minimize"], population=4)
    told = [((0.1, 0.9)), (0.9, 0.1), (0.5, 0.5), (0.6, 0.6), (0.7, 0.7), (0.95, 0.95)]
    for i, values in enumerate(told):
        searcher.tell({"x": i / 10, "y": 0.0}, values)
    assert [v for _, v in searcher.population] == [(0.1, 0.9), (0.9, 0.1), (0.5, 0.5), (0.6, 0.6)]


@pytest.mark.parametrize("strategy", sorted(SEARCHERS))
def test_every_strategy_finds_better_than_random_points_on_zdt1_with_seeds_repeatable(strategy):
    def run(seed):
        searcher = make_searcher(strategy, SPACE, seed=seed, direction=["minimize", "minimize"])
        points = []
        for _ in range(24):
            config = searcher.ask()
            g = 1 + 9 * config["y"]
            points.append((config["x"], g * (1 - np.sqrt(config["x"] / g))))
            searcher.tell(config, points[-1])
        return points

    assert run(3) == run(3)
    assert hypervolume(np.array(run(3)), [1.1, 11.0]) > 9.0  # a single config at the centre scores about 5


def test_bayes_covers_clearly_more_of_a_three_metric_front_than_random_search():
    """DTLZ2 in three dimensions (front: the unit sphere's octant), 20 trials: ParEGO's one random trade-off
    an ask did no better than random search here (median of 3 seeds: 0.54 of the front's hypervolume against
    0.58); expected hypervolume improvement 0.66."""
    space = SearchSpace.from_dict({name: {"type": "float", "low": 0.0, "high": 1.0} for name in "xyz"})

    def dtlz2(config):
        g = (config["z"] - 0.5) ** 2
        a, b = config["x"] * np.pi / 2, config["y"] * np.pi / 2
        return (1 + g) * np.cos(a) * np.cos(b), (1 + g) * np.cos(a) * np.sin(b), (1 + g) * np.sin(a)

    def share(strategy, seed):
        searcher = make_searcher(strategy, space, seed=seed, direction=["minimize"] * 3)
        points = []
        for _ in range(20):
            config = searcher.ask()
            points.append(dtlz2(config))
            searcher.tell(config, points[-1])
        return hypervolume(np.array(points), [1.1] * 3) / (1.1 ** 3 - np.pi / 6)

    bayes, random = (np.median([share(strategy, seed) for seed in range(3)]) for strategy in ("bayes", "random"))
    assert bayes > random + 0.05, (bayes, random)


@pytest.mark.parametrize("strategy", sorted(SEARCHERS))
def test_a_two_metric_study_runs_end_to_end_with_each_trials_values_recorded(tmp_path, strategy):
    study = run_study(study_file(tmp_path, "metric: [f1, f2], balance: {f1: 1, f2: 1}", strategy=strategy),
                      tmp_path / "run")
    finished = [r for r in read_journal(tmp_path / "run" / "journal.jsonl") if isinstance(r, Finished)]
    assert len(finished) == 8
    for record in finished:
        assert record.values == [record.metrics["f1"], record.metrics["f2"]]
        assert record.value == record.values[0]
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["trial"] == study.log.best().number and best["trial"] in [r.number for r in study.log.front()]
    assert best["values"] == {"f1": best["metrics"]["f1"], "f2": best["metrics"]["f2"]}
    assert best["metric"] == "f1" and best["value"] == best["values"]["f1"] and best["direction"] == "minimize"
    assert best["balance"]["weights"] == {"f1": 1.0, "f2": 1.0}
    assert load_config(tmp_path / "run" / "best.json")["params"] == study.log.best().params
    # resumed, the searcher is told each earlier trial's values and the log reads the same
    reopened = Study.open(tmp_path / "run")
    assert reopened.log.multi and [r.number for r in reopened.log.ranked()] == [r.number for r in study.log.ranked()]


def test_a_result_without_one_of_the_metrics_fails_the_trial_naming_it(tmp_path):
    study = run_study(study_file(tmp_path, function="without_f2", trials=2), tmp_path / "a")
    reasons = {r.reason for r in study.log.records.values()}
    assert all(r.state == "failed" for r in study.log.records.values())
    assert len(reasons) == 1 and "no 'f2'" in reasons.pop()
    study = run_study(study_file(tmp_path, function="one_number", trials=1), tmp_path / "b")
    assert "needs a dict holding each of them" in study.log.records[0].reason


def test_a_single_metric_study_is_as_before(tmp_path):
    run_study(study_file(tmp_path, "metric: f1, direction: minimize", trials=3), tmp_path / "run")
    lines = (tmp_path / "run" / "journal.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # the journal's own format
    assert records[0]["metric"] == "f1" and records[0]["direction"] == "minimize" and "balance" not in records[0]
    finished = [r for r in records if r["event"] == "finished"]
    assert finished and all(set(r) == {"event", "number", "value", "metrics", "duration", "time"} for r in finished)
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert not {"values", "directions", "balance"} & set(best)
    assert best["value"] == min(r["value"] for r in finished)


def test_a_resumed_two_metric_study_tells_its_searcher_the_earlier_values(tmp_path):
    run_study(study_file(tmp_path, strategy="bayes", trials=6), tmp_path / "run")
    study = Study.open(tmp_path / "run", write=True, trials=10)
    asyncio.run(study.run())
    finished = [r for r in read_journal(tmp_path / "run" / "journal.jsonl") if isinstance(r, Finished)]
    assert sorted(r.number for r in finished) == list(range(10)) and all(len(r.values) == 2 for r in finished)
    assert len({(r.metrics["f1"], r.metrics["f2"]) for r in finished}) == 10  # none run twice


def test_the_journal_schema_checks_a_finished_records_values():
    from tui_tuner.storage.schema import record_problem

    good = {"event": "finished", "number": 1, "value": 0.5, "values": [0.5, 2.0], "metrics": {}}
    assert record_problem(good) is None
    assert "values is ['a', 2.0], not a list of finite numbers" in record_problem({**good, "values": ["a", 2.0]})
    assert "is not its first of values" in record_problem({**good, "values": [0.4, 2.0]})


def test_run_ends_with_the_front_and_the_balances_pick(tmp_path):
    path = study_file(tmp_path, "metric: [f1, f2], direction: [minimize, minimize]", trials=6)
    result = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", str(path), "--study", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    log = StudyLog.replay(read_journal(tmp_path / "r" / "journal.jsonl"))
    assert f"Pareto front ({len(log.front())} trials)" in result.stdout and "f1 ↓" in result.stdout
    assert "picked by the balance (closest to the ideal point" in result.stdout
    assert f"trial {log.best().number}, f1 = " in result.stdout


def test_analyze_json_gives_the_pareto_front_as_the_contract_says(tmp_path):
    path = study_file(tmp_path, "metric: [f1, f2], direction: [minimize, maximize]", trials=12)
    env = {**os.environ, "COLUMNS": "200"}
    run = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", str(path), "--study", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    analyze = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "analyze", str(tmp_path / "r"), "--json"],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert analyze.returncode == 0, analyze.stderr
    out = json.loads(analyze.stdout)
    pareto = out["pareto"]
    assert set(out["by_metric"]) == {"f1", "f2"} and out["importance"] == out["by_metric"]["f1"]["importance"]
    finished = [r for r in read_journal(tmp_path / "r" / "journal.jsonl") if isinstance(r, Finished)]
    points = {r.number: (r.values[0], -r.values[1]) for r in finished}  # both minimised

    def dominated(p):
        return any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points.values())

    assert {t["number"] for t in pareto} == {n for n, p in points.items() if not dominated(p)}
    for trial in pareto:
        assert set(trial["values"]) == {"f1", "f2"} and isinstance(trial["params"], dict)
        assert (trial["values"]["f1"], -trial["values"]["f2"]) == points[trial["number"]]
