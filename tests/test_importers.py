"""`tui-tuner import`: W&B sweep files, Optuna studies and scikit-learn cv_results_ brought in as a user has
them, then used like any study (trials, analyze, run --resume)."""

import csv
import json
import math
import subprocess
import sys

import pytest
import yaml

from tui_tuner.cli import main
from tui_tuner.records import IMPORTED, Note, SpaceVersion
from tui_tuner.spec import parse_yaml, spec_from_dict
from tui_tuner.storage import StudyLog, read_journal

SWEEP = """\
# the sweep of our image model
program: train.py
name: cnn sweep
description: a small CNN
method: bayes
project: vision
metric: {name: val_loss, goal: minimize, target: 0.05}
run_cap: 30
early_terminate: {type: hyperband, min_iter: 3, eta: 2}
parameters:
  epochs: {value: 10}
  optimizer: {values: [adam, sgd], probabilities: [0.7, 0.3]}
  dropout: {distribution: uniform, min: 0.0, max: 0.5}
  layers: {distribution: int_uniform, min: 1, max: 4}
  # how far each step goes
  lr: {distribution: log_uniform_values, min: 1.0e-5, max: 0.1}  # keep it small
  weight_decay: {distribution: log_uniform, min: -9.210340372, max: -2.302585093}
  width: {distribution: q_uniform, min: 32, max: 100, q: 16}
  batch: {distribution: q_log_uniform_values, min: 16, max: 256, q: 8}
  step_size: {distribution: q_log_uniform, min: 0, max: 2.302585093, q: 1}
  momentum: {distribution: normal, mu: 0.9, sigma: 0.02}
  scale: {distribution: log_normal, mu: 0, sigma: 1}
  shift: {distribution: q_normal, mu: 0, sigma: 1, q: 0.5}
  temperature: {distribution: inv_log_uniform_values, min: 0.1, max: 10}
  guessed: {min: 0.123456789, max: 2.5}
  blocks: {values: [[64, 64], [128]]}
  model:
    parameters:
      hidden: {values: [64, 128]}
      activation: {value: relu}
"""


def write(path, text):
    path.write_text(text)
    return path


def import_sweep(tmp_path, capsys, text=SWEEP):
    sweep = write(tmp_path / "sweep.yaml", text)
    code = main(["import", "wandb", str(sweep), "-o", str(tmp_path / "study.yaml")])
    return code, capsys.readouterr()


def test_a_wandb_sweep_with_every_parameter_kind_becomes_a_study_file(tmp_path, capsys):
    code, out = import_sweep(tmp_path, capsys)
    assert code == 0, out.err
    text = (tmp_path / "study.yaml").read_text()
    study = parse_yaml(text)[1]
    assert study["name"] == "cnn-sweep"
    assert study["objective"] == {"command": "python train.py", "metric": "val_loss", "direction": "minimize",
                                  "fixed": {"epochs": 10, "model__activation": "relu"}}
    assert study["search"] == {"strategy": "bayes", "trials": 30}
    assert study["pruner"] == {"name": "successive_halving", "min_resource": 3, "reduction_factor": 2}
    params = study["params"]
    assert params["optimizer"] == {"type": "categorical", "choices": ["adam", "sgd"]}
    assert params["dropout"] == {"type": "float", "low": 0.0, "high": 0.5}
    assert params["layers"] == {"type": "int", "low": 1, "high": 4}
    assert params["lr"] == {"type": "float", "low": 1e-5, "high": 0.1, "log": True}
    assert params["weight_decay"]["log"] and math.isclose(params["weight_decay"]["low"], 1e-4, rel_tol=1e-5)
    assert math.isclose(params["weight_decay"]["high"], 0.1, rel_tol=1e-5)  # natural-log bounds, exponentiated
    assert params["width"] == {"type": "int", "low": 32, "high": 96, "step": 16}  # 100 is no step of 16 from 32
    assert params["batch"] == {"type": "int", "low": 16, "high": 256, "log": True}
    assert params["step_size"] == {"type": "int", "low": 1, "high": 10, "log": True}
    assert params["momentum"] == {"type": "float", "low": 0.86, "high": 0.94}  # mu ± 2 sigma
    assert params["scale"] == {"type": "float", "low": 0.135335, "high": 7.38906, "log": True}
    assert params["shift"] == {"type": "float", "low": -2.0, "high": 2.0, "step": 0.5}
    assert params["temperature"] == {"type": "float", "low": 0.1, "high": 10.0, "log": True}
    assert params["guessed"] == {"type": "float", "low": 0.123456789, "high": 2.5}  # floats: uniform, as W&B
    assert params["model__hidden"] == {"type": "categorical", "choices": [64, 128]}
    assert params["blocks"] == {"type": "categorical", "choices": ["[64, 64]", "[128]"]}  # lists as JSON text
    # what is not carried over exactly is said on stderr and kept in the file, one line each
    for said in ("project", "probabilities", "momentum: normal", "scale: log_normal", "nested parameters",
                 "metric.target", "batch: q=8", "width: high lowered", "blocks.values"):
        assert said in out.err and said in text, said
    assert "# W&B: log_uniform min=-9.210340372" in text and "a small CNN" in text
    # the author's comments kept: on the param they were written on or above, the others at the head
    assert "# W&B: log_uniform_values min=1e-05 max=0.1 | how far each step goes; keep it small" in text
    assert "# from the sweep: the sweep of our image model" in text
    # the rest of the study file is what tui-tuner reads (the command objective aside, which runs it)
    study["objective"] = {"python": "cli_objectives:quadratic", "metric": "val_loss", "direction": "minimize",
                          "fixed": study["objective"]["fixed"]}
    from pathlib import Path
    spec = spec_from_dict(study, base_dir=Path(__file__).parent)
    assert spec.settings.strategy == "bayes" and spec.settings.trials == 30 and len(spec.space) == 15


