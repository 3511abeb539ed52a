"""The trust boundary: loading a study file runs none of its code, and errors never show a file's contents."""

import subprocess
import sys
from pathlib import Path

import pytest

from tui_tuner.errors import InputError
from tui_tuner.spec import load_spec

# a package whose import leaves a file named after the importing process
MARKER = """\
import os
open(os.path.join({folder!r}, f"imported-{{os.getpid()}}"), "w").close()
from sklearn.linear_model import LogisticRegression


class Model(LogisticRegression):
    pass


def objective(params, trial):
    return params["C"]
"""


@pytest.fixture
def marker_study(tmp_path):
    """A study folder holding `marker_pkg`, and a function that writes a study file naming it."""
    (tmp_path / "marker_pkg").mkdir()
    (tmp_path / "marker_pkg" / "__init__.py").write_text(MARKER.format(folder=str(tmp_path)))
    (tmp_path / "marker_pkg" / "models.py").write_text(MARKER.format(folder=str(tmp_path)))

    def write(objective: str) -> Path:
        path = tmp_path / "study.yaml"
        path.write_text(f"objective: {objective}\nparams: {{C: {{type: float, low: 0.1, high: 1.0}}}}\n"
                        "search: {trials: 1, workers: 1}\n")
        return path

    return write


def imports(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("imported-*"))


@pytest.mark.parametrize("objective", [
    "{model: marker_pkg.Model, dataset: iris, metric: accuracy, validation: {kfold: 2}}",
    "{model: marker_pkg.models.Model, dataset: iris, metric: accuracy}",  # a submodule: its package not run
    "{model: marker_pkg.Model, dataset: iris, metric: accuracy, fixed: {max_iter: 50}, scaler: standard}",
    "{python: 'marker_pkg:objective', direction: maximize}",
    "{python: 'marker_pkg.models:objective', test: 'marker_pkg.models:objective'}",
])
def test_loading_a_study_file_imports_none_of_its_code(marker_study, objective):
    path = marker_study(objective)
    spec = load_spec(path)
    assert spec.objective.metric and imports(path.parent) == []


def test_a_model_of_your_own_without_a_metric_is_asked_for_one(marker_study):
    path = marker_study("{model: marker_pkg.Model, dataset: iris}")
    with pytest.raises(InputError, match="name a scorer") as err:
        load_spec(path)
    assert err.value.field == "objective.metric" and imports(path.parent) == []


@pytest.mark.parametrize("model, message", [
    ("this.Foo", "this.py defines no class 'Foo'"),  # the standard library's `this` prints the Zen when imported
    ("marker_pkg.Nope", "__init__.py defines no class 'Nope'"),
    ("marker_pkg.models.objective", "is a function, not an estimator class"),
    ("no_such_module.Cls", "cannot find module 'no_such_module'"),
])
def test_a_missing_class_is_found_missing_without_importing(marker_study, capfd, model, message):
    path = marker_study(f"{{model: {model}, dataset: iris, metric: accuracy}}")
    with pytest.raises(InputError, match=message):
        load_spec(path)
    assert imports(path.parent) == [] and "Beautiful is better" not in capfd.readouterr().out


@pytest.mark.slow
def test_run_imports_your_code_in_the_workers_only(marker_study, tmp_path):
    path = marker_study("{model: marker_pkg.Model, dataset: iris, metric: accuracy, validation: {kfold: 2}}")
    elsewhere = tmp_path / "elsewhere"  # relative paths in the study file are the study folder's, not the cwd's
    elsewhere.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "tui_tuner.cli", "run", str(path), "--study", str(tmp_path / "s")],
                           cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "best: trial 0" in out
    seen = imports(tmp_path)
    assert seen and f"imported-{run.pid}" not in seen  # a worker imported it; the main process never did


def test_a_python_path_must_be_a_python_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("objective: {python: '/etc/passwd:f'}\nparams: {x: {type: float, low: 0, high: 1}}\n")
    with pytest.raises(InputError, match="must name a .py file") as err:
        load_spec(path)
    assert "/bin/bash" not in str(err.value)


@pytest.mark.parametrize("first_line, shown", [
    ("root:x:0:0:root:/root:/bin/bash", False),  # /etc/passwd: never a column list
    ("token=hunter2-secret-value", False),
    ("age,height,labl", True),  # a header a person wrote: a close name is offered
])
def test_an_error_about_a_csv_file_never_shows_its_contents(tmp_path, first_line, shown):
    data = tmp_path / "data.csv"
    data.write_text(first_line + "\n" + "1,2,3\n" * 12)
    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: softmax, dataset: {csv: data.csv, target: label}}\n"
                    "params: {learning_rate: {type: float, low: 0.001, high: 0.1, log: true}}\n")
    with pytest.raises(InputError) as err:
        load_spec(path)
    message = str(err.value)
    assert "has no column 'label'" in message and str(data) in message
    for field in first_line.split(","):
        assert (field in message) == (shown and field == "labl"), message


def test_a_non_number_is_located_by_its_column_never_by_its_value(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("s3cr#t,label\n" + "1,0\n" * 11 + "password123,1\n")
    path = tmp_path / "study.yaml"
    path.write_text("objective: {model: softmax, dataset: {csv: data.csv, target: label}}\n"
                    "params: {learning_rate: {type: float, low: 0.001, high: 0.1, log: true}}\n")
    with pytest.raises(InputError, match="column 1") as err:
        load_spec(path)
    assert "password123" not in str(err.value) and "s3cr#t" not in str(err.value)
