"""Parameter importance as a user meets it: right on functions whose answer is known, stable across seeds,
honest when it cannot say, and `tui-tuner analyze` / the run summary built on it."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tui_tuner.analysis.importance import INACTIVE, MAX_TRIALS, importance_by_metric, param_importance
from tui_tuner.cli import main
from tui_tuner.records import Failed, Finished, Pruned, Started, StudyHeader
from tui_tuner.space import SearchSpace
from tui_tuner.storage import Journal, TrialRecord

TESTS = Path(__file__).parent
UNIT = {"type": "float", "low": 0.0, "high": 1.0}
LINEAR = SearchSpace.from_dict({"x1": UNIT, "x2": UNIT, "x3": UNIT})
MIXED = SearchSpace.from_dict({
    "opt": {"type": "categorical", "choices": ["a", "b", "c"]},
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "units": {"type": "int", "low": 1, "high": 8},
})
CONDITIONAL = SearchSpace.from_dict({
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
    "momentum": {**UNIT, "when": {"optimizer": "sgd"}},
    "x": UNIT,
})


def linear(c, rng):
    return 10 * c["x1"] + 1 * c["x2"] + 0 * c["x3"] + rng.normal(0, 0.1)


def mixed(c, rng):
    return {"a": 0.0, "b": 5.0, "c": 10.0}[c["opt"]] + math.log10(c["lr"]) + rng.normal(0, 0.1)


def conditional(c, rng):
    return (6 * c["momentum"] if c["optimizer"] == "sgd" else 2.0) + 0.5 * c["x"] + rng.normal(0, 0.1)


def finished(space, f, n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        config = space.sample(rng)
        out.append(SimpleNamespace(state="finished", value=float(f(config, rng)), params=config))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_dominant_one_small_one_irrelevant_param_come_out_as_built(seed):
    # analytic shares 0.990 / 0.010 / 0; a forest shrinks the small effect, as Optuna's does (bench/importance.py)
    result = param_importance(finished(LINEAR, linear, 200, seed), LINEAR, seed=seed)
    shares = result.importance
    assert list(shares) == ["x1", "x2", "x3"]
    assert shares["x1"] > 0.95 and 0.001 < shares["x2"] < 0.05 and shares["x3"] < 0.005
    assert sum(shares.values()) == pytest.approx(1.0)
    assert result.trials == 200 and result.note is None
    assert 0.9 < result.main_effects <= 1.0  # additive: single params explain nearly everything


def test_diverged_trials_with_values_past_1e154_still_give_the_param_that_diverges_them(recwarn):
    """x1 above 0.7 diverges to 1e200 (its variance overflowed, and both params were shown at "<1%")."""
    def diverging(c, rng):
        return 1e200 if c["x1"] > 0.7 else linear(c, rng)

    result = param_importance(finished(LINEAR, diverging, 60), LINEAR)
    assert result.importance["x1"] > 0.9
    assert result.sensitivity["x1"].worst == "0.9..1"
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_the_shares_hardly_move_with_the_seeds():
    x1 = [param_importance(finished(LINEAR, linear, 200, s), LINEAR, seed=s).importance["x1"] for s in range(3)]
    assert max(x1) - min(x1) < 0.01


def test_on_float_params_the_shares_are_optunas_own():
    """The same forest (64 trees, the same seed) and the same per-tree marginal variances as Optuna's
    FanovaImportanceEvaluator give the same shares, to rounding."""
    optuna = pytest.importorskip("optuna")
    from optuna.distributions import FloatDistribution

    records = finished(LINEAR, linear, 50, seed=3)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for r in records:
        study.add_trial(optuna.trial.create_trial(params=r.params, value=r.value,
                                                  distributions={k: FloatDistribution(0.0, 1.0) for k in r.params}))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=3)
    theirs = optuna.importance.get_param_importances(study, evaluator=evaluator)
    ours = param_importance(records, LINEAR, seed=3).importance
    assert ours == pytest.approx(dict(theirs), rel=1e-9, abs=1e-12)


def test_a_dominant_categorical_param_and_a_log_param_on_the_log_scale():
    result = param_importance(finished(MIXED, mixed, 200), MIXED)
    shares = result.importance
    assert list(shares) == ["opt", "lr", "units"]
    assert shares["opt"] == pytest.approx(0.926, abs=0.03)   # (50/3) / (50/3 + 16/12)
    assert shares["lr"] == pytest.approx(0.074, abs=0.03)
    assert shares["units"] < 0.005
    opt = result.sensitivity["opt"]
    assert (opt.best, opt.worst) == ("a", "c") and 8.5 < opt.spread < 10.5
    assert [label for label, _ in opt.regions] == ["a", "b", "c"]
    lr = result.sensitivity["lr"]
    assert lr.best.startswith("0.0001..") and lr.worst.endswith("..1")  # the lowest decade-bin is best
    assert 3.0 < lr.spread < 4.0  # log10 across 4 decades, in bins of 0.4 decades: 3.6
    assert [label for label, _ in result.sensitivity["units"].regions] == [str(i) for i in range(1, 9)]


def test_maximize_swaps_best_and_worst():
    result = param_importance(finished(MIXED, mixed, 200), MIXED, "maximize")
    assert (result.sensitivity["opt"].best, result.sensitivity["opt"].worst) == ("c", "a")


def test_a_conditional_param_gets_its_share_by_the_law_of_total_variance():
    # between optimizers 0.25, momentum within sgd 0.5 * Var(6 m) = 1.5, x 0.25 / 12: shares .141 / .847 / .012
    result = param_importance(finished(CONDITIONAL, conditional, 300), CONDITIONAL)
    assert list(result.importance) == ["momentum", "optimizer", "x"]
    assert result.importance["momentum"] == pytest.approx(0.847, abs=0.03)
    assert result.importance["optimizer"] == pytest.approx(0.141, abs=0.03)
    momentum = result.sensitivity["momentum"]
    assert momentum.regions[-1][0] == INACTIVE
    assert (momentum.best, momentum.worst) == ("0..0.1", "0.9..1")
    assert dict(momentum.regions)[INACTIVE] == pytest.approx(2.25, abs=0.1)  # adam: 2 + 0.5 E[x]
    assert dict(result.sensitivity["optimizer"].regions) == pytest.approx({"sgd": 3.25, "adam": 2.25}, abs=0.1)


def test_a_parent_is_judged_with_its_child_averaged_over_where_it_is_active():
    # opt = a switches m on: E[value | a] = 1 + E[m] = 6, above c's 5 and b's 2, though a alone is the worst
    space = SearchSpace.from_dict({"opt": {"type": "categorical", "choices": ["a", "b", "c"]},
                                   "m": {"type": "float", "low": 0.0, "high": 10.0, "when": {"opt": "a"}}})

    def f(c, rng):
        return {"a": 1.0, "b": 2.0, "c": 5.0}[c["opt"]] + (c["m"] if c["opt"] == "a" else 0.0)

    result = param_importance(finished(space, f, 200), space, "maximize")
    assert dict(result.sensitivity["opt"].regions) == pytest.approx({"a": 6.0, "b": 2.0, "c": 5.0}, abs=0.2)
    assert (result.sensitivity["opt"].best, result.sensitivity["opt"].worst) == ("a", "b")
    # Var(E[value | opt]) = 26/9, E[Var within] = 1/3 * 100/12: shares .51 / .49
    assert result.importance["opt"] == pytest.approx(0.51, abs=0.04)
    assert result.main_effects == pytest.approx(1.0, abs=0.02)


def test_near_the_best_a_param_that_matters_only_there_comes_first():
    # x1 dominates over the space, but below 0.25 it no longer moves the value and x2 decides
    def f(c, rng):
        return 10 * max(c["x1"] - 0.25, 0.0) + c["x2"] + rng.normal(0, 0.01)

    result = param_importance(finished(LINEAR, f, 400), LINEAR)
    assert next(iter(result.importance)) == "x1"
    assert result.near_best is not None and next(iter(result.near_best)) == "x2"
    assert sum(result.near_best.values()) == pytest.approx(1.0)


def test_failed_pruned_and_running_trials_are_left_out():
    good = finished(LINEAR, linear, 100)
    junk = [SimpleNamespace(state=state, value=None if state != "pruned" else 1e9, params={"x1": 0.0, "x2": 0.0,
                                                                                          "x3": 0.0})
            for state in ("failed", "pruned", "running", "interrupted") for _ in range(30)]
    nan = [SimpleNamespace(state="finished", value=float("nan"), params={"x1": 0.5, "x2": 0.5, "x3": 0.5})]
    alone, mixed_in = param_importance(good, LINEAR), param_importance(good + junk + nan, LINEAR)
    assert mixed_in.trials == 100
    assert mixed_in.importance == alone.importance


@pytest.mark.parametrize("n", [0, 1, 9])
def test_too_few_finished_trials_say_so_instead_of_guessing(n):
    records = finished(LINEAR, linear, n) + [SimpleNamespace(state="failed", value=None, params={})] * 20
    result = param_importance(records, LINEAR)
    assert result.importance == {} and result.trials == n
    assert f"too few finished trials to say: {n}, at least 10 needed" in result.note
    assert result.to_json()["note"] == result.note


def test_one_value_for_every_trial_says_no_param_changed_it():
    records = [SimpleNamespace(state="finished", value=1.0, params=c.params) for c in finished(LINEAR, linear, 20)]
    result = param_importance(records, LINEAR)
    assert result.importance == {} and "all 20 finished trials have the same value" in result.note


def test_a_param_never_varied_is_named_and_gets_no_share():
    records = finished(LINEAR, linear, 50)
    for r in records:
        r.params["x3"] = 0.5
    result = param_importance(records, LINEAR)
    assert result.importance["x3"] == 0.0 and "never varied, so not assessed: x3" in result.note
    assert "x3" not in result.sensitivity


def test_trials_outside_the_space_are_counted_out():
    records = finished(LINEAR, linear, 40) + [SimpleNamespace(state="finished", value=1.0, params={"x1": 7.0})]
    result = param_importance(records, LINEAR)
    assert result.trials == 40 and "1 finished trials left out" in result.note


def test_many_trials_are_subsampled_and_say_so():
    result = param_importance(finished(MIXED, mixed, MAX_TRIALS + 300), MIXED)
    assert result.trials == MAX_TRIALS
    assert f"fitted on a random {MAX_TRIALS} of the {MAX_TRIALS + 300} finished trials (subsampled)" in result.note
    assert list(result.importance)[0] == "opt"


# ------------------------------------------------------------------------------------------- tui-tuner analyze

STUDY_YAML = """
name: analyze-test
objective:
  python: "cli_objectives:quadratic"
  metric: value
  direction: minimize
