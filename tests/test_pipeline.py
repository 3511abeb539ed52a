"""Your own data and pipeline: a CSV with text columns and empty cells, steps named in the study file and tuned
as step__param, every step fitted inside the fold it is scored on."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score

from tui_tuner.cli import main
from tui_tuner.errors import InputError
from tui_tuner.objectives import build_objective
from tui_tuner.trial import Trial

CITIES = ("paris", "rome", "oslo")


def write_csv(path: Path, rows: int = 60) -> Path:
    """age, income (numbers, some empty), city, color (text, some empty) and a text label the city and age
    decide: a forest learns it only through the encoded city."""
    rng = np.random.default_rng(0)
    lines = ["age,income,city,color,label"]
    for i in range(rows):
        city, age = CITIES[i % 3], 20 + (i * 7) % 50
        label = "yes" if (city == "oslo") != (age > 45) else "no"
        cells = [str(age), f"{rng.normal(50, 15):.1f}", city, ("red", "blue")[i % 2]]
        if i % 5 == 1:
            cells[i % 4] = ""  # one empty cell in every fifth row, across all four columns
        lines.append(",".join([*cells, label]))
    path.write_text("\n".join(lines) + "\n")
    return path


def objective_of(tmp_path, **section):
    write_csv(tmp_path / "data.csv")
    section = {"model": "sklearn.ensemble.RandomForestClassifier", "dataset": {"csv": "data.csv", "target": "label"},
               "validation": {"kfold": 3}, "fixed": {"n_estimators": 10}, **section}
    return build_objective(section, base_dir=tmp_path, file="study.yaml")


def fitted_in_a_trial(objective, params):
    """Run one trial; return its score and the estimators it fitted, one a fold."""
    built, build = [], objective.build
    objective.build = lambda p, seed: built.append(build(p, seed)) or built[-1]
    return objective(params, Trial.offline(seed=0)), built


def test_a_csv_with_text_columns_and_empty_cells_runs_through_tui_tuner_run(tmp_path):
    write_csv(tmp_path / "data.csv")
    (tmp_path / "study.yaml").write_text("""
objective:
  model: sklearn.ensemble.RandomForestClassifier
  dataset: {csv: data.csv, target: label}
  validation: {kfold: 3}
search: {trials: 3, workers: 1}
params:
  n_estimators: {type: int, low: 5, high: 20}
