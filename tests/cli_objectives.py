"""Small, fast objectives for the CLI tests; study files in the tests name them by module path."""

import os
import time


def quadratic(params, trial):
    """A smooth bowl with its minimum at x = 0.3, reporting three 'epochs' on the way."""
    x = params["x"]
    for epoch in range(3):
        trial.report(epoch, loss=(x - 0.3) ** 2 + 1.0 / (epoch + 1), lr=0.1)
    return (x - 0.3) ** 2


def slow_quadratic(params, trial):
    """As quadratic, but long enough that a kill lands while trials are running."""
    time.sleep(float(os.environ.get("TUI_TUNER_TEST_SLEEP", "0.4")))
    return (params["x"] - 0.3) ** 2


def flaky(params, trial):
    """Fails for x above 0.8, so a study has failures with reasons to show."""
    if params["x"] > 0.8:
        raise ValueError(f"x too large: {params['x']:.3f}")
    return params["x"]


def curve(params, trial):
    """A learning curve per config: nine epochs falling towards (x - 0.3)^2, stopping when pruned."""
    from tui_tuner import TrialPruned

    x = params["x"]
    for epoch in range(9):
        trial.report(epoch, value=(x - 0.3) ** 2 + 0.1 / (epoch + 1))
        if trial.should_prune():
            raise TrialPruned()
    return (x - 0.3) ** 2
