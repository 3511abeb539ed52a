"""Saving an edited study file keeps what the person wrote: comments, key order, layout."""

import json

import yaml

from tui_tuner.app.document import StudyDocument
from tui_tuner.study_text import study_text

STUDY = """\
# my study: the comments are mine
name: commented   # the name shown in the app
objective:
  python: "train.py:objective"   # my function
  direction: minimize
search: {strategy: random, trials: 8}
params:
  # how fast
  lr: {type: float, low: 0.001, high: 0.5, log: true}   # a wide range
  units: {type: int, low: 8, high: 64}
"""


def test_saving_an_edited_study_file_keeps_its_comments(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    document = StudyDocument.load(path)
    document.put_param("units", "hidden", {"type": "int", "low": 16, "high": 128})
    document.put_param(None, "dropout", {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05})
    document.set_search({"strategy": "bayes", "trials": 8, "workers": None})
    document.save()
    text = path.read_text()
    for comment in ("# my study: the comments are mine", "# the name shown in the app", "# my function",
                    "# how fast", "# a wide range"):
        assert comment in text
    assert "lr: {type: float, low: 0.001, high: 0.5, log: true}" in text  # untouched lines stay as written
    assert "python: \"train.py:objective\"" in text
    saved = yaml.safe_load(text)
    assert list(saved["params"]) == ["lr", "hidden", "dropout"]  # a rename keeps its place
    assert saved["params"]["hidden"] == {"type": "int", "low": 16, "high": 128}
    assert saved["search"] == {"strategy": "bayes", "trials": 8}
    assert list(StudyDocument.load(path).spec().space.names) == ["lr", "hidden", "dropout"]


def test_new_small_floats_read_back_as_numbers():
    text = study_text({"params": {"lr": {"type": "float", "low": 1e-7, "high": 2e20}}}, "params: {}\n# end\n")
    assert yaml.safe_load(text)["params"]["lr"] == {"type": "float", "low": 1e-7, "high": 2e20}


def test_a_json_study_file_stays_json(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    path = tmp_path / "study.json"
    path.write_text(json.dumps(yaml.safe_load(STUDY)))
    document = StudyDocument.load(path)
    document.remove_param("units")
    document.save()
    assert list(json.loads(path.read_text())["params"]) == ["lr"]


def test_changing_values_only_leaves_every_other_character_in_place(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    path = tmp_path / "study.yaml"
    aligned = STUDY.replace("  units: {", "  units:        {").replace("  lr: {", "  lr:           {")
    path.write_text(aligned)
    document = StudyDocument.load(path)
    document.put_param("lr", "lr", {"type": "float", "low": 1e-7, "high": 0.5, "log": True})
    document.save()
    changed = [(a, b) for a, b in zip(aligned.splitlines(), path.read_text().splitlines()) if a != b]
    assert changed == [("  lr:           {type: float, low: 0.001, high: 0.5, log: true}   # a wide range",
                        "  lr:           {type: float, low: 1.0e-07, high: 0.5, log: true}   # a wide range")]


def test_adding_renaming_and_removing_params_leaves_the_other_lines_as_written(tmp_path):
    (tmp_path / "train.py").write_text("def objective(params, trial):\n    return params['lr']\n")
    path = tmp_path / "study.yaml"
    aligned = STUDY.replace("  units: {", "  units:        {").replace("  lr: {", "  lr:           {") + "# the end\n"
    path.write_text(aligned)
    document = StudyDocument.load(path)
    document.put_param("units", "hidden", {"type": "int", "low": 8, "high": 64})
    document.save()
    assert path.read_text() == aligned.replace("  units:        {", "  hidden:        {")
    document.put_param(None, "dropout", {"type": "float", "low": 0.0, "high": 0.5})
    document.save()
    assert path.read_text() == aligned.replace("  units:        {", "  hidden:        {").replace(
        "# the end", "  dropout: {type: float, low: 0.0, high: 0.5}\n# the end")
    document.remove_param("lr")
    document.save()
    assert path.read_text() == aligned.replace("  units:        {", "  hidden:        {").replace(
        "# the end", "  dropout: {type: float, low: 0.0, high: 0.5}\n# the end").replace(
        "  # how fast\n  lr:           {type: float, low: 0.001, high: 0.5, log: true}   # a wide range\n", "")


def test_a_number_written_1e_4_is_left_as_written():
    original = "params:\n  lr: {type: float, low: 1e-4, high: 0.5}   # YAML 1.2 reads 1e-4 as a number\n  n: 3\n"
    content = {"params": {"lr": {"type": "float", "low": 1e-4, "high": 0.5}, "n": 4}}
    assert study_text(content, original) == original.replace("n: 3", "n: 4")