""")
    done = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", "study.yaml", "--study", "s"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    note, = [line for line in done.stderr.splitlines() if "data.csv has" in line]  # one line, beside the bar
    assert "tui-tuner: data.csv has 2 text columns and empty number cells" in note and "[impute, encode]" in note
    assert "3 finished" in done.stdout


def test_pipeline_step_params_reach_the_steps_they_name(tmp_path):
    objective = objective_of(tmp_path, pipeline=["impute", "encode", "scale", "pca"])
    for components in (2, 3):
        result, built = fitted_in_a_trial(objective, {"pca__n_components": components, "impute__strategy": "median",
                                                      "max_depth": 2})
        assert 0 <= result["accuracy"] <= 1 and len(built) == 3
        for pipeline in built:
            assert pipeline["pca"].n_components_ == components
            assert pipeline["model"].max_depth == 2  # an unprefixed param goes to the model
            assert pipeline["columns"].named_transformers_["remainder"]["impute"].strategy == "median"


def test_steps_are_fitted_on_the_training_rows_of_each_fold_only(tmp_path):
    objective = objective_of(tmp_path, pipeline=["impute", "encode"])
    params = {"max_depth": 3}
    result, built = fitted_in_a_trial(objective, params)
    X, y, _, _, splits = objective._data
    numbers = X[:, [0, 1]].astype(float)  # the imputer sees the number columns: age, income
    for pipeline, (train, _) in zip(built, splits, strict=True):
        means = pipeline["columns"].named_transformers_["remainder"]["impute"].statistics_
        assert np.allclose(means, np.nanmean(numbers[train], axis=0))
        assert not np.allclose(means, np.nanmean(numbers, axis=0))  # the held-out rows were not looked at
    # the whole pipeline is the estimator cross-validation clones and fits per fold
    expected = cross_val_score(objective.build(params, 0), X, y, cv=splits, scoring="accuracy")
    assert result["accuracy"] == pytest.approx(expected.mean())


def test_no_pipeline_means_defaults_only_where_the_data_needs_them(tmp_path):
    objective = objective_of(tmp_path)
    assert [step.name for step in objective.pipeline] == ["impute", "encode"]
    assert "2 text columns" in objective.note
    rows = "\n".join(f"{i},{i % 3},{i % 2}" for i in range(20))
    (tmp_path / "numbers.csv").write_text("a,b,label\n" + rows + "\n")
    plain = build_objective({"model": "sklearn.tree.DecisionTreeClassifier",
                             "dataset": {"csv": "numbers.csv", "target": "label"}}, base_dir=tmp_path, file=None)
    assert plain.pipeline == () and plain.note is None
    assert type(plain.build({}, 0)).__name__ == "DecisionTreeClassifier"  # as before: no pipeline at all


def test_empty_number_cells_may_reach_a_model_that_learns_with_them(tmp_path):
    forest = objective_of(tmp_path, pipeline=["encode"])  # no imputer: a random forest takes NaN
    assert 0 <= forest({}, Trial.offline())["accuracy"] <= 1
    with pytest.raises(InputError, match="LogisticRegression cannot take missing values: add impute"):
        objective_of(tmp_path, model="sklearn.linear_model.LogisticRegression", pipeline=["encode", "scale"],
                     fixed={})


def test_an_ordinal_encoder_and_a_transformer_by_dotted_path(tmp_path):
    objective = objective_of(tmp_path, pipeline=[
        "impute", {"name": "encode", "class": "ordinal"},
        {"name": "spread", "class": "sklearn.preprocessing.QuantileTransformer", "n_quantiles": 10}])
    result, built = fitted_in_a_trial(objective, {"spread__output_distribution": "normal"})
    assert 0 <= result["accuracy"] <= 1
    assert built[0]["spread"].n_quantiles == 10 and built[0]["spread"].output_distribution == "normal"
    assert type(built[0]["columns"].named_transformers_["text"]["encode"]).__name__ == "OrdinalEncoder"


def test_a_text_target_is_a_classification_target(tmp_path):
    with pytest.raises(InputError, match="RandomForestRegressor is a regressor.*text labels"):
        objective_of(tmp_path, model="sklearn.ensemble.RandomForestRegressor")
    network = objective_of(tmp_path, model="mlp", validation={"holdout": 0.3}, fixed={"epochs": 3})
    assert network.model == "tui_tuner.models.MLPClassifier"
    trial = Trial.offline(seed=0)
    assert 0 <= network({}, trial)["accuracy"] <= 1  # epoch by epoch, the steps fitted on the training part
    assert [step for step, _ in trial.reports] == [0, 1, 2]


@pytest.mark.parametrize("pipeline, params, fragment", [
    ("[impute, encode, scael]", "", "objective.pipeline: unknown step 'scael'"),
    ("[impute, encode, {name: svc, class: sklearn.svm.SVC}]", "", "objective.pipeline.svc.class: SVC is not a "
                                                                  "transformer"),
    ("[impute, encode, pca]", "pca__n_comps: {type: int, low: 2, high: 3}",
     "params.pca__n_comps: PCA has no parameter 'n_comps'"),
    ("[impute, encode]", "selct__k: {type: int, low: 2, high: 3}", "params.selct__k: unknown pipeline step 'selct'"),
    ("[impute, encode, {name: pca, class: pca, n_comp: 3}]", "", "objective.pipeline.pca.n_comp: PCA has no "
                                                                 "parameter 'n_comp'"),
    ("[impute, encode, {name: pca, class: pca, n_components: many}]", "",
     "objective.pipeline.pca.n_components: The 'n_components' parameter of PCA"),
    ("[impute, scale]", "", "objective.pipeline: data.csv has text columns"),
    ("[scale, impute, encode]", "", "objective.pipeline.impute: impute works on the numeric columns as read"),
    ("[impute, encode, pca, pca]", "", "names the step 'pca' twice"),
    ("[impute, encode, {name: q, class: sklearn.nothere.Q}]", "", "objective.pipeline.q.class: cannot import"),
    ("impute", "", "objective.pipeline: must be a list of steps"),
    ("[encode, pca]", "", "objective.pipeline: data.csv has empty number cells, and PCA cannot take missing values"),
])
def test_bad_pipelines_are_one_line_and_exit_2(tmp_path, capsys, pipeline, params, fragment):
    write_csv(tmp_path / "data.csv")
    study = tmp_path / "study.yaml"
    study.write_text(f"""
objective:
  model: sklearn.ensemble.RandomForestClassifier
  dataset: {{csv: data.csv, target: label}}
  pipeline: {pipeline}
params:
  n_estimators: {{type: int, low: 5, high: 20}}
  {params}
""")
    assert main(["run", str(study), "--study", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{study}:" in err and fragment in err, err
    assert not (tmp_path / "s").exists()


def test_a_number_column_with_a_stray_word_or_an_empty_target_is_refused_with_its_line(tmp_path):
    path = write_csv(tmp_path / "data.csv")
    lines = path.read_text().splitlines()
    section = {"model": "sklearn.tree.DecisionTreeClassifier", "dataset": {"csv": "data.csv", "target": "label"}}
    lines[4] = "forty," + lines[4].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="column 'age' is not a number, though other rows") as err:
        build_objective(section, base_dir=tmp_path, file=None)
    assert err.value.line == 5
    lines[4] = lines[4].rsplit(",", 1)[0].replace("forty", "40") + ","
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="column 'label' .the target. is empty") as err:
        build_objective(section, base_dir=tmp_path, file=None)
    assert err.value.line == 5


def test_a_step_class_of_your_own_is_parsed_at_load_and_run_only_in_trials(tmp_path):
    (tmp_path / "pipeline_own_steps.py").write_text('''
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Clip(TransformerMixin, BaseEstimator):
    def __init__(self, limit=1.0):
        self.limit = limit

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=float), -self.limit, self.limit)
''')
    objective = objective_of(tmp_path, pipeline=["impute", "encode", "scale",
                                                 {"name": "clip", "class": "pipeline_own_steps.Clip"}])
    assert "pipeline_own_steps" not in sys.modules  # loading the study ran none of it
    result, built = fitted_in_a_trial(objective, {"clip__limit": 0.5})
    assert 0 <= result["accuracy"] <= 1 and built[0]["clip"].limit == 0.5
    with pytest.raises(InputError, match="objective.pipeline.clip.columns: columns must be one of"):
        objective_of(tmp_path, pipeline=["encode", {"name": "clip", "class": "pipeline_own_steps.Clip",
                                                    "columns": "some"}])