def test_a_sweep_goes_to_stdout_by_default_and_its_command_macros_are_expanded(tmp_path, capsys):
    sweep = write(tmp_path / "sweep.yaml", """
method: grid
program: train.py
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - --data
  - cifar
  - ${args_json}
  - ${args}
  - --tag={run}
parameters:
  lr: {values: [0.1, 0.01]}
""")
    assert main(["import", "wandb", str(sweep)]) == 0
    out = capsys.readouterr()
    study = parse_yaml(out.out)[1]
    # ${args} before another word: a {name} placeholder a param; a brace of the command's own doubled
    assert study["objective"]["command"] == "python train.py --data cifar '--lr={lr}' '--tag={{run}}'"
    assert study["objective"]["metric"] == "value" and study["search"] == {"strategy": "grid"}
    assert "metric: none given" in out.err and "${args_json} not carried over" in out.err


@pytest.mark.parametrize("text, fragment", [
    ("method: random\nprogram: t.py\nparameters: {lr: {distribution: cauchy, min: 0, max: 1}}\n",
     "parameters.lr.distribution: unknown distribution 'cauchy'"),
    ("method: hyperopt\nprogram: t.py\nparameters: {lr: {values: [1, 2]}}\n", "method: must be grid, random or bayes"),
    ("method: random\nprogram: t.py\nparameters: {lr: {distribution: uniform, min: 0}}\n",
     "parameters.lr.max: must be a number"),
    ("method: random\nparameters: {lr: {values: [1, 2]}}\n", "program: is missing"),
    ("method: grid\nprogram: t.py\nparameters: {lr: {values: [1, 1]}}\n", "parameters.lr.choices: lists 1 twice"),
])
def test_a_bad_sweep_is_one_line_naming_the_field_and_writes_nothing(tmp_path, capsys, text, fragment):
    code, out = import_sweep(tmp_path, capsys, text)
    assert code == 2
    assert fragment in out.err and len(out.err.strip().splitlines()) == 1 and "Traceback" not in out.err
    assert not (tmp_path / "study.yaml").exists()


TRAIN = """
import json, sys

args = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--"))
loss = float(args["dropout"]) + float(args["lr"]) * 10
for epoch in range(3):
    print(json.dumps({"epoch": epoch, "val_loss": loss + 1 / (epoch + 1)}))
print(json.dumps({"val_loss": loss, "epochs": int(args["epochs"])}))
"""