search: {strategy: random, trials: 40, workers: 1, seed: 0}
params:
  x1: {type: float, low: 0.0, high: 1.0}
  x2: {type: float, low: 0.0, high: 1.0}
  x3: {type: float, low: 0.0, high: 1.0}
"""


def write_study_dir(directory: Path, records) -> Path:
    """A study directory as `tui-tuner run` leaves it: the snapshot and a journal with every kind of trial."""
    directory.mkdir()
    (directory / "study.yaml").write_text(STUDY_YAML)
    with Journal(directory / "journal.jsonl") as journal:
        journal.append(StudyHeader(name="analyze-test", metric="value", direction="minimize", base_dir=str(TESTS),
                                   settings={"strategy": "random", "strategy_options": {}, "trials": 40,
                                             "workers": 1, "seed": 0, "time_budget": None, "trial_timeout": None}))
        for number, rec in enumerate(records):
            journal.append(Started(number, rec.params, number))
            if rec.state == "finished":
                journal.append(Finished(number, rec.value, None, 0.1))
            elif rec.state == "failed":
                journal.append(Failed(number, "boom", None))
            elif rec.state == "pruned":
                journal.append(Pruned(number, 1, None))
    return directory


def with_every_state(records):
    other = {"x1": 0.1, "x2": 0.2, "x3": 0.3}
    return records + [SimpleNamespace(state=s, value=None, params=other) for s in ("failed", "pruned", "running")]


def run_analyze(*args):
    return subprocess.run([sys.executable, "-m", "tui_tuner.cli", "analyze", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_analyze_json_is_one_object_with_the_importance_of_the_finished_trials(tmp_path):
    study = write_study_dir(tmp_path / "s", with_every_state(finished(LINEAR, linear, 60)))
    done = run_analyze(study, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out["importance"]) == ["x1", "x2", "x3"] and sum(out["importance"].values()) == pytest.approx(1)
    assert out["trials"] == 60 and "note" not in out
    assert out["sensitivity"]["x1"]["best"]["region"] == "0..0.1"
    assert set(out["near_best"]) == {"x1", "x2", "x3"}


def test_analyze_prints_a_table_of_shares_and_regions(tmp_path, capsys):
    study = write_study_dir(tmp_path / "s", finished(LINEAR, linear, 60))
    assert main(["analyze", str(study)]) == 0
    out = capsys.readouterr().out
    assert "param importance" in out and "60 finished trials" in out
    rows = [line for line in out.splitlines() if line.strip("│ ").startswith(("x1", "x2", "x3"))]
    assert [row.strip("│ ").split()[0] for row in rows] == ["x1", "x2", "x3"]
    assert "0..0.1" in rows[0] and "0.9..1" in rows[0]


def test_analyze_with_too_few_trials_says_so_and_exits_0(tmp_path, capsys):
    study = write_study_dir(tmp_path / "s", with_every_state(finished(LINEAR, linear, 4)))
    assert main(["analyze", str(study), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["importance"] == {} and out["trials"] == 4 and "too few finished trials" in out["note"]
    assert main(["analyze", str(study)]) == 0
    assert "note: too few finished trials to say: 4" in capsys.readouterr().out


def test_analyze_bad_input_is_one_line_and_exit_2(tmp_path):
    done = run_analyze(tmp_path / "nowhere")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "nowhere: not a study directory (no journal.jsonl)" in done.stderr
    study = write_study_dir(tmp_path / "s", finished(LINEAR, linear, 20))
    (study / "study.yaml").write_text(STUDY_YAML.replace("high: 1.0}\n  x3", "high: -1.0}\n  x3"))
    done = run_analyze(study)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "study.yaml:10: params.x2.low: low must be < high" in done.stderr
    with open(study / "journal.jsonl", "a") as f:
        f.write('{"event": "finished", "number": "seven"}\n')
    done = run_analyze(study)
    assert done.returncode == 2 and "journal.jsonl:" in done.stderr and "tui-tuner repair" in done.stderr


def test_the_run_summary_ranks_the_params(tmp_path, monkeypatch, capsys):
    from tui_tuner.progress import Progress
    from tui_tuner.study import Study

    monkeypatch.syspath_prepend(str(TESTS))
    study = Study.open(write_study_dir(tmp_path / "s", with_every_state(finished(LINEAR, linear, 30))))
    Progress(study).print_summary()
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("importance"))
    assert re.fullmatch(rf"importance \(fANOVA, 30 trials\): x1 (99|100)%, x2 \S+%, x3 \S+%; "
                        rf"more: tui-tuner analyze {re.escape(str(study.directory))}", line)


def test_with_several_metrics_the_first_one_is_explained_in_its_direction():
    records = finished(MIXED, mixed, 100)
    result = param_importance(records, MIXED, ["maximize", "minimize"])
    assert result.importance == param_importance(records, MIXED, "maximize").importance
    assert result.sensitivity["opt"].best == "c" and result.note == "several metrics: the importance for the first"


def test_a_pure_interaction_is_said_to_be_one_rather_than_shared_out():
    # the sign of (x1 - 0.5)(x2 - 0.5): no param moves the value on its own
    def xor(c, rng):
        return float((c["x1"] > 0.5) != (c["x2"] > 0.5)) + rng.normal(0, 0.01)

    result = param_importance(finished(LINEAR, xor, 300), LINEAR)
    assert result.main_effects < 0.5
    assert "interactions between params matter more than the shares show" in result.note


def test_an_irrelevant_conditional_param_has_a_flat_marginal_at_the_mean():
    # a tree that never splits on momentum must still average the value over its whole range, active or not
    def f(c, rng):
        return 4 * c["x"] + rng.normal(0, 0.01)

    result = param_importance(finished(CONDITIONAL, f, 200), CONDITIONAL)
    means = [value for _, value in result.sensitivity["momentum"].regions]
    assert result.sensitivity["momentum"].spread < 0.2
    assert all(v == pytest.approx(2.0, abs=0.2) for v in means)


@pytest.mark.slow
@pytest.mark.parametrize("strategy, trials, x1_above, x3_below",
                         [("random", 150, 0.9, 0.02), ("bayes", 60, 0.5, 0.1)])
def test_run_then_analyze_finds_the_dominant_and_the_irrelevant_param(tmp_path, strategy, trials, x1_above,
                                                                       x3_below):
    # bayes crowds its trials near the best, so the forest sees little of the rest of the space and the
    # shares blur (Optuna's fANOVA gives the very same numbers on those trials); the ranking holds
    (tmp_path / "known.py").write_text(
        "import math\n\n"
        "def objective(params, trial):\n"
        "    if params['x3'] > 0.95:\n"
        "        raise ValueError('a failure the analysis must leave out')\n"
        "    return 10 * params['x1'] + params['x2'] + 0 * params['x3']\n")
    study = STUDY_YAML.replace("cli_objectives:quadratic", "known.py:objective")
    # ask_share: null: the same trials every run (against a 0 ms objective the governor would cut bayes's
    # asks, by how much depending on the machine's load)
    (tmp_path / "study.yaml").write_text(study.replace("strategy: random, trials: 40",
                                                       f"strategy: {strategy}, trials: {trials}, ask_share: null"))
    done = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", str(tmp_path / "study.yaml"), "--study",
                           str(tmp_path / "runs")], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"importance \(fANOVA, \d+ trials\): x1 ", done.stdout)
    out = json.loads(run_analyze(tmp_path / "runs", "--json").stdout)
    assert list(out["importance"]) == ["x1", "x2", "x3"]
    assert out["importance"]["x1"] > x1_above and out["importance"]["x3"] < x3_below
    assert out["sensitivity"]["x1"]["best"]["region"] == "0..0.1"


def test_every_region_of_a_discrete_param_has_a_label_of_its_own():
    space = SearchSpace.from_dict({
        "layers": {"type": "int", "low": 1, "high": 20, "log": True},   # 1's cell spans 3 bins of the log scale
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        "units": {"type": "int", "low": 16, "high": 512, "log": True},
        "scale": {"type": "float", "low": 1.0, "high": 1.001},
    })

    def f(c, rng):
        return math.log(c["layers"]) + c["dropout"] + rng.normal(0, 0.01)

    result = param_importance(finished(space, f, 100), space)
    for name, sens in result.sensitivity.items():
        labels = [label for label, _ in sens.regions]
        assert len(set(labels)) == len(labels), (name, labels)
    assert [label for label, _ in result.sensitivity["dropout"].regions] == ["0", "0.25", "0.5"]
    assert result.sensitivity["layers"].regions[0][0] == "1" and result.sensitivity["layers"].best == "1"
    assert result.sensitivity["units"].regions[0][0] == "16..21"


def test_nested_and_several_parent_conditions_still_give_shares_that_sum_to_1():
    # an int parent is modelled like a categorical one; a float parent or two parents fall back to the box
    space = SearchSpace.from_dict({
        "opt": {"type": "categorical", "choices": ["sgd", "adam"]},
        "mom": {**UNIT, "when": {"opt": "sgd"}},
        "nested": {**UNIT, "when": {"mom": 0.5}},
        "layers": {"type": "int", "low": 1, "high": 4},
        "third": {"type": "int", "low": 1, "high": 100, "log": True, "when": {"layers": [3, 4]}},
        "both": {**UNIT, "when": {"opt": "adam", "layers": 2}},
    })

    def f(c, rng):
        return c["layers"] + math.log(c.get("third", 1)) + 3 * c.get("mom", 0.0) + rng.normal(0, 0.01)

    result = param_importance(finished(space, f, 300), space)
    assert sum(result.importance.values()) == pytest.approx(1.0) and set(result.importance) == set(space.names)
    assert list(result.importance)[:2] == ["layers", "third"] and result.importance["both"] < 0.01
    assert all(math.isfinite(v) for s in result.sensitivity.values() for _, v in s.regions)
    assert result.sensitivity["layers"].best == "1" and result.sensitivity["third"].worst == "60..100"


def test_each_of_several_metrics_gets_its_own_importance(tmp_path):
    # accuracy is all x1, fit time all x2: one ranking for both would hide what each knob costs
    space = LINEAR
    rng = np.random.default_rng(0)
    records = []
    for n in range(80):
        c = space.sample(rng)
        values = [10 * c["x1"] + 0.1 * c["x3"], 10 * c["x2"] + 0.1 * c["x3"]]
        records.append(TrialRecord(number=n, params=c, seed=n, state="finished", value=values[0], values=values))
    by_metric = importance_by_metric(records, space, ["accuracy", "fit_time"], ["maximize", "minimize"])
    assert next(iter(by_metric["accuracy"].importance)) == "x1" and by_metric["accuracy"].importance["x1"] > 0.8
    assert next(iter(by_metric["fit_time"].importance)) == "x2" and by_metric["fit_time"].importance["x2"] > 0.8
    assert by_metric["fit_time"].sensitivity["x2"].best == "0..0.1"  # low x2: fast
    assert by_metric["accuracy"].note is None
