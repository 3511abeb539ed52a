"""bench/bo_suite.py measures the searchers: its split, its problems and its scoring must hold still between runs."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bo_suite  # noqa: E402
from _landscapes import build, problem_names  # noqa: E402
from _peers import run_one  # noqa: E402


def test_every_problem_is_in_exactly_one_half_and_each_half_has_every_bucket():
    bo_suite.check_split()
    buckets = problem_names()
    for half in (bo_suite.TUNING, bo_suite.HELD_OUT):
        assert {buckets[name] for name in half} == set(bo_suite.BUCKETS)


@pytest.mark.parametrize("name", [n for n, bucket in problem_names().items() if bucket != "real"])
def test_a_problem_rebuilt_in_another_run_is_the_same_function(name):
    first, again = build(name), build(name)
    rng = np.random.default_rng(0)
    configs = [first.space.sample(rng) for _ in range(5)]
    values = [first.value(c) for c in configs]
    assert all(math.isfinite(v) for v in values)
    assert values == [again.value(c) for c in configs]


def test_a_noisy_run_is_scored_by_the_true_value_of_the_config_it_saw_best():
    """A lucky draw (observed 0, truly 9) must not count as the searcher's best: its true value does."""
    asked = iter([{"x": 1.0}, {"x": 3.0}, {"x": 2.0}])
    observed = {1.0: 5.0, 3.0: 0.0, 2.0: 4.0}

    class Fixed:
        def ask(self):
            return next(asked)

        def tell(self, config, value):
            return None

    run = run_one(lambda space, seed: Fixed(), None, lambda c: observed[c["x"]], 0, 3, judge=lambda c: c["x"] ** 2)
    assert run.curve == [1.0, 9.0, 9.0]