def test_an_imported_sweep_runs_its_script_unchanged(tmp_path, capsys):
    code, out = import_sweep(tmp_path, capsys)
    assert code == 0, out.err
    write(tmp_path / "train.py", TRAIN)
    code = main(["run", str(tmp_path / "study.yaml"), "--trials", "2", "--workers", "1", "--study",
                 str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err
    log = StudyLog.replay(read_journal(tmp_path / "s" / "journal.jsonl"))
    assert log.count("finished") == 2
    for rec in log.records.values():
        assert rec.value == pytest.approx(rec.params["dropout"] + rec.params["lr"] * 10)
        assert rec.metrics["epochs"] == 10  # the sweep's value: passed as a fixed argument


# ------------------------------------------------------------------------------------------------- optuna

def optuna_study(storage, name="demo"):
    """A real Optuna study: trial 0 complete, 1 failed, 2 pruned after two intermediate values, 3 complete."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("dataset", "mnist")

    def objective(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        units = trial.suggest_int("units", 8, 128, log=True)
        trial.suggest_categorical("act", ["relu", "tanh"])
        trial.set_user_attr("train_loss", 0.5)
        trial.set_user_attr("host", "gpu-1")
        if trial.number == 1:
            raise RuntimeError("out of memory")
        if trial.number == 2:
            trial.report(2.0, 0)
            trial.report(1.5, 1)
            raise optuna.TrialPruned()
        return x * x + units / 1000

    study.optimize(objective, n_trials=4, catch=(RuntimeError,))
    return study


RESUME_OBJECTIVE = """
def objective(params, trial):
    return params["x"] ** 2 + params["units"] / 1000
"""


def test_an_optuna_study_is_imported_with_its_states_and_resumed_with_our_searchers(tmp_path, capsys):
    db = tmp_path / "optuna.db"
    original = optuna_study(f"sqlite:///{db}")
    before = db.read_bytes()
    directory = tmp_path / "imported"
    assert main(["import", "optuna", f"sqlite:///{db}", "--study-name", "demo", "--study", str(directory)]) == 0
    assert "4 trials imported" in capsys.readouterr().out
    assert db.read_bytes() == before  # the storage is only read

    records = read_journal(directory / "journal.jsonl")
    assert [r.reason for r in records if isinstance(r, SpaceVersion)] == ["import"]
    log = StudyLog.replay(records)
    states = {n: r.state for n, r in log.records.items()}
    assert states == {0: "finished", 1: "failed", 2: "pruned", 3: "finished"}
    for trial in original.trials:
        rec = log.records[trial.number]
        assert rec.params == trial.params and rec.proposer == IMPORTED
        assert rec.started == pytest.approx(trial.datetime_start.timestamp())
        assert rec.ended == pytest.approx(trial.datetime_complete.timestamp())
    assert log.records[0].value == original.trials[0].value and log.records[0].metrics["train_loss"] == 0.5
    assert log.records[2].reports == [(0, {"value": 2.0}), (1, {"value": 1.5})] and log.records[2].pruned_step == 1
    assert any(isinstance(r, Note) and r.text == "host: gpu-1" for r in records)  # a text attribute is a note
    assert log.note == "dataset: mnist"  # the study's own attributes: a note on the study
    space = parse_yaml((directory / "study.yaml").read_text())[1]["params"]
    assert space == {"x": {"type": "float", "low": -1.0, "high": 1.0},
                     "units": {"type": "int", "low": 8, "high": 128, "log": True},
                     "act": {"type": "categorical", "choices": ["relu", "tanh"]}}

    assert main(["trials", str(directory), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["state"] for row in rows] == ["finished", "failed", "pruned", "finished"]
    assert main(["analyze", str(directory), "--json"]) == 0
    assert "importance" in json.loads(capsys.readouterr().out)

    # going on: the user's own objective, told the imported trials, with our bayes searcher
    write(tmp_path / "train.py", RESUME_OBJECTIVE)
    study_file = write(tmp_path / "mine.yaml", """
objective: {python: "train.py:objective"}
params:
  x: {type: float, low: -1.0, high: 1.0}
  units: {type: int, low: 8, high: 128, log: true}
  act: {type: categorical, choices: [relu, tanh]}
""")
    code = main(["run", str(study_file), "--resume", "--study", str(directory), "--trials", "6", "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    log = StudyLog.replay(read_journal(directory / "journal.jsonl"))
    new = [log.records[n] for n in (4, 5)]
    assert len(log.records) == 6 and all(r.state == "finished" and r.proposer == "bayes" for r in new)
    assert all(r.value == pytest.approx(r.params["x"] ** 2 + r.params["units"] / 1000) for r in new)


def test_resuming_an_imported_study_with_another_metric_is_refused(tmp_path, capsys):
    db = tmp_path / "optuna.db"
    optuna_study(f"sqlite:///{db}")
    directory = tmp_path / "imported"
    assert main(["import", "optuna", f"sqlite:///{db}", "--study-name", "demo", "--study", str(directory)]) == 0
    write(tmp_path / "train.py", RESUME_OBJECTIVE)
    study_file = write(tmp_path / "mine.yaml", """
objective: {python: "train.py:objective", metric: accuracy, direction: maximize}
params: {x: {type: float, low: -1.0, high: 1.0}}
""")
    before = (directory / "journal.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["run", str(study_file), "--resume", "--study", str(directory)]) == 2
    err = capsys.readouterr().err
    assert "objective.metric: must be what the imported study's trials were scored on: value (minimize)" in err
    assert (directory / "journal.jsonl").read_bytes() == before


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_multi_objective_optuna_journal_file_keeps_every_objective(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    path = tmp_path / "optuna.log"
    study = optuna.create_study(study_name="pareto", storage=JournalStorage(JournalFileBackend(str(path))),
                                directions=["maximize", "minimize"])
    study.set_metric_names(["accuracy", "latency"])
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_int("b", 0, 10, step=2)), n_trials=5)
    directory = tmp_path / "imported"
    assert main(["import", "optuna", str(path), "--study-name", "pareto", "--study", str(directory)]) == 0
    log = StudyLog.replay(read_journal(directory / "journal.jsonl"))
    assert log.header.metric == ["accuracy", "latency"] and log.header.direction == ["maximize", "minimize"]
    assert [r.values for r in sorted(log.records.values(), key=lambda r: r.number)] == [t.values for t in study.trials]
    space = parse_yaml((directory / "study.yaml").read_text())[1]["params"]
    assert space["b"] == {"type": "int", "low": 0, "high": 10, "step": 2}


def test_an_optuna_storage_without_the_study_names_the_ones_it_has(tmp_path, capsys):
    db = tmp_path / "optuna.db"
    optuna_study(f"sqlite:///{db}", name="first")
    code = main(["import", "optuna", f"sqlite:///{db}", "--study-name", "frist", "--study", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "has no study named 'frist'; it has: first" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
    code = main(["import", "optuna", f"sqlite:///{tmp_path / 'nowhere.db'}", "--study-name", "x", "--study",
                 str(tmp_path / "d")])
    assert code == 2 and "no such SQLite file" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()  # never created by looking


def test_a_sqlite_storage_of_an_older_optuna_is_read_from_an_upgraded_copy(tmp_path):
    import sqlite3

    db = tmp_path / "optuna.db"
    optuna_study(f"sqlite:///{db}")
    with sqlite3.connect(db) as connection:  # as Optuna 3.0 left its tables
        connection.execute("update alembic_version set version_num = 'v3.0.0.d'")
    connection.close()
    before = db.read_bytes()
    out = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "import", "optuna", str(db), "--study-name", "demo",
                          "--study", str(tmp_path / "d")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "4 trials imported" in out.stdout
    assert out.stderr.strip() == f"tui-tuner: {db}: its tables are of an older Optuna: read from an upgraded copy " \
                                 "(the file is unchanged)"  # and no word of alembic's migration steps
    assert db.read_bytes() == before


def test_without_optuna_installed_one_line_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` raises ImportError
    code = main(["import", "optuna", "sqlite:///x.db", "--study-name", "x", "--study", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'tui-tuner[optuna]'" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------ sklearn

def cv_results(multi=False):
    """A real search: a decision tree over a depth that may be None, a leaf size spanning two decades, and
    a criterion; with `multi`, two scorers."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    grid = [{"max_depth": [None, 2, 4], "min_samples_leaf": [1, 10, 100], "criterion": ["gini", "entropy"]}]
    scoring = ["accuracy", "f1_macro"] if multi else None
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3, scoring=scoring,
                          refit="accuracy" if multi else True, error_score=math.nan)
    return search.fit(X, y).cv_results_


def plain(value):
    """A cv_results_ value as Python (a numpy scalar's .item(); masked cells None)."""
    return value.item() if hasattr(value, "item") else value


def write_csv(path, results):
    """As pandas.DataFrame(results).to_csv(path) writes it: an index column, None and masked cells empty."""
    names = list(results)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["", *names])
        for i in range(len(results["params"])):
            row = []
            for name in names:
                column = results[name]
                masked = getattr(column, "mask", None)
                value = None if masked is not None and masked is not False and masked[i] else plain(column[i])
                row.append("" if value is None else str(value))
            out.writerow([i, *row])
    return path


