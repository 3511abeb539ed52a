"""The study-file loader: every mistake is one InputError naming file, line and field; nothing else escapes."""

import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings, strategies as st

from tui_tuner.app.document import DEMO_STUDY
from tui_tuner.errors import InputError
from tui_tuner.models import SCHEDULES
from tui_tuner.objectives.estimator import EstimatorObjective
from tui_tuner.objectives.function import FunctionObjective
from tui_tuner.spec import DEFAULT_TRIALS, load_spec

GOOD = """\
name: rf
objective:
  model: sklearn.ensemble.RandomForestClassifier
  dataset: iris
  metric: accuracy
  validation: {kfold: 3}
search:
  strategy: random
  seed: 3
params:
  n_estimators: {type: int, low: 5, high: 50}
  max_depth: {type: int, low: 2, high: 8}
"""


def write(tmp_path, text, name="study.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path) -> InputError:
    with pytest.raises(InputError) as info:
        load_spec(path)
    return info.value


def test_a_good_file_loads_with_its_defaults(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    run = spec.settings
    assert spec.name == "rf" and run.strategy == "random" and run.seed == 3
    assert run.trials == DEFAULT_TRIALS and run.time_budget is None and run.workers is None
    assert isinstance(spec.objective, EstimatorObjective)
    assert spec.objective.metric == "accuracy" and spec.objective.direction == "maximize"
    assert spec.space.names == ("n_estimators", "max_depth")
    assert run.ask_share == 0.05  # the overhead governor is on unless the file turns it off
    assert load_spec(write(tmp_path, GOOD.replace("seed: 3", "seed: 3\n  ask_share: null"))).settings.ask_share is None


SAMPLES = sorted((Path(__file__).parent.parent / "sample_spaces").glob("*.yaml"))


@pytest.mark.parametrize("path", [DEMO_STUDY, *SAMPLES], ids=lambda p: p.name)
def test_every_sample_study_and_the_demo_load(path):
    spec = load_spec(path)
    assert spec.space.names and spec.objective.metric


def test_the_demo_is_the_digits_mlp_with_every_schedule_and_a_pruner():
    spec = load_spec(DEMO_STUDY)
    assert spec.objective.model == "tui_tuner.models.MLPClassifier" and spec.objective.dataset.name == "digits"
    assert set(spec.space["lr_schedule"].choices) == set(SCHEDULES)
    assert spec.pruner["name"] == "successive_halving"


def test_a_grid_study_without_a_budget_runs_its_whole_grid(tmp_path):
    spec = load_spec(write(tmp_path, GOOD.replace("strategy: random", "strategy: grid")))
    assert spec.settings.trials is None


def test_json_study_files_load_too(tmp_path):
    path = tmp_path / "study.json"
    path.write_text(__import__("json").dumps(yaml.safe_load(GOOD)))
    assert load_spec(path).name == "rf"


@pytest.mark.parametrize("change, field, fragment", [
    (("metric: accuracy", "metric: acuracy"), "objective.metric", "unknown scikit-learn scorer 'acuracy'"),
    (("name: rf", "name: 'my study!'"), "name", "names the study directory"),
    (("name: rf", "colour: blue"), "colour", "unknown key 'colour'"),
    (("  dataset: iris", "  dataset: irises"), "objective.dataset", "unknown dataset 'irises'"),
    (("  dataset: iris", "  dataset: {name: moons, noise: -1}"), "objective.dataset.noise", "must be a number at least 0, got -1"),
    (("  dataset: iris", "  dataset: {name: moons, size: 10}"), "objective.dataset.size", "no option 'size'"),
    (("  dataset: iris", "  dataset: {name: moons, n_samples: 1000000000000}"), "objective.dataset.n_samples",
     "at most 100,000,000 fit"),
    (("  dataset: iris", "  datset: iris"), "objective.datset", "unknown key 'datset'"),
    (("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForest"), "objective.model",
     "not a scikit-learn estimator"),
    (("sklearn.ensemble.RandomForestClassifier", "nosuchpkg.Model"), "objective.model", "cannot import"),
    (("  metric: accuracy", "  metric: accuracy\n  direction: minimize"), "objective.direction",
     "greater-is-better"),
    (("{kfold: 3}", "{kfold: 1}"), "objective.validation.kfold", "at least 2"),
    (("{kfold: 3}", "{holdout: 1.5}"), "objective.validation.holdout", "fraction"),
    (("{kfold: 3}", "{bootstrap: 3}"), "objective.validation", "unknown validation"),
    (("  metric: accuracy", "  metric: accuracy\n  scaler: zscore"), "objective.scaler", "unknown scaler"),
    (("  metric: accuracy", "  metric: accuracy\n  test_fraction: 1"), "objective.test_fraction", "fraction"),
    (("n_estimators:", "n_estimator:"), "params.n_estimator", "RandomForestClassifier has no parameter"),
    (("low: 5, high: 50", "low: 50, high: 5"), "params.n_estimators.low", "low must be < high"),
    (("strategy: random", "strategy: annealing"), "search.strategy", "unknown strategy 'annealing'"),
    (("seed: 3", "seed: 3\n  trials: many"), "search.trials", "must be a whole number, at least 1, got 'many'"),
    (("seed: 3", "seed: 3\n  trials: 2.5"), "search.trials", "whole number"),
    (("seed: 3", "seed: 3\n  workers: 0"), "search.workers", "must be a whole number, at least 1, got 0"),
    (("seed: 3", "seed: 3\n  trial_timeout: -1"), "search.trial_timeout", "must be a positive number, got -1"),
    (("seed: 3", "seed: 3\n  ask_share: 5"), "search.ask_share", "must be a number in (0, 1], got 5"),
    (("seed: 3", "seed: 3\n  ask_share: 0"), "search.ask_share", "must be a number in (0, 1], got 0"),
    (("seed: 3", "seed: 3\n  sobol: maybe"), "search.sobol", ""),
    (("seed: 3", "seed: 3\n  name: x"), "search.name", "not an option of the random strategy (its options: sobol)"),
    (("seed: 3", "seed: 3\n  direction: maximize"), "search.direction", "its options: sobol"),
    (("seed: 3", "seed: 3\n  space: {}"), "search.space", "its options: sobol"),
    (("strategy: random", "strategy: grid\n  sobol: true"), "search.sobol", "its options: default_num, shuffle"),
])
def test_each_mistake_names_the_file_the_line_and_the_field(tmp_path, change, field, fragment):
    path = write(tmp_path, GOOD.replace(*change))
    err = error_of(path)
    assert err.file == str(path) and err.field == field and fragment in err.message
    text = str(err)
    assert text.startswith(f"{path}:") and f" {field}: " in text and "\n" not in text
    first_word = field.split(".")[-1]
    line = path.read_text().splitlines()[err.line - 1]
    assert first_word in line or field.split(".")[0] in line


@pytest.mark.parametrize("text, field, fragment", [
    ("name: x\nobjective: {model: sklearn.svm.SVC, dataset: iris}\n", "params", "at least one parameter"),
    ("name: x\nparams: {C: {type: float, low: 1, high: 2}}\n", "objective", "is missing"),
    ("objective: {model: sklearn.svm.SVC}\nparams: {C: {type: float, low: 1, high: 2}}\n",
     "objective.dataset", "is missing"),
    ("objective: {model: sklearn.svm.SVC, python: 'a.py:f', dataset: iris}\n"
     "params: {C: {type: float, low: 1, high: 2}}\n", "objective", "exactly one of"),
    ("objective: {python: 'missing.py:objective'}\nparams: {x: {type: float, low: 0, high: 1}}\n",
     "objective.python", "no such file"),
    ("objective: {python: 'train.py:objectiv'}\nparams: {x: {type: float, low: 0, high: 1}}\n",
     "objective.python", "defines no function 'objectiv'"),
    ("objective: {python: 'train.py'}\nparams: {x: {type: float, low: 0, high: 1}}\n",
     "objective.python", "file.py:function"),
    ("objective: {python: 'no_such_module_xyz:f'}\nparams: {x: {type: float, low: 0, high: 1}}\n",
     "objective.python", "cannot find module"),
    ("objective: {python: 'train.py:objective', direction: up}\nparams: {x: {type: float, low: 0, high: 1}}\n",
     "objective.direction", "minimize or maximize"),
])
def test_objective_and_params_mistakes(tmp_path, text, field, fragment):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['x']\n")
    err = error_of(write(tmp_path, text))
    assert err.field == field and fragment in err.message, str(err)


def test_a_python_objective_is_checked_by_reading_not_running_it(tmp_path):
    (tmp_path / "train.py").write_text("raise SystemExit('imported!')\ndef objective(params, trial):\n    return 1\n")
    spec = load_spec(write(tmp_path, "objective: {python: 'train.py:objective', metric: loss}\n"
                                     "params: {x: {type: float, low: 0, high: 1}}\n"))
    assert isinstance(spec.objective, FunctionObjective) and spec.objective.metric == "loss"
    assert spec.objective.direction == "minimize" and spec.name == "study"


def test_a_syntax_error_in_train_py_names_its_line(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return (\n")
    err = error_of(write(tmp_path, "objective: {python: 'train.py:objective'}\n"
                                   "params: {x: {type: float, low: 0, high: 1}}\n"))
    assert err.field == "objective.python" and "syntax error" in err.message


def test_yaml_syntax_errors_name_the_line(tmp_path):
    err = error_of(write(tmp_path, "name: x\nparams:\n  x: {type: float, low: 0\n  y: 1\n"))
    assert err.line is not None and "not valid YAML" in err.message


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in str(error_of(tmp_path / "nope.yaml"))
    assert "is a directory" in str(error_of(tmp_path))


def test_csv_datasets_are_checked_with_their_line(tmp_path):
    rows = "\n".join(f"{i},{i * 2},{'a' if i % 2 else 'b'}" for i in range(20))
    (tmp_path / "data.csv").write_text("f1,f2,label\n" + rows + "\n")
    good = GOOD.replace("  dataset: iris", "  dataset: {csv: data.csv, target: label}")
    assert load_spec(write(tmp_path, good)).objective.dataset.target == "label"
    err = error_of(write(tmp_path, good.replace("target: label", "target: class")))
    assert "no column 'class'" in err.message and err.file.endswith("data.csv")
    (tmp_path / "data.csv").write_text("f1,f2,label\n" + rows.replace("5,10", "5,ten") + "\n")
    err = error_of(write(tmp_path, good))
    assert err.line == 7 and "column 'f2' is not a number" in err.message


# ------------------------------------------------------------------------------------- property tests

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["float", "int", "categorical", "grid", "random",
                                                           "iris", "accuracy", "sklearn.svm.SVC", "train.py:f"]))
keys = st.one_of(st.sampled_from(["name", "objective", "search", "params", "model", "dataset", "metric", "type",
                                  "low", "high", "log", "step", "choices", "when", "strategy", "trials",
                                  "validation", "kfold", "python", "x", "C", "seed", "workers"]),
                 st.text(max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)),
                         max_leaves=25)


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 150)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_arbitrary_documents_give_the_clean_error_or_a_spec(tmp_path, doc):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_spec(path)
    except InputError as err:
        assert "\n" not in str(err) and str(err).startswith(str(path))


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 150)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_gives_the_clean_error_or_a_spec(tmp_path, text):
    path = tmp_path / "study.yaml"
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        load_spec(path)
    except InputError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)


