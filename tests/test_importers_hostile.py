"""Hostile importer inputs (issue 23): each W&B sweep, cv_results_ file or Optuna journal below once ended in a
traceback or a hang, or was taken in silence. Each is now one line naming the file and the field (exit 2),
and a failed import writes nothing: no study file, no half study directory."""

import json
import os

import pytest

from tui_tuner.cli import main

HEAD = "program: train.py\nmethod: random\nmetric: {name: loss, goal: minimize}\n"
X = "  x: {min: 0.0, max: 1.0}\n"
BIG = "1" + "0" * 4000  # a 4,001-digit whole number: float() overflows on it
BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))  # 10^9 values once expanded


def sweep(params, head=HEAD):
    return head + "parameters:\n" + params


SWEEPS = {  # name: (sweep text, what the one line says)
    "min a 4,001-digit number": (sweep(f"  x: {{min: {BIG}, max: 1}}\n"),
                                 "parameters.x.min: an integer of 4,001 characters; at most 100"),
    "int_uniform max past 2^53": (sweep("  x: {distribution: int_uniform, min: 0, max: 9007199254740993}\n"),
                                  "parameters.x.max: must be within ±2^53"),
    "q_uniform over the widest floats": (sweep("  x: {distribution: q_uniform, min: -1e308, max: 1e308}\n"),
                                          "parameters.x.min: must be within"),
    "q smaller than any step": (sweep("  x: {distribution: q_uniform, min: 1, max: 100, q: 5e-324}\n"),
                                "parameters.x.q: q=5e-324 makes more than"),
    "log_uniform bound past e^709": (sweep("  x: {distribution: log_uniform, min: 1, max: 1e308}\n"),
                                     "parameters.x.max: must be within"),
    "log_uniform bound e^1000": (sweep("  x: {distribution: log_uniform, min: 1, max: 1000}\n"),
                                 "parameters.x: e^1000 is past the largest float"),
    "inv_log_uniform min -1e308": (sweep("  x: {distribution: inv_log_uniform, min: -800, max: 2}\n"),
                                   "parameters.x: e^800 is past the largest float"),
    "log_normal mu 1e15": (sweep("  x: {distribution: log_normal, mu: 1.0e+15, sigma: 1}\n"),
                           "is past the largest float"),
    "q_normal sigma 1e308": (sweep("  x: {distribution: q_normal, mu: 0, sigma: 1e308}\n"),
                             "parameters.x.sigma: must be within"),
    "values more than 1,000": (sweep("  x: {values: [" + ", ".join(map(str, range(1001))) + "]}\n"),
                               "parameters.x.values: holds 1,001 values"),
    "values a nested 5,000-digit number": (sweep("  x: {values: [[1" + "0" * 5000 + "], 1]}\n"),
                                           "an integer of 5,001 characters"),
    "values a NaN in a list": (sweep("  x: {values: [[.nan], [1]]}\n"), "parameters.x.values[0]: must be JSON"),
    "values a date in a list": (sweep("  x: {values: [[2001-12-14], [1]]}\n"), "parameters.x.values[0]: must be JSON"),
    "probabilities not summing to 1": (sweep("  x: {values: [1, 2], probabilities: [0.5, 0.6]}\n"),
                                       "parameters.x.probabilities: must sum to 1"),
    "probabilities one short": (sweep("  x: {values: [1, 2], probabilities: [1]}\n"),
                                "parameters.x.probabilities: must be a list of 2 numbers"),
    "probabilities negative": (sweep("  x: {values: [1, 2], probabilities: [-1, 2]}\n"),
                               "parameters.x.probabilities[0]: must be a number from 0 to 1"),
    "parameters nested 300 deep": (sweep("".join("  " + "    " * i + f"p{i}:\n" + "  " + "    " * i + "  parameters:\n"
                                                 for i in range(300)) + "    " * 300 + X),
                                   "nests lists and mappings more than 32 deep"),
    "parameters an alias inside itself": (HEAD + "parameters: &p\n" + X + "  y: {parameters: *p}\n",
                                          "holds an alias to a value that contains it"),
    "values an alias inside itself": (sweep("  x: &a {values: [1, *a]}\n"), "holds an alias to a value that contains"),
    "an alias bomb in values": (BOMB + sweep("  x: {values: *a8}\n"), "holds over 10,000 values"),
    "an alias bomb in an ignored key": (BOMB + sweep(X), "holds over 10,000 values"),
    "an alias bomb in description": (BOMB + HEAD + "description: *a8\nparameters:\n" + X,
                                     "holds over 10,000 values"),
    "20,000 parameters": (sweep("".join(f"  p{i}: {{min: 0.0, max: 1.0}}\n" for i in range(20000))),
                          "holds over 10,000 values"),
    "a sweep file over 1 MiB": (sweep(X) + "#" + "c" * (1 << 20) + "\n", "is larger than 1 MiB"),
    "eta 0": (HEAD + "early_terminate: {type: hyperband, eta: 0, min_iter: 1}\nparameters:\n" + X,
              "early_terminate.eta: must be a whole number from 2"),
    "min_iter 0": (HEAD + "early_terminate: {type: hyperband, min_iter: 0}\nparameters:\n" + X,
                   "early_terminate.min_iter: must be a whole number from 1"),
    "min_iter infinite": (HEAD + "early_terminate: {type: hyperband, min_iter: .inf}\nparameters:\n" + X,
                          "early_terminate.min_iter: must be a whole number"),
    "min_iter NaN": (HEAD + "early_terminate: {type: hyperband, min_iter: .nan}\nparameters:\n" + X,
                     "early_terminate.min_iter: must be a whole number"),
    "s negative (divided by zero)": (HEAD + "early_terminate: {type: hyperband, max_iter: 27, s: -1000}\n"
                                     "parameters:\n" + X, "early_terminate.s: must be a whole number from 0"),
    "s a string": (HEAD + "early_terminate: {type: hyperband, max_iter: 27, s: a}\nparameters:\n" + X,
                   "early_terminate.s: must be a whole number"),
    "s 1e308": (HEAD + "early_terminate: {type: hyperband, max_iter: 27, s: 1e308}\nparameters:\n" + X,
                "early_terminate.s: must be a whole number"),
    "max_iter a string": (HEAD + "early_terminate: {type: hyperband, max_iter: a, s: 1}\nparameters:\n" + X,
                          "early_terminate.max_iter: must be a whole number"),
    "max_iter past 2^53": (HEAD + "early_terminate: {type: hyperband, max_iter: 1e308, s: 0}\nparameters:\n" + X,
                           "early_terminate.max_iter: must be a whole number"),
    "run_cap a 401-digit number": (HEAD + "run_cap: 1" + "0" * 400 + "\nparameters:\n" + X,
                                   "run_cap: an integer of 401 characters"),
    "run_cap past 2^53": (HEAD + "run_cap: 9007199254740993\nparameters:\n" + X,
                          "run_cap: must be a whole number of runs from 1 to 2^53"),
    "a parameter named null": (sweep("  ? null\n  : {min: 0.0, max: 1.0}\n"), "must be a string, got None"),
    "two parameters one name once renamed": (sweep("  a-b: {min: 0.0, max: 1.0}\n  a_b: {min: 0.0, max: 1.0}\n"),
                                             "parameters.a_b: is a_b as a tui-tuner param"),
    "name a list": (HEAD + "name: [a]\nparameters:\n" + X, "name: must be a string"),
    "command an empty list": ("program: t.py\nmethod: random\ncommand: []\nparameters:\n" + X,
                              "command: names no program to run"),
    "command of an unknown macro alone": ("program: t.py\nmethod: random\ncommand: ['${unknown}']\nparameters:\n" + X,
                                          "command: names no program to run"),
    "program empty": ("program: ''\nmethod: random\nparameters:\n" + X, "program: must be the path"),
    "command with a NUL": ("program: t.py\nmethod: random\ncommand: [\"py\\0thon\", \"${program}\"]\nparameters:\n" + X,
                           "command[0]: holds a control character"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_hostile_sweep_is_one_line_naming_the_field(tmp_path, capsys, name):
    text, fragment = SWEEPS[name]
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    out = tmp_path / "study.yaml"
    assert main(["import", "wandb", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"tui-tuner: {path}:"), err[:500]
    assert fragment in err and len(err) < 500, err[:500]
    assert not out.exists()


def csv_text(header, *rows):
    return "\n".join([header, *rows]) + "\n"


CV_RESULTS = {  # name: (file name, content, what the one line says)
    "a 4,001-digit param": ("r.csv", csv_text("param_a,mean_test_score", f"{BIG},0.5", "2,0.6"),
                            "param_a: row 1: a number of about 4,001 digits is outside ±2^53"),
    "a 5,001-digit param": ("r.csv", csv_text("param_a,mean_test_score", "1" + "0" * 5000 + ",0.5", "2,0.6"),
                            "param_a: row 1: a number of 5,001 digits"),
    "a 4,001-digit score": ("r.csv", csv_text("param_a,mean_test_score", "1,0.5", f"2,-{BIG}"),
                            "mean_test_score: row 2: a number of about 4,001 digits"),
    "a param past 2^53": ("r.csv", csv_text("param_a,mean_test_score", "9007199254740993,0.5", "1,0.6"),
                          "param_a: row 1: 9007199254740993 is outside ±2^53"),
    "params 1e308 apart": ("r.csv", csv_text("param_a,mean_test_score", "1e308,0.5", "-1e308,0.6"),
                           "param_a: row 1: 1e+308 is outside ±2^53"),
    "a 400-digit number in the params column": (
        "r.csv", csv_text("param_a,params,mean_test_score", ",\"{'a': 1" + "0" * 400 + "}\",0.5", "2,{},0.6"),
        "param_a: row 1: a number of about 401 digits"),
    "a cell past the csv module's limit": ("r.csv", csv_text("param_a,mean_test_score", "a" * 200_000 + ",0.5"),
                                           "r.csv:2: is no CSV here: field larger than field limit"),
    "a param of 1,000,000 characters": ("r.json", json.dumps({"param_a": ["a" * 1_000_000, "b"],
                                                               "mean_test_score": [0.5, 0.6]}),
                                        "param_a: row 1: a value of 1,000,000 characters"),
    "a column named twice": ("r.csv", csv_text("param_a,param_a,mean_test_score", "1,2,0.5"),
                             "'param_a': names two columns"),
    "a score column named twice": ("r.csv", csv_text("param_a,mean_test_score,mean_test_score", "1,0.5,0.5"),
                                   "'mean_test_score': names two columns"),
    "a JSON key given twice": ("r.json", '{"param_a": [1], "param_a": [2], "mean_test_score": [0.5]}',
                               "'param_a': names two columns"),
    "a short row": ("r.csv", csv_text("param_a,mean_test_score", "1,0.5", "2"), "r.csv:3: has 1 cells, the header"),
    "mean_test_ with no scorer": ("r.csv", csv_text("param_a,mean_test_", "1,0.5", "2,0.6"),
                                  "mean_test_: names no scorer"),
    "JSON nested 100,000 deep": ("r.json", "[" * 100_000 + "]" * 100_000, "nested too deep"),
    "a JSON cell nested 100,000 deep": ("r.json", '{"param_a": [' + "[" * 100_000 + "]" * 100_000 +
                                       ', 1], "mean_test_score": [0.5, 0.6]}', "nested too deep"),
    "split orient with numbers for column names": ("r.json", '{"columns": [1, 2], "data": [[1, 2]]}',
                                                   "columns: must be a list of column names"),
    "split orient with columns not a list": ("r.json", '{"columns": 5, "data": [[1, 2]]}',
                                             "columns: must be a list of column names"),
    "a lone surrogate in a JSON cell": ("r.json", '{"param_a": ["\\ud800", "b"], "mean_test_score": [0.5, 0.6]}',
                                        "holds a lone surrogate"),
    "a lone surrogate in a scorer's name": ("r.json", '{"param_a": [1, 2], "mean_test_\\ud800": [0.5, 0.6]}',
                                            "holds a lone surrogate"),
    "1,001 text choices": ("r.csv", csv_text("param_a,mean_test_score", *(f"c{i},0.5" for i in range(1001))),
                           "param_a: takes 1,001 values that are not all numbers"),
    "100,001 rows": ("r.csv", csv_text("param_a,mean_test_score", *(f"{i % 7},0.5" for i in range(100_001))),
                     "r.csv:100002: holds more than 100,000 rows"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(CV_RESULTS))
def test_hostile_cv_results_are_one_line_naming_the_column_and_write_nothing(tmp_path, capsys, name):
    file, content, fragment = CV_RESULTS[name]
    path = tmp_path / file
    path.write_text(content)
    directory = tmp_path / "study"
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"tui-tuner: {path}"), err[:500]
    assert fragment in err and len(err) < 500, err[:500]
    assert not directory.exists()


@pytest.mark.parametrize("content", [
    '{"param_a": [[1, 2], [3]], "mean_test_score": [0.5, 0.6]}',
    '{"param_a": {"0": [1], "1": {"b": 2}}, "mean_test_score": {"0": 0.5, "1": 0.6}}',
])
def test_json_list_and_mapping_cells_are_choices_of_their_json_text(tmp_path, capsys, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 0, capsys.readouterr().err
    assert "Traceback" not in capsys.readouterr().err


def test_a_cv_results_csv_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("\ufeffparam_a,mean_test_score\n1,0.5\n2,0.6\n", encoding="utf-8")
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 0, capsys.readouterr().err


def test_an_import_syncs_its_journal_in_batches_not_once_a_trial(tmp_path, capsys, monkeypatch):
    """60,000 rows took 600 s: one fsync for each imported trial."""
    path = tmp_path / "r.csv"
    path.write_text(csv_text("param_a,mean_test_score", *(f"{i % 7},{i / 500}" for i in range(500))))
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    assert main(["import", "sklearn", str(path), "--study", str(tmp_path / "d")]) == 0, capsys.readouterr().err
    assert len(calls) < 50


def test_an_import_that_cannot_write_its_journal_leaves_no_half_study_directory(tmp_path, capsys, monkeypatch):
    from tui_tuner.storage import journal

    path = tmp_path / "r.csv"
    path.write_text(csv_text("param_a,mean_test_score", *(f"{i % 7},{i / 50}" for i in range(50))))
    real, written = journal.Journal.append, []

    def append(self, record, **kwargs):
        written.append(record)
        if len(written) > 20:
            raise OSError(28, "No space left on device")
        return real(self, record, **kwargs)

    monkeypatch.setattr(journal.Journal, "append", append)
    directory = tmp_path / "study"
    assert main(["import", "sklearn", str(path), "--study", str(directory)]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "No space left on device" in err
    assert not directory.exists()


def optuna_journal(path, study_name='"s"', values="[0.5]"):
    worker = '"worker_id": "w"'
    dist = json.dumps({"name": "FloatDistribution", "attributes": {"step": None, "low": 0.0, "high": 1.0,
                                                                      "log": False}})
    lines = [f'{{"op_code": 0, {worker}, "study_name": {study_name}, "directions": [1]}}',
             f'{{"op_code": 4, {worker}, "study_id": 0, "datetime_start": "2026-01-01T00:00:00+00:00"}}',
             json.dumps({"op_code": 5, "worker_id": "w", "trial_id": 0, "param_name": "x",
                         "param_value_internal": 0.3, "distribution": dist}),
             f'{{"op_code": 6, {worker}, "trial_id": 0, "state": 1, "values": {values}, '
             '"datetime_complete": "2026-01-01T00:00:01+00:00"}']
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_optuna_journal_with_a_study_name_that_is_no_string_is_one_line(tmp_path, capsys):
    pytest.importorskip("optuna")
    path = optuna_journal(tmp_path / "j.log", study_name="5")
    assert main(["import", "optuna", str(path), "--study-name", "s", "--study", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "has no study named 's'; it has: 5" in err


def test_an_optuna_value_past_the_largest_float_is_a_failed_trial(tmp_path, capsys):
    """Optuna keeps a 400-digit value in its journal; float() overflowed on it."""
    pytest.importorskip("optuna")
    path = optuna_journal(tmp_path / "j.log", values=f"[{BIG[:400]}]")
    assert main(["import", "optuna", str(path), "--study-name", "s", "--study", str(tmp_path / "d")]) == 0
    assert "(0 finished, 1 failed, 0 pruned)" in capsys.readouterr().out
