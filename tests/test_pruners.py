"""Pruner decisions on constructed learning curves, and the study file's pruner section."""

import pytest

from tui_tuner.errors import InputError
from tui_tuner.pruners import MedianPruner, SuccessiveHalvingPruner, make_pruner, pruner_from_yaml


def feed(pruner, number, curve, metric="acc"):
    """Report a whole curve; the steps at which the pruner said stop."""
    return [step for step, value in enumerate(curve) if pruner.on_report(number, step, {metric: value})]


def test_median_prunes_below_the_median_of_the_others_after_warmup():
    pruner = MedianPruner("acc", "maximize", warmup=2, min_trials=3)
    for n, level in enumerate([0.5, 0.6, 0.7, 0.8]):
        assert feed(pruner, n, [level] * 6) == []  # the first trials have too few others, or are above
    assert pruner.threshold(3) == pytest.approx(0.65)
    assert feed(pruner, 10, [0.9, 0.9, 0.5, 0.5, 0.5, 0.5]) == []  # its best so far (0.9) is above the median
    assert feed(pruner, 11, [0.4, 0.4, 0.4, 0.4]) == [2, 3]  # not before the warmup, then every step


def test_median_minimizes_too_and_ignores_other_metrics():
    pruner = MedianPruner("loss", "minimize", warmup=0, min_trials=2)
    for n in range(3):
        feed(pruner, n, [1.0, 0.5, 0.2], metric="loss")
    assert feed(pruner, 5, [2.0, 2.0], metric="loss") == [0, 1]
    assert feed(pruner, 6, [2.0, 2.0], metric="lr") == []


def test_successive_halving_promotes_the_top_third_at_each_rung():
    pruner = SuccessiveHalvingPruner("acc", "maximize", min_resource=1, reduction_factor=3)
    assert pruner.rung_steps(30) == [0, 2, 8, 26]
    # six trials reach rung 0 (1 epoch): the first always goes on, later ones only in the top third so far
    firsts = [0.5, 0.2, 0.9, 0.6, 0.3, 0.8]
    decisions = [pruner.on_report(n, 0, {"acc": v}) for n, v in enumerate(firsts)]
    assert decisions == [False, True, False, True, True, False]  # 0.8 is second of six: top third
    # between rungs nothing is pruned, however bad
    assert pruner.on_report(0, 1, {"acc": 0.0}) is False
    assert pruner.threshold(1) is None and pruner.threshold(0) == pytest.approx(0.8)


def test_successive_halving_with_a_larger_minimum_resource():
    pruner = SuccessiveHalvingPruner("loss", "minimize", min_resource=2, reduction_factor=2)
    assert pruner.rung_steps(20) == [1, 3, 7, 15]
    assert feed(pruner, 0, [3, 2, 1, 0.5], metric="loss") == []
    assert feed(pruner, 1, [3, 2.5, 2, 1.5], metric="loss") == [1, 3]


def test_failed_trials_leave_the_rungs_unordered_and_stay_ordered():
    unordered = SuccessiveHalvingPruner("acc", "maximize", reduction_factor=2, ordered=False)
    unordered.on_report(0, 0, {"acc": 0.9})
    unordered.on_finish(0, "failed")
    assert unordered.on_report(1, 0, {"acc": 0.1}) is False  # alone again at the rung: it goes on
    ordered = SuccessiveHalvingPruner("acc", "maximize", reduction_factor=2)
    ordered.on_report(0, 0, {"acc": 0.9})
    ordered.on_finish(0, "failed")  # whether trial 1 hears of it first depends on timing: the report stands
    assert ordered.on_report(1, 0, {"acc": 0.1}) is True


@pytest.mark.parametrize("make", [lambda **kw: MedianPruner("acc", "maximize", warmup=0, min_trials=2, **kw),
                                  lambda **kw: SuccessiveHalvingPruner("acc", "maximize", **kw)])
def test_ordered_a_trial_is_judged_against_earlier_numbers_only(make):
    """Trials 5 to 8 reported first (faster workers): trial 1 is judged as if it had run right after trial 0."""
    ordered, unordered = make(), make(ordered=False)
    for pruner in (ordered, unordered):
        for n in (0, 5, 6, 7, 8):
            pruner.on_report(n, 0, {"acc": 0.3 if n == 0 else 0.9})
    assert ordered.on_report(1, 0, {"acc": 0.5}) is False  # better than trial 0, the only one before it
    assert unordered.on_report(1, 0, {"acc": 0.5}) is True  # worse than the later ones that came first


@pytest.mark.parametrize("value, expected", [
    ("median", {"name": "median", "warmup": 2, "min_trials": 4, "ordered": True}),
    ("asha", {"name": "successive_halving", "min_resource": 1, "reduction_factor": 3, "ordered": True}),
    ({"name": "successive_halving", "reduction_factor": 4, "ordered": False},
     {"name": "successive_halving", "min_resource": 1, "reduction_factor": 4, "ordered": False}),
    ("none", None), (None, None),
])
def test_pruner_section(value, expected):
    assert pruner_from_yaml(value, file="s.yaml") == expected


@pytest.mark.parametrize("value, message", [
    ("mediam", "s.yaml: pruner: unknown pruner 'mediam'"),
    ({"name": "median", "warmpu": 3}, "s.yaml: pruner.warmpu: median has no option 'warmpu'"),
    ({"name": "asha", "reduction_factor": 1}, "s.yaml: pruner.reduction_factor: must be a whole number, at least 2"),
    (3, "s.yaml: pruner: must be median, successive_halving, none"),
])
def test_pruner_mistakes_name_the_field(value, message):
    with pytest.raises(InputError) as err:
        pruner_from_yaml(value, file="s.yaml")
    assert str(err.value).startswith(message)


def test_make_pruner():
    assert isinstance(make_pruner({"name": "median", "warmup": 1, "min_trials": 1}, "acc", "maximize"), MedianPruner)
    assert make_pruner(None, "acc", "maximize") is None