LEAVES = [("name",), ("objective",), ("objective", "model"), ("objective", "dataset"), ("objective", "metric"),
          ("objective", "validation"), ("objective", "validation", "kfold"), ("search",), ("search", "strategy"),
          ("search", "seed"), ("params",), ("params", "n_estimators"), ("params", "n_estimators", "low"),
          ("params", "max_depth", "type"), ("params", "max_depth", "when")]


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 150)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(LEAVES), value=documents)
@example(where=("search",), value={"name": ""})  # found by this test: keys colliding with make_searcher's own
@example(where=("search",), value={"direction": None})
@example(where=("search",), value={"space": 0})
def test_one_bad_value_anywhere_in_a_good_file_gives_the_clean_error(tmp_path, where, value):
    doc = yaml.safe_load(GOOD)
    node = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_spec(path)
    except InputError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 100)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["C", "gamma", "kernel", "degree"]), documents, min_size=1,
                              max_size=3))
def test_arbitrary_params_sections_give_the_clean_error(tmp_path, params):
    doc = {"objective": {"model": "sklearn.svm.SVC", "dataset": "iris"}, "params": params}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_spec(path)
    except InputError as err:
        assert "\n" not in str(err)


# ------------------------------------------------------------------------------ how the file is read

@pytest.mark.parametrize("extra, field, lines", [
    ("name: again\n", "name", "lines 1 and 13"),
    ("  n_estimators: {type: int, low: 1, high: 3}\n", "params.n_estimators", "lines 11 and 13"),
])
def test_a_key_given_twice_names_both_lines(tmp_path, extra, field, lines):
    err = error_of(write(tmp_path, GOOD + extra))
    assert err.field == field and f"is given twice, on {lines}" in err.message and err.line == 13


