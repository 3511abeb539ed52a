"""Built-in objectives run in-process here (the engine tests cover worker processes)."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from tui_tuner.errors import InputError
from tui_tuner.objectives import build_objective
from tui_tuner.objectives.datasets import BUNDLED, dataset_from_yaml
from tui_tuner.trial import Trial

SAMPLES = Path(__file__).parent.parent / "sample_spaces"


def build(**section):
    return build_objective(section, base_dir=Path.cwd(), file="study.yaml")


def test_cross_validation_reports_each_fold_and_returns_mean_and_spread():
    objective = build(model="sklearn.linear_model.LogisticRegression", dataset="iris",
                      validation={"kfold": 4}, fixed={"max_iter": 500})
    trial = Trial.offline(seed=1)
    result = objective({"C": 1.0}, trial)
    assert set(result) == {"accuracy", "accuracy_std"} and 0.85 < result["accuracy"] <= 1.0
    assert [step for step, _ in trial.reports] == [0, 1, 2, 3]
    assert trial.reports[-1][1]["accuracy"] == pytest.approx(result["accuracy"])
    worse = objective({"C": 1e-4}, Trial.offline(seed=1))["accuracy"]
    assert worse < result["accuracy"]  # the param reached the model


def test_the_test_split_is_cut_before_tuning_and_scored_apart():
    objective = build(model="sklearn.tree.DecisionTreeClassifier", dataset="breast_cancer",
                      validation={"holdout": 0.25}, test_fraction=0.3)
    objective.prepare()
    X, y, X_test, y_test, splits = objective._data
    assert len(X) + len(X_test) == 569 and len(X_test) == pytest.approx(0.3 * 569, abs=1)
    (train, valid), = splits
    assert len(train) + len(valid) == len(X)  # validation folds come from the tuning part only
    score = objective.test_score({"max_depth": 3}, seed=0)
    assert 0.8 < score <= 1.0
    assert build(model="sklearn.tree.DecisionTreeClassifier", dataset="iris",
                 test_fraction=0).test_score({}, seed=0) is None


def test_regressors_default_to_r2_and_plain_kfold():
    objective = build(model="sklearn.linear_model.Ridge", dataset="diabetes", validation={"kfold": 3})
    assert objective.metric == "r2" and objective.direction == "maximize"
    assert 0.2 < objective({"alpha": 1.0}, Trial.offline())["r2"] < 0.7


def test_time_series_validation_trains_on_the_past_only():
    objective = build(model="sklearn.linear_model.Ridge", dataset={"name": "regression", "n_samples": 120},
                      validation={"timeseries": 3}, test_fraction=0)
    objective.prepare()
    for train, valid in objective._data[4]:
        assert train.max() < valid.min()


def test_pipeline_params_reach_their_step_and_the_scaler_can_be_tuned():
    objective = build(model="sklearn.svm.SVC", dataset="digits", scaler="standard")
    pipe = objective.build({"model__C": 3.0, "scaler__with_mean": False}, seed=0)
    assert pipe.named_steps["model"].C == 3.0 and pipe.named_steps["scaler"].with_mean is False
    minmax = objective.build({"scaler": "minmax", "model__C": 1.0}, seed=0)
    assert type(minmax.named_steps["scaler"]).__name__ == "MinMaxScaler"
    assert type(objective.build({"scaler": "none"}, seed=0)).__name__ == "SVC"
    with pytest.raises(InputError, match="the scaler has no parameter 'with_meen'"):
        objective.check_params(["scaler__with_meen"], file="study.yaml")
    with pytest.raises(InputError, match="unknown pipeline step 'scalar'"):
        objective.check_params(["scalar__with_mean"], file="study.yaml")


def test_the_trial_seed_seeds_the_model_so_trials_repeat():
    objective = build(model="sklearn.ensemble.RandomForestClassifier", dataset="wine",
                      validation={"kfold": 3}, fixed={"n_estimators": 5})
    a = objective({}, Trial.offline(seed=7))
    b = objective({}, Trial.offline(seed=7))
    assert a == b
    assert objective.build({}, seed=7).random_state == 7


def test_objectives_pickle_without_their_data():
    objective = build(model="sklearn.linear_model.LogisticRegression", dataset="iris")
    objective.prepare()
    copy = pickle.loads(pickle.dumps(objective))
    assert copy._data is None and copy.metric == "accuracy"


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_datasets_load(name):
    X, y = dataset_from_yaml(name, base_dir=Path.cwd(), file=None).load()
    assert X.ndim == 2 and len(X) == len(y) > 100


def test_synthetic_datasets_take_size_noise_and_seed():
    spec = dataset_from_yaml({"name": "moons", "n_samples": 123, "noise": 0.3, "seed": 4}, base_dir=Path.cwd(),
                             file=None)
    X, y = spec.load()
    assert X.shape == (123, 2) and set(y) == {0, 1}
    again, _ = spec.load()
    other, _ = dataset_from_yaml({"name": "moons", "n_samples": 123, "seed": 5}, base_dir=Path.cwd(),
                                 file=None).load()
    assert np.array_equal(X, again) and not np.array_equal(X, other)
    X, _ = dataset_from_yaml({"name": "classification", "n_features": 7, "n_informative": 3},
                             base_dir=Path.cwd(), file=None).load()
    assert X.shape == (500, 7)


def test_csv_datasets_with_label_targets(tmp_path):
    rows = "\n".join(f"{i / 10},{(i % 3) * 1.5},{'cat' if i % 2 else 'dog'}" for i in range(30))
    (tmp_path / "pets.csv").write_text("weight,height,kind\n" + rows + "\n")
    objective = build_objective({"model": "sklearn.tree.DecisionTreeClassifier",
                                 "dataset": {"csv": "pets.csv", "target": "kind"}, "validation": {"kfold": 2}},
                                base_dir=tmp_path, file="study.yaml")
    X, y = objective.dataset.load()
    assert X.shape == (30, 2) and set(y) == {"cat", "dog"}
    assert 0.0 <= objective({}, Trial.offline())["accuracy"] <= 1.0


def test_a_python_objective_imports_train_py_beside_the_study_file():
    objective = build_objective({"python": "train.py:objective", "test": "train.py:test", "metric": "val_loss"},
                                base_dir=SAMPLES, file="python_objective.yaml")
    copy = pickle.loads(pickle.dumps(objective))  # what a worker receives
    params = {"learning_rate": 0.3, "decay": 0.1, "l2": 1e-4, "batch_size": 64, "epochs": 5}
    trial = Trial.offline(seed=0)
    result = copy(params, trial)
    assert set(result) == {"val_loss", "val_accuracy"} and result["val_accuracy"] > 0.8
    assert [step for step, _ in trial.reports] == [0, 1, 2, 3, 4]
    assert set(trial.reports[0][1]) == {"loss", "val_loss", "val_accuracy", "lr"}
    assert trial.reports[1][1]["lr"] < trial.reports[0][1]["lr"]  # the decay schedule shows in the curve
    assert copy.test_score(params, seed=0)["val_accuracy"] > 0.8


def test_a_module_function_objective():
    objective = build_objective({"python": "cli_objectives:quadratic", "fixed": {"unused": 1}},
                                base_dir=Path.cwd(), file="s.yaml")
    trial = Trial.offline()
    assert objective({"x": 0.5}, trial) == pytest.approx(0.04) and len(trial.reports) == 3


def test_the_builtin_mlp_reports_every_epoch_on_a_holdout_split():
    objective = build(model="mlp", dataset="digits")
    assert objective.validation.kind == "holdout" and objective.scaler == "standard"
    trial = Trial.offline(seed=0)
    result = objective({"hidden_units": 32, "epochs": 4, "learning_rate": 0.01, "lr_schedule": "exponential",
                        "lr_decay": 0.5}, trial)
    assert result["accuracy"] > 0.85 and result["epochs"] == 4
    assert [step for step, _ in trial.reports] == [0, 1, 2, 3]
    assert set(trial.reports[0][1]) == {"accuracy", "loss", "val_loss", "lr"}
    assert trial.reports[3][1]["lr"] == pytest.approx(0.01 * np.exp(-1.5))  # the schedule, epoch by epoch
    assert trial.reports[-1][1]["accuracy"] == pytest.approx(result["accuracy"])


def test_mlp_on_a_regression_set_is_the_regressor():
    objective = build(model="mlp", dataset="diabetes", fixed={"epochs": 30, "learning_rate": 0.01})
    assert objective.model.endswith("MLPRegressor") and objective.metric == "r2"
    assert objective({}, Trial.offline())["r2"] > 0.2


class PruneAt:
    """A trial whose pruner says stop from `step` on."""

    def __init__(self, step):
        self.step = step
        self.reports = []

    def report(self, step, values):
        self.reports.append(step)
        return step >= self.step


def test_an_epoch_model_stops_when_the_pruner_says_so():
    from tui_tuner.errors import TrialPruned

    channel = PruneAt(2)
    with pytest.raises(TrialPruned):
        build(model="softmax", dataset="iris")({"epochs": 50}, Trial(0, 0, {}, channel))
    assert channel.reports == [0, 1, 2]


def test_partial_fit_estimators_train_by_epoch_when_the_study_sets_epochs():
    objective = build(model="sklearn.linear_model.SGDClassifier", dataset="digits", epochs=3, scaler="standard")
    trial = Trial.offline(seed=0)
    assert objective({"alpha": 1e-4}, trial)["accuracy"] > 0.85
    assert [step for step, _ in trial.reports] == [0, 1, 2]
    assert objective.test_score({"alpha": 1e-4}, seed=0) > 0.85


@pytest.mark.parametrize("section, message", [
    ({"model": "svc", "dataset": "digits"}, "objective.model: unknown model 'svc'; use mlp, softmax"),
    ({"model": "softmax", "dataset": "diabetes"}, "softmax is a classifier and diabetes is a regression"),
    ({"model": "mlp", "dataset": "digits", "validation": {"kfold": 3}}, "use {holdout: FRACTION}"),
    ({"model": "sklearn.svm.SVC", "dataset": "digits", "epochs": 3}, "SVC has no partial_fit"),
    ({"model": "mlp", "dataset": "digits", "epochs": 0}, "objective.epochs: must be a whole number, at least 1, got 0"),
])
def test_epoch_training_mistakes_name_the_field(section, message):
    with pytest.raises(InputError, match=message.replace("{", r"\{").replace("}", r"\}")):
        build(**section)


def test_a_trial_that_trained_every_epoch_is_kept_even_if_the_pruner_objects():
    channel = PruneAt(3)
    result = build(model="softmax", dataset="iris")({"epochs": 4}, Trial(0, 0, {}, channel))
    assert result["epochs"] == 4 and channel.reports == [0, 1, 2, 3]
