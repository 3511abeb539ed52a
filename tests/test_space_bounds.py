"""A search space someone else wrote is bounded: numbers a type cannot hold, choices, params, conditions and
grids too large to load or walk are each one line and exit 2, fast, before anything is written; what is
accepted at the caps runs under every strategy."""

import time

import pytest

from tui_tuner import SearchSpace, make_searcher
from tui_tuner.cli import main
from refusals import refused, short

OBJECTIVE = "def f(params, trial):\n    return float(len(str(params)) % 7)\n"
HEAD = 'objective: {python: "obj.py:f"}\nsearch: {trials: 2, workers: 1, strategy: STRATEGY}\n'


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj.py").write_text(OBJECTIVE)


def write(tmp_path, params: str, *, strategy: str = "random", head: str = HEAD) -> str:
    path = tmp_path / "study.yaml"
    path.write_text(head.replace("STRATEGY", strategy) + "params:\n" + params)
    return str(path)


def choices(n: int) -> str:
    return "[" + ", ".join(f"c{i}" for i in range(n)) + "]"


# ------------------------------------------------------------------------------------ numbers and sizes

@pytest.mark.parametrize("definition, field, fragment", [
    ("{type: int, low: 0, high: .inf}", "params.x.high", "must be an integer, got inf"),
    ("{type: int, low: .nan, high: 3}", "params.x.low", "must be an integer, got nan"),
    ("{type: int, low: 0, high: 1.0e300}", "params.x.high", "within +-2**53 (9,007,199,254,740,992)"),
    ("{type: int, low: 0, high: 9007199254740993}", "params.x.high", "(9,007,199,254,740,992), the largest integer "
     "every searcher holds exactly; got 9007199254740993"),
    ("{type: int, low: -100000000000000000000, high: 0}", "params.x.low", "within +-2**53"),
    ("{type: float, low: -1.0e308, high: 1.0e308}", "params.x.high", "the range high - low overflows a float"),
    ("{type: float, low: 0.0, high: 1.0e300, step: 1.0e-300}", "params.x.step",
     "steps over [0.0, 1e+300]; at most 2**53"),
    ("{type: float, low: 0.0, high: 1.0, step: 5.0}", "params.x.step",
     "must be at most the range high - low = 1.0, got 5.0"),
    ("{type: int, low: 0, high: 10, step: 50}", "params.x.step", "must be at most the range high - low = 10, got 50"),
    ("{type: float, low: 0.0, high: 1.0, num: 1000000000}", "params.x.num", "from 2 to 1,000, got 1000000000"),
    ("{type: float, low: 0.0, high: 1.0, grid: " + str([i / 2000 for i in range(1001)]) + "}", "params.x.grid",
     "lists 1,001 values; at most 1,000"),
    ("{type: categorical, choices: [1, .nan]}", "params.x.choices", "must be finite numbers, got nan"),
    ("{type: categorical, choices: [1, -.inf]}", "params.x.choices", "must be finite numbers, got -inf"),
    ("{type: categorical, choices: [1, 100000000000000000000]}", "params.x.choices", "within +-2**53"),
    ("{type: categorical, choices: " + choices(1001) + "}", "params.x.choices", "lists 1,001 choices; at most 1,000"),
    ("{type: categorical, choices: [a, " + "b" * 100_000 + "]}", "params.x.choices",
     "a choice of 100,000 characters; at most 1,000"),
    ("{type: categorical, choices: [a, b], when: {y: " + choices(1001) + "}}", "params.x.when", "lists 1,001 values"),
])
def test_a_number_or_size_past_its_cap_is_one_line_naming_field_cap_and_value(tmp_path, capsys, definition, field,
                                                                                fragment):
    err = refused(tmp_path, capsys, write(tmp_path, f"  y: {{type: categorical, choices: [a, b]}}\n"
                                                    f"  x: {definition}\n"))
    assert f":5: {field}: " in err and fragment in err, err


def test_more_parameters_than_the_cap_are_refused(tmp_path, capsys):
    params = "".join(f"  p{i}: {{type: float, low: 0.0, high: 1.0}}\n" for i in range(1001))
    assert "params: a search space holds at most 1,000 parameters, got 1,001" in refused(
        tmp_path, capsys, write(tmp_path, params))


@pytest.mark.parametrize("order", [1, -1])
def test_a_when_chain_past_the_cap_is_one_line_in_either_order(tmp_path, capsys, order):
    """1,000 params each active when the one before is `a`: no RecursionError, however the file orders them."""
    lines = [f"  p{i}: {{type: categorical, choices: [a, b]" + (f", when: {{p{i - 1}: a}}" if i else "") + "}\n"
             for i in range(1000)]
    err = refused(tmp_path, capsys, write(tmp_path, "".join(lines[::order])))
    assert ".when: conditions chain 33 parameters deep here; at most 32" in err, err


