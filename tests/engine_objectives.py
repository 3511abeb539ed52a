"""Objectives for engine tests: module-level, so worker processes can import them by name."""

import ctypes
import os
import time

from tui_tuner import TrialPruned


def quadratic(params, trial):
    return (params["x"] - 0.3) ** 2


def reporting(params, trial):
    for step in range(3):
        trial.report(step, loss=params["x"] * (3 - step))
        if trial.should_prune():
            raise TrialPruned()
    return {"loss": params["x"], "accuracy": 1 - params["x"]}


def by_fault(params, trial):
    """Behaves according to params["fault"]: the faults a user's objective can have."""
    fault = params["fault"]
    if fault == "raise":
        raise ValueError("diverged at epoch 3")
    if fault == "nan":
        return float("nan")
    if fault == "inf":
        return float("inf")
    if fault == "hang":
        time.sleep(60)
    if fault == "exit":
        os._exit(3)
    if fault == "segfault":
        ctypes.string_at(0)
    if fault == "string":
        return "very good"
    return params["x"]


def sleepy(params, trial):
    time.sleep(params.get("sleep", 0.2))
    return params["x"]


def noop(params, trial):
    return 0.0


class WithMetric:
    """An objective whose study metric is one key of the dict it returns."""

    def __init__(self, fn, metric):
        self.fn, self.metric, self.direction = fn, metric, "minimize"

    def __call__(self, params, trial):
        return self.fn(params, trial)

def jittery_curve(params, trial):
    """A curve set by the params, at a pace set by chance (not the seed): which trial reports first varies."""
    for step in range(5):
        time.sleep(int.from_bytes(os.urandom(1), "little") / 255 * 0.03)
        trial.report(step, loss=params["x"] + 1 / (step + 1))
        if trial.should_prune():
            raise TrialPruned()
    return {"loss": params["x"]}