def test_exponents_without_a_dot_are_numbers_as_in_yaml_1_2(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    spec = load_spec(write(tmp_path, "objective: {python: 'train.py:objective'}\n"
                                     "params: {lr: {type: float, low: 1e-4, high: 1E-1, log: true}}\n"))
    assert spec.space["lr"].low == 1e-4 and spec.space["lr"].high == 0.1


def test_a_big_study_file_is_parsed_once_and_quickly(tmp_path):
    import time

    path = write(tmp_path, "# " + "x" * 3_000_000 + "\n" + GOOD)  # 3 MB: over 3 s parsed twice in Python
    started = time.perf_counter()
    assert load_spec(path).name == "rf"
    assert time.perf_counter() - started < 1


def test_a_csv_dataset_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    from tui_tuner.objectives import datasets

    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 100)
    (tmp_path / "data.csv").write_text("f1,label\n" + "".join(f"{i},{i % 2}\n" for i in range(50)))
    err = error_of(write(tmp_path, GOOD.replace("  dataset: iris", "  dataset: {csv: data.csv, target: label}")))
    assert err.file.endswith("data.csv") and "larger than" in err.message


@pytest.mark.parametrize("header, problem", [("label", "has only the target column 'label'"),
                                             ("f1,f1,label", "names the column 'f1' twice")])
def test_a_csv_without_features_or_with_a_column_named_twice_is_one_line(tmp_path, header, problem):
    """A CSV of the target alone made numpy raise "need at least one array to concatenate"; a column named
    twice was read as two with no way to tell which a pipeline means."""
    width = header.count(",") + 1
    (tmp_path / "data.csv").write_text(header + "\n" + "".join(",".join([str(i % 2)] * width) + "\n"
                                                                for i in range(20)))
    err = error_of(write(tmp_path, GOOD.replace("  dataset: iris", "  dataset: {csv: data.csv, target: label}")))
    assert err.file.endswith("data.csv") and err.line == 1 and problem in err.message, err


def test_a_dataset_error_names_the_problem_not_the_files_contents(tmp_path):
    (tmp_path / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    err = error_of(write(tmp_path, GOOD.replace("  dataset: iris", "  dataset: {csv: secret.txt, target: label}")))
    assert "has no column 'label'; its first line has 1 field(s)" in err.message and "/bin/bash" not in str(err)
    (tmp_path / "data.csv").write_text("f1,labels\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    err = error_of(write(tmp_path, GOOD.replace("  dataset: iris", "  dataset: {csv: data.csv, target: label}")))
    assert err.message.endswith("did you mean 'labels'?")