def json_columns(results):
    """cv_results_ as JSON can hold them: lists of plain values, masked cells None."""
    return {name: [plain(v) for v in (column.filled(None) if hasattr(column, "filled") else column)]
            if name != "params" else [{k: plain(v) for k, v in p.items()} for p in column]
            for name, column in results.items()}


def write_json(path, results):
    path.write_text(json.dumps(json_columns(results)))
    return path


def write_json_split(path, results):
    """As pandas' to_json(orient="split") writes it."""
    columns = json_columns(results)
    rows = [list(row) for row in zip(*columns.values())]
    path.write_text(json.dumps({"columns": list(columns), "index": list(range(len(rows))), "data": rows}))
    return path


def write_json_records(path, results):
    """As pandas' to_json(orient="records") writes it."""
    columns = json_columns(results)
    path.write_text(json.dumps([dict(zip(columns, row)) for row in zip(*columns.values())]))
    return path


@pytest.mark.parametrize("writer", [write_csv, write_json, write_json_split, write_json_records])
def test_scikit_learn_cv_results_become_a_study_directory(tmp_path, capsys, writer):
    results = cv_results()
    path = writer(tmp_path / f"search.{'csv' if writer is write_csv else 'json'}", results)
    directory = tmp_path / "imported"
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 0, capsys.readouterr().err
    study = parse_yaml((directory / "study.yaml").read_text())[1]
    assert study["objective"]["metric"] == "score" and study["objective"]["direction"] == "maximize"
    assert study["params"] == {"criterion": {"type": "categorical", "choices": ["gini", "entropy"]},
                               "max_depth": {"type": "categorical", "choices": [None, 2, 4]},
                               "min_samples_leaf": {"type": "int", "low": 1, "high": 100, "log": True}}
    log = StudyLog.replay(read_journal(directory / "journal.jsonl"))
    assert len(log.records) == 18
    for i, params in enumerate(results["params"]):
        rec = log.records[i]
        assert rec.params == params and rec.state == "finished"
        assert rec.value == pytest.approx(results["mean_test_score"][i])
        assert rec.metrics["mean_fit_time"] == pytest.approx(results["mean_fit_time"][i])
    best = log.best()
    assert best.value == pytest.approx(max(results["mean_test_score"]))
    capsys.readouterr()
    assert main(["trials", str(directory)]) == 0
    assert capsys.readouterr().out.count("\n") == 19
    assert main(["analyze", str(directory), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["importance"]) == set(study["params"])


def test_a_multi_metric_search_keeps_every_scorer_and_inactive_params(tmp_path, capsys):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    space = [{"kernel": ["linear"], "C": [0.1, 1.0, 10.0]}, {"kernel": ["rbf"], "C": [0.1, 1.0], "gamma": [0.01, 1.0]}]
    results = RandomizedSearchCV(SVC(), space, n_iter=6, cv=3, scoring=["accuracy", "f1_macro"], refit="accuracy",
                                 random_state=0).fit(X, y).cv_results_
    path = write_csv(tmp_path / "search.csv", results)
    directory = tmp_path / "imported"
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 0, capsys.readouterr().err
    log = StudyLog.replay(read_journal(directory / "journal.jsonl"))
    assert log.header.metric == ["accuracy", "f1_macro"] and log.header.direction == ["maximize", "maximize"]
    for i, params in enumerate(results["params"]):
        rec = log.records[i]
        assert rec.params == params  # gamma absent where the linear kernel had none
        assert rec.values == pytest.approx([results["mean_test_accuracy"][i], results["mean_test_f1_macro"][i]])
    assert parse_yaml((directory / "study.yaml").read_text())[1]["params"]["gamma"] == {
        "type": "float", "low": 0.01, "high": 1.0, "log": True, "when": {"kernel": "rbf"}}  # set only with rbf
    capsys.readouterr()
    assert main(["analyze", str(directory), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["by_metric"]) == {"accuracy", "f1_macro"}


def test_a_failed_fit_is_a_failed_trial(tmp_path, capsys):
    path = write(tmp_path / "search.csv", ",param_alpha,params,mean_fit_time,mean_score_time,mean_test_score\n"
                                          "0,0.1,{'alpha': 0.1},0.01,0.002,0.8\n"
                                          "1,-1,{'alpha': -1},0.01,0.0,\n")
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 0
    log = StudyLog.replay(read_journal(tmp_path / "d" / "journal.jsonl"))
    assert [r.state for r in log.records.values()] == ["finished", "failed"]
    assert "fit failed" in log.records[1].reason


@pytest.mark.parametrize("content, fragment", [
    (",mean_fit_time,mean_test_score\n0,0.1,0.9\n", "has no param_ columns"),
    (",param_C,mean_fit_time\n0,0.1,0.9\n", "has no mean_test_ column"),
    ("[1, 2]", "must hold cv_results_"),
])
def test_bad_cv_results_are_one_line_and_write_nothing(tmp_path, capsys, content, fragment):
    path = write(tmp_path / ("search.json" if content.startswith("[") else "search.csv"), content)
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and str(path) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


def test_an_existing_non_empty_study_directory_is_left_alone(tmp_path, capsys):
    path = write_csv(tmp_path / "search.csv", cv_results())
    directory = tmp_path / "taken"
    directory.mkdir()
    write(directory / "notes.txt", "mine")
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 2
    assert "is not empty; import into a new directory" in capsys.readouterr().err
    assert [p.name for p in directory.iterdir()] == ["notes.txt"]


def test_the_study_file_of_an_imported_study_reads_back_as_a_study(tmp_path, capsys):
    """The app opens an imported directory like any other: its study file loads, naming no code to run."""
    from tui_tuner.study import Study

    path = write_csv(tmp_path / "search.csv", cv_results())
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 0
    study = Study.open(tmp_path / "d")
    assert study.log.best() is not None and study.settings.strategy == "bayes"
    assert yaml.safe_load((tmp_path / "d" / "best.json").read_text())["params"] == study.log.best().params


def test_a_grid_search_goes_on_as_a_study_of_the_same_estimator(tmp_path, capsys):
    """cv_results_ call the scorer `score`; a study file scoring `accuracy` (maximized) takes the search on."""
    path = write_csv(tmp_path / "search.csv", cv_results())
    directory = tmp_path / "imported"
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 0
    study_file = write(tmp_path / "tree.yaml", """
objective: {model: sklearn.tree.DecisionTreeClassifier, dataset: iris, metric: accuracy, validation: {kfold: 3}}
params:
  criterion: {type: categorical, choices: [gini, entropy]}
  max_depth: {type: categorical, choices: [null, 2, 4]}
  min_samples_leaf: {type: int, low: 1, high: 100, log: true}
""")
    code = main(["run", str(study_file), "--resume", "--study", str(directory), "--trials", "20", "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    log = StudyLog.replay(read_journal(directory / "journal.jsonl"))
    new = [log.records[n] for n in (18, 19)]
    assert len(log.records) == 20 and all(r.state == "finished" and r.proposer == "bayes" for r in new)
    assert all(0 < r.value <= 1 for r in new)


async def test_the_app_opens_an_imported_optuna_study_with_its_trials(tmp_path, capsys):
    from tui_tuner.app import open_target
    from tui_tuner.app.app import TunerApp
    from tui_tuner.app.widgets.leaderboard import Leaderboard

    db = tmp_path / "optuna.db"
    original = optuna_study(f"sqlite:///{db}")
    directory = tmp_path / "imported"
    assert main(["import", "optuna", f"sqlite:///{db}", "--study-name", "demo", "--study", str(directory)]) == 0
    app = TunerApp(*open_target(str(directory)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one(Leaderboard).row_count == 4  # finished, failed and pruned alike
        assert app.study.log.best().number == original.best_trial.number
        await pilot.press("r")  # no objective of its own: it says how to go on, and runs nothing
        await pilot.pause()
        assert any("--resume --study" in n.message for n in app._notifications)
        assert not app.session.running and len(app.study.log.records) == 4
