"""Objectives for the study-directory tests (locks, full disk, best.json); study files name them by module."""

import os
import time


def slow_bowl(params, trial):
    """Long enough that a second process or a kill lands while trials run."""
    time.sleep(float(os.environ.get("TUI_TUNER_TEST_SLEEP", "0.3")))
    for epoch in range(3):
        trial.report(epoch, loss=(params["x"] - 0.3) ** 2 + 1.0 / (epoch + 1))
    return (params["x"] - 0.3) ** 2


def scaled_bowl(params, trial):
    """Uses a fixed param (`scale`) beside the tuned one: a config without it cannot reproduce the value."""
    return params["scale"] * (params["x"] - 0.3) ** 2
