"""Search spaces: every kind of parameter, conditions, grids, encodings, and an error for each mistake."""

import numpy as np
import pytest
from scipy import stats

from tui_tuner import SearchSpace, SpaceError
from tui_tuner.space import space_changes

SPACE = {
    "learning_rate": {"type": "float", "low": 1.0e-4, "high": 0.3, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05},
    "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64, 128]},
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
    "momentum": {"type": "float", "low": 0.0, "high": 0.99, "when": {"optimizer": "sgd"}},
    "nesterov": {"type": "categorical", "choices": [True, False], "when": {"momentum": [0.0, 0.9]}},
}


def test_samples_respect_types_ranges_steps_and_conditions():
    space = SearchSpace.from_dict(SPACE)
    rng = np.random.default_rng(0)
    for _ in range(500):
        config = space.sample(rng)
        assert space.validate_config(config) == config
        assert 1e-4 <= config["learning_rate"] <= 0.3
        assert round(config["dropout"] / 0.05, 6) == round(config["dropout"] / 0.05)
        assert isinstance(config["hidden_units"], int) and 16 <= config["hidden_units"] <= 512
        assert ("momentum" in config) == (config["optimizer"] == "sgd")


def test_log_float_is_log_uniform():
    space = SearchSpace.from_dict({"lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True}})
    rng = np.random.default_rng(1)
    logs = np.log10([space.sample(rng)["lr"] for _ in range(4000)])
    assert stats.kstest(logs, stats.uniform(loc=-5, scale=5).cdf).pvalue > 0.01
    # and clearly not uniform on the linear scale: most mass sits below 0.1
    assert np.mean(logs < -1) > 0.75


def test_log_int_covers_every_decade_evenly():
    space = SearchSpace.from_dict({"n": {"type": "int", "low": 1, "high": 1000, "log": True}})
    rng = np.random.default_rng(2)
    values = np.array([space.sample(rng)["n"] for _ in range(3000)])
    per_decade = [np.mean((values >= lo) & (values < lo * 10)) for lo in (1, 10, 100)]
    assert all(0.25 < share < 0.42 for share in per_decade), per_decade


def test_grid_sizes_expand_conditions_only_where_active():
    space = SearchSpace.from_dict({
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "num": 4, "when": {"optimizer": "sgd"}},
        "lr": {"type": "float", "low": 1e-3, "high": 1.0, "log": True, "num": 4},
    })
    assert space.grid_size() == (4 + 1 + 1) * 4
    assert space["lr"].grid_values() == pytest.approx([1e-3, 1e-2, 1e-1, 1.0])
    assert all(("momentum" in c) == (c["optimizer"] == "sgd") for c in space.grid())
    explicit = SearchSpace.from_dict({"a": {"type": "float", "low": 0, "high": 1, "grid": [0.1, 0.5]},
                                      "b": {"type": "int", "low": 1, "high": 3}})
    assert explicit.grid_size() == 2 * 3  # ints never repeat a value to reach default_num


def test_unit_cube_round_trip():
    space = SearchSpace.from_dict(SPACE)
    rng = np.random.default_rng(3)
    for _ in range(200):
        config = space.sample(rng)
        u = space.to_unit(config)
        assert u.shape == (len(space),) and np.all((0 <= u) & (u <= 1))
        assert space.from_unit(u) == config


def test_validate_config_coerces_and_names_the_parameter():
    space = SearchSpace.from_dict(SPACE)
    config = space.validate_config({"learning_rate": 0.01, "dropout": 0.1, "hidden_units": 64.0,
                                    "batch_size": 32, "optimizer": "adam"})
    assert config["hidden_units"] == 64 and isinstance(config["hidden_units"], int)
    with pytest.raises(SpaceError) as err:
        space.validate_config({**config, "momentum": 0.5})
    assert err.value.field == "momentum" and "inactive" in str(err.value)
    with pytest.raises(SpaceError) as err:
        space.validate_config({**config, "optimizer": "sgd"})
    assert err.value.field == "momentum" and "missing" in str(err.value)
    with pytest.raises(SpaceError) as err:
        space.validate_config({**config, "dropout": 0.07})
    assert err.value.field == "dropout" and "step" in str(err.value)
    with pytest.raises(SpaceError) as err:
        space.validate_config({**config, "colour": "red"})
    assert err.value.field == "colour"


@pytest.mark.parametrize("params, field, words", [
    ({"x": {"type": "float", "low": 1.0, "high": 0.5}}, "x.low", "low must be < high"),
    ({"x": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "x.log", "low > 0"),
    ({"x": {"type": "float", "low": 0.0, "high": 1.0, "step": 0.3}}, "x.step", "does not divide"),
    ({"x": {"type": "int", "low": 0, "high": 10, "step": 3}}, "x.step", "does not divide"),
    ({"x": {"type": "int", "low": 0.5, "high": 10}}, "x.low", "integer"),
    ({"x": {"type": "categorical", "choices": []}}, "x.choices", "non-empty"),
    ({"x": {"type": "categorical", "choices": ["a", "a"]}}, "x.choices", "twice"),
    ({"x": {"type": "categorical", "choices": [[1, 2]]}}, "x.choices", "scalars"),
    ({"x": {"type": "float", "low": 0, "high": 1, "lgo": True}}, "x.lgo", "unknown key"),
    ({"x": {"type": "double", "low": 0, "high": 1}}, "x.type", "float, int, categorical"),
    ({"x": {"type": "float", "high": 1}}, "x.low", "required"),
    ({"x": {"type": "float", "low": 0, "high": 1, "grid": [0.5, 2.0]}}, "x.grid", "[0.0, 1.0]"),
    ({"x": {"type": "float", "low": 0, "high": 1, "when": {"opt": "sgd"}}}, "x.when", "unknown parameter 'opt'"),
    ({"opt": {"type": "categorical", "choices": ["sgd", "adam"]},
      "x": {"type": "float", "low": 0, "high": 1, "when": {"opt": "lbfgs"}}}, "x.when", "can never be 'lbfgs'"),
    ({"a": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
      "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}}}, ".when", "cycle"),
    ({}, None, "at least one parameter"),
    ({"x": 3}, "x", "mapping"),
    ({"bad name": {"type": "int", "low": 0, "high": 1}}, "bad name", "identifiers"),
])
def test_each_mistake_gets_an_error_naming_the_parameter(params, field, words):
    with pytest.raises(SpaceError) as err:
        SearchSpace.from_dict(params)
    assert words in str(err.value)
    if field is None:
        assert err.value.field is None
    else:
        assert err.value.field.endswith(field) if field.startswith(".") else err.value.field == field


def test_to_dict_round_trips():
    space = SearchSpace.from_dict(SPACE)
    assert SearchSpace.from_dict(space.to_dict()) == space
    assert list(space.to_dict()) == list(SPACE)


def test_a_huge_grid_is_counted_and_indexed_without_listing_it():
    space = SearchSpace.from_dict({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(14)})
    grid = space.grid()
    assert space.grid_size() == grid.size == 5 ** 14
    assert grid[0] == {f"x{i}": 0.0 for i in range(14)}
    assert grid[1] == {**grid[0], "x13": 0.25}  # the last parameter changes fastest
    assert grid[grid.size - 1] == {f"x{i}": 1.0 for i in range(14)}


def test_a_conditional_grid_lists_each_active_combination_once_in_order():
    space = SearchSpace.from_dict({
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
        "nesterov": {"type": "categorical", "choices": [True, False], "when": {"optimizer": "sgd"}},
        "dampening": {"type": "int", "low": 0, "high": 1, "when": {"nesterov": True}},
        "flag": {"type": "categorical", "choices": [1, True]},
    })
    configs = list(space.grid())
    assert len(configs) == space.grid_size() == (2 + 1 + 1) * 2
    assert configs[:3] == [{"optimizer": "sgd", "nesterov": True, "dampening": 0, "flag": 1},
                           {"optimizer": "sgd", "nesterov": True, "dampening": 0, "flag": True},
                           {"optimizer": "sgd", "nesterov": True, "dampening": 1, "flag": 1}]
    assert [type(c["flag"]) for c in configs[:2]] == [int, bool]
    assert configs[-1] == {"optimizer": "adam", "flag": True}


# ------------------------------------------------------------------ a space that changes during a study

OLD = {"lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True},
       "opt": {"type": "categorical", "choices": ["sgd", "adam"]},
       "mom": {"type": "float", "low": 0.0, "high": 0.99, "when": {"opt": "sgd"}},
       "units": {"type": "int", "low": 16, "high": 512}}
NEW = {"lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
       "opt": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
       "mom": {"type": "float", "low": 0.0, "high": 0.99, "when": {"opt": "sgd"}},
       "drop": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.05}}


def test_space_changes_name_each_change_in_a_line():
    assert space_changes(SearchSpace.from_dict(OLD), SearchSpace.from_dict(NEW)) == [
        "lr: low 0.0001 -> 0.001", "opt: choices [sgd, adam] -> [sgd, adam, rmsprop]",
        "added drop (type float, low 0, high 0.5, step 0.05)", "dropped units"]
    assert space_changes(SearchSpace.from_dict(OLD), SearchSpace.from_dict(OLD)) == []


def test_a_trial_fits_a_new_space_only_with_every_active_param_allowed():
    new = SearchSpace.from_dict(NEW)
    assert new.fit({"lr": 0.01, "opt": "adam", "units": 32, "drop": 0.1}) == {"lr": 0.01, "opt": "adam", "drop": 0.1}
    assert new.fit({"lr": 0.0005, "opt": "adam", "drop": 0.1}) is None  # below the narrowed range
    assert new.fit({"lr": 0.01, "opt": "adam", "units": 32}) is None  # drop is new: the trial never set it
    assert new.fit({"lr": 0.01, "opt": "sgd", "drop": 0.1}) is None  # mom is active for sgd and missing
    assert new.fit({"lr": 0.01, "opt": "adam", "drop": 0.12}) is None  # off the 0.05 step
    old = SearchSpace.from_dict(OLD)  # a param that became inactive is left out
    assert old.fit({"lr": 0.01, "opt": "adam", "units": 32, "mom": 0.5}) == {"lr": 0.01, "opt": "adam", "units": 32}
