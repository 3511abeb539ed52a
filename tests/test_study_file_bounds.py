"""A study file someone else wrote is bounded as YAML: aliases that would expand without end, nesting too deep,
integers too long and fixed values too large to copy into a best config are each one line and exit 2, fast,
before anything is written; a value typed for `--set` passes the same bounds."""

import resource
import subprocess
import sys
import time

import pytest

from tui_tuner.cli import main
from tui_tuner.errors import InputError
from refusals import refused, short

OBJECTIVE = "def f(params, trial):\n    return float(len(str(params)) % 7)\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj.py").write_text(OBJECTIVE)


# ------------------------------------------------------------------------------------------------ YAML

def bomb(levels: int = 9) -> str:
    """A billion laughs: 10**levels strings from a file of a few hundred bytes."""
    lines = ['      a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n']
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnopq"[:levels - 1]):
        lines.append(f"      {name}: &{name} [{', '.join(['*' + prev] * 10)}]\n")
    return "".join(lines)


def fixed_study(tmp_path, fixed: str) -> str:
    path = tmp_path / "study.yaml"
    path.write_text('objective:\n  python: "obj.py:f"\n  fixed:\n' + fixed
                    + "search: {trials: 1, workers: 1}\nparams:\n  x: {type: float, low: 0.0, high: 1.0}\n")
    return str(path)


def test_a_billion_laughs_in_fixed_is_one_line_fast_and_small(tmp_path):
    path = fixed_study(tmp_path, bomb())
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # noqa: E731
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "tui_tuner.cli", "run", path, "--study", str(tmp_path / "s"),
                        "--export", str(tmp_path / "best.json")], capture_output=True, text=True, timeout=100,
                       preexec_fn=limit, stdin=subprocess.DEVNULL)
    assert p.returncode == 2, p.stderr[-500:]
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert "objective.fixed.i: holds over 2,000,000 values once its YAML aliases are expanded" in p.stderr
    assert time.monotonic() - start < 90 and not (tmp_path / "best.json").exists()


@pytest.mark.parametrize("fixed, fragment", [
    ("    a: &a [1, *a]\n", "objective.fixed.a: holds an alias to a value that contains it"),
    ("    d: " + "[" * 40 + "]" * 40 + "\n", "objective.fixed.d: nests lists and mappings more than 32 deep"),
    ("    big: " + "9" * 5000 + "\n", "objective.fixed.big: an integer of 5,000 characters"),
], ids=short)
def test_yaml_in_fixed_that_would_build_without_end_is_refused(tmp_path, capsys, fixed, fragment):
    err = refused(tmp_path, capsys, fixed_study(tmp_path, fixed))
    assert fragment in err, err


@pytest.mark.parametrize("param, field", [("{type: int, low: 0, high: 9D}", "params.x.high"),
                                          ("{type: float, low: 0.0, high: 9D}", "params.x.high"),
                                          ("{type: categorical, choices: [1, 9D]}", "params.x.choices")])
@pytest.mark.parametrize("digits", [400, 5000])
def test_an_integer_too_long_for_any_setting_is_one_line_naming_its_field(tmp_path, capsys, param, field, digits):
    """5,000 digits made int() raise past Python's 4,300-digit limit; 400 overflowed float()."""
    path = tmp_path / "study.yaml"
    path.write_text('objective: {python: "obj.py:f"}\nsearch: {trials: 1, workers: 1}\nparams:\n'
                    f"  x: {param.replace('9D', '9' * digits)}\n")
    err = refused(tmp_path, capsys, str(path))
    assert f"study.yaml:4: {field}: an integer of {digits:,} characters; at most 100" in err, err


@pytest.mark.parametrize("fixed, fragment", [
    ("    text: " + "a" * 100_000 + "\n", "objective.fixed: is 100,012 bytes as JSON; at most 65,536"),
    ("    when: 2020-01-01\n", "objective.fixed: must hold JSON values"),
    ("    rate: .nan\n", "objective.fixed: must hold JSON values (text, finite numbers"),
], ids=short)
def test_fixed_values_that_cannot_be_copied_small_into_a_best_config_are_refused(tmp_path, capsys, fixed, fragment):
    """A 10 MB string in fixed made a 20 MB best.json; a date or NaN could not be written to it as it is."""
    err = refused(tmp_path, capsys, fixed_study(tmp_path, fixed))
    assert fragment in err, err


def test_a_merge_key_bomb_is_refused_unbuilt(tmp_path, capsys):
    lines = "      m0: &m0 {k0: 1, k1: 2}\n" + "".join(
        f"      m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}], k{i + 1}: 1}}\n" for i in range(1, 9))
    err = refused(tmp_path, capsys, fixed_study(tmp_path, lines))
    assert "objective.fixed.m8: holds over 2,000,000 values once its YAML aliases are expanded" in err, err


# ------------------------------------------------------------------------------- values typed by a user

LR_STUDY = """\
objective: {model: softmax, dataset: iris}
params:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0, log: true}
  optimizer: {type: categorical, choices: [sgd, adam]}
"""


@pytest.mark.parametrize("value, fragment", [
    ("[" * 40 + "]" * 40, "--set optimizer: nests lists and mappings more than 32 deep"),
    ("[" * 60_000 + "]" * 60_000, "--set optimizer: must be one of ['sgd', 'adam'], got '[[[[[["),
    ("&a [" + ", ".join(["*a"] * 3) + "]", "--set optimizer: holds an alias to a value that contains it"),
    ("9" * 5000, "--set optimizer: an integer of 5,000 characters"),
], ids=short)
def test_lr_find_set_values_pass_the_study_files_bounds(tmp_path, capsys, value, fragment):
    path = tmp_path / "study.yaml"
    path.write_text(LR_STUDY)
    assert main(["lr-find", str(path), "--set", f"optimizer={value}"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err[:300]
    assert len(err) < 300  # the value is cut, not echoed whole


def test_lr_find_set_reads_numbers_as_a_study_file_does(tmp_path, capsys):
    """`--set learning_rate=1e-3` is the number a study file would read, not the text '1e-3'."""
    from tui_tuner.spec import parse_value

    assert parse_value("1e-3") == 0.001
    with pytest.raises(InputError, match="more than 32 deep"):
        parse_value("[" * 40 + "]" * 40)


def test_lr_find_set_without_a_name_is_one_short_line(tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(LR_STUDY)
    assert main(["lr-find", str(path), "--set", "x" * 100_000]) == 2
    err = capsys.readouterr().err
    assert "expected NAME=VALUE with NAME one of learning_rate, optimizer" in err and len(err) < 300, err[:300]


def test_the_apps_fields_read_values_through_the_same_bounds():
    """A field reads `1e-3` as the number a study file would; a value without end stays text for the check."""
    from tui_tuner.app.screens.param_form import definition_from
    from tui_tuner.app.widgets.strategy_pane import parse_value as field_value

    assert field_value("1e-3") == 0.001
    assert field_value("&a [1, *a]") == "&a [1, *a]"
    fields = {"low": "1e-4", "high": "0.1", "step": "", "choices": "", "when": "o: &a [a, *a]"}
    assert definition_from("float", fields, True) == {"type": "float", "low": 1e-4, "high": 0.1, "log": True,
                                                      "when": "o: &a [a, *a]"}
