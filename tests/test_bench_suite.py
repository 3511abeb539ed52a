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


def test_the_fresh_half_is_generated_mixed_and_noisy_problems_from_seeds_the_tuning_half_never_draws():
    buckets = problem_names()
    fresh = bo_suite.FRESH
    assert sum(buckets[n] == "mixed" for n in fresh) >= 12 and sum(buckets[n] == "noisy" for n in fresh) >= 8
    assert {buckets[n] for n in fresh} == {"mixed", "noisy"}
    seed = lambda name: int(name.rpartition("-gen-")[2])  # noqa: E731
    tuning_seeds = {seed(n) for n in bo_suite.TUNING if "-gen-" in n}
    assert len(tuning_seeds) >= 12 and not tuning_seeds & {seed(n) for n in fresh}
    assert not set(fresh) & (set(bo_suite.TUNING) | set(bo_suite.HELD_OUT))


@pytest.mark.parametrize("half, real", [("judge", False), ("judge3", True), ("judge4", False), ("judge5", False),
                                        ("judge6", False)])
def test_a_judge_half_has_every_bucket_from_seeds_no_other_half_draws(half, real):
    buckets = problem_names()
    judge = bo_suite.HALVES[half]
    assert {buckets[n] for n in judge} == {"2", "5", "10", "20", "mixed", "noisy"} | ({"real"} if real else set())
    assert all(sum(buckets[n] == b for n in judge) >= 6 for b in ("2", "5", "10", "20"))
    others = set().union(*(names for other, names in bo_suite.HALVES.items() if other != half))
    seeds = lambda names: {int(n.rpartition("-gen-")[2]) for n in names if "-gen-" in n}  # noqa: E731
    assert not set(judge) & others and not seeds(judge) & seeds(others)


def test_a_generated_continuous_problem_has_the_dimension_its_bucket_says():
    for name in ("cont-gen-0", "cont-gen-1", "cont-gen-2", "cont-gen-3"):
        problem = build(name)
        assert str(len(problem.space)) == problem.bucket == problem_names()[name]
    values = {build("cont-gen-1").value(build("cont-gen-1").space.sample(np.random.default_rng(s))) for s in range(5)}
    assert len(values) == 5


def test_a_generated_mixed_problems_conditional_float_counts_only_where_it_is_active():
    """Optuna's adapter sends every param, the inactive conditional one too: it must not pay off there."""
    problem = build("mixed-gen-0")
    c0 = problem.space["c0"]
    switch = problem.space["cond"].when["c0"][0]
    off = next(choice for choice in c0.choices if choice != switch)
    config = problem.space.sample(np.random.default_rng(0)) | {"c0": off}
    config.pop("cond", None)
    assert problem.value(config | {"cond": 0.0}) == problem.value(config) == problem.value(config | {"cond": 1.0})


def test_a_generated_mixed_problem_has_categories_that_matter():
    """Swapping one categorical's choice at a config changes the value: the family is not floats in disguise."""
    problem = build("mixed-gen-0")
    categoricals = [p for p in problem.space.params if hasattr(p, "choices")]
    assert 2 <= len(categoricals) <= 10
    config = problem.space.sample(np.random.default_rng(1))
    first = categoricals[-1]
    values = {problem.value(config | {first.name: choice}) for choice in first.choices}
    assert len(values) == len(first.choices)


@pytest.mark.parametrize("name", [n for n, bucket in problem_names().items() if bucket != "real"])
def test_a_problem_rebuilt_in_another_run_is_the_same_function(name):
    first, again = build(name), build(name)
    rng = np.random.default_rng(0)
    configs = [first.space.sample(rng) for _ in range(5)]
    values = [first.value(c) for c in configs]
    assert all(math.isfinite(v) for v in values)
    assert values == [again.value(c) for c in configs]


def test_heteroscedastic_noise_is_larger_where_values_are_worse():
    noisy = [build(n) for n in bo_suite.TUNING if n.startswith("noisy-gen-")]
    problem = next(p for p in noisy if p.noise_shape)
    rng = np.random.default_rng(0)
    configs = sorted((problem.space.sample(rng) for _ in range(200)), key=problem.value)
    assert problem.noise_shape(configs[0]) < problem.noise_shape(configs[-1])


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
