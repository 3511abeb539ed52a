"""Objectives for the trials-table tests: the param `kind` says how the trial ends."""

import time
from pathlib import Path

from tui_tuner import TrialPruned


def by_kind(params, trial):
    """ok: finishes with two metrics; fail: raises; prune: reports two steps then is pruned; wait: runs
    until the file named by its `gate` param appears (a trial that is running while the test looks)."""
    kind = params["kind"]
    if kind == "fail":
        raise ValueError("boom: the data loader broke")
    if kind == "prune":
        trial.report(0, loss=1.0)
        trial.report(1, loss=0.9)
        raise TrialPruned()
    if kind == "wait":
        while not Path(params["gate"]).exists():
            time.sleep(0.02)
    return {"loss": (params["x"] - 0.3) ** 2, "fit_time": 0.5 + params["x"]}