def test_a_grid_of_10_to_the_30_points_is_refused_naming_size_and_cap(tmp_path, capsys):
    params = "".join(f"  p{i}: {{type: int, low: 0, high: 1000, num: 100}}\n" for i in range(15))
    err = refused(tmp_path, capsys, write(tmp_path, params, strategy="grid"))
    assert ":2: search.strategy: grid search over about 10**30 points; at most 10**12" in err, err


def test_a_grid_whose_conditions_are_too_costly_to_count_is_one_line_never_a_hang(tmp_path, capsys):
    """Every child's condition names another parent, so counting the grid would walk 10**20 partial configs."""
    parents = "".join(f"  a{i}: {{type: int, low: 0, high: 9, num: 10}}\n" for i in range(20))
    children = "".join(f"  b{i}: {{type: categorical, choices: [x, y], when: {{a{i}: 0}}}}\n" for i in range(20))
    start = time.monotonic()
    err = refused(tmp_path, capsys, write(tmp_path, parents + children, strategy="grid"))
    assert "search.strategy: its conditions make the grid too costly to count" in err, err
    assert time.monotonic() - start < 60


def test_bayes_over_more_columns_than_it_models_is_refused(tmp_path, capsys):
    params = "".join(f"  c{i}: {{type: categorical, choices: {choices(1000)}}}\n" for i in range(3))
    err = refused(tmp_path, capsys, write(tmp_path, params, strategy="bayes"))
    assert "search.strategy: bayes models each number and each categorical choice as a column: this space has " \
           "3,000, at most 2,048" in err, err


# ------------------------------------------------------------------------------------------ at the caps

def test_a_1000_choice_categorical_loads_fast_and_runs_with_bayes(tmp_path, capsys):
    path = write(tmp_path, f"  x: {{type: categorical, choices: {choices(1000)}}}\n"
                           "  y: {type: float, low: 0.0, high: 1.0}\n", strategy="bayes")
    start = time.monotonic()
    assert main(["run", path, "--study", str(tmp_path / "s"), "--trials", "3"]) == 0, capsys.readouterr().err
    assert time.monotonic() - start < 60  # 10,000 choices took 145 s to load; the cap loads in well under 1


@pytest.mark.parametrize("strategy", ["grid", "random", "genetic", "bayes"])
def test_every_searcher_stays_exact_over_int_ranges_at_the_cap(strategy):
    space = SearchSpace.from_dict({
        "wide": {"type": "int", "low": -2**53, "high": 2**53},
        "big": {"type": "int", "low": 2**53 - 4, "high": 2**53, "num": 5},
        "stepped": {"type": "int", "low": -2**53, "high": 2**53, "step": 2**52},
        "logged": {"type": "int", "low": 1, "high": 2**53, "log": True},
        "c": {"type": "categorical", "choices": [f"c{i}" for i in range(1000)]},
    })
    searcher = make_searcher(strategy, space, seed=0)
    for i in range(12):
        config = searcher.ask()
        assert space.validate_config(config) == config
        assert all(type(config[name]) is int for name in ("wide", "big", "stepped", "logged"))
        searcher.tell(config, float(i % 5))


def test_a_when_chain_at_the_cap_runs_under_every_searcher():
    space = SearchSpace.from_dict({f"p{i}": {"type": "categorical", "choices": ["a", "b"],
                                             **({"when": {f"p{i - 1}": "a"}} if i else {})} for i in range(32)})
    assert space.grid_size() == 33
    for strategy in ("grid", "random", "genetic", "bayes"):
        searcher = make_searcher(strategy, space, seed=0)
        for i in range(8):
            config = searcher.ask()
            assert space.validate_config(config) == config
            searcher.tell(config, float(i))


def test_a_grid_of_a_thousand_params_is_walked_without_recursion():
    space = SearchSpace.from_dict({f"p{i}": {"type": "categorical", "choices": ["a", "b"],
                                             **({"when": {"p0": "a"}} if i else {})} for i in range(1000)})
    grid = space.grid()
    assert grid.size == 2**999 + 1
    assert grid[0] == {f"p{i}": "a" for i in range(1000)} and grid[grid.size - 1] == {"p0": "b"}


def test_the_cap_on_a_grid_leaves_a_5_to_the_14_grid_alone():
    space = SearchSpace.from_dict({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(14)})
    assert make_searcher("grid", space, seed=0).ask() == {f"x{i}": 0.0 for i in range(14)}
