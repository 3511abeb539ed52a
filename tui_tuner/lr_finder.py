"""The LR range test (Smith 2015): where the loss falls fastest as the learning rate rises, and what to search.

The training itself is the model's (`lr_range_test`: one batch a rate, rates rising exponentially, stopped
when the loss explodes); this module reads the curve, draws it, and sets a study file's `learning_rate`
bounds in place, keeping every comment and every other line of the file. A curve that never falls gives no
range; a range is kept within the param's current bounds unless the user asks to widen them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import InputError
from .space import SearchSpace
from .study_text import write_study_file

LR_PARAM = "learning_rate"
MIN_FALL = 0.02  # a loss that falls less than this share of where it started has not fallen: no range


class NoRangeFound(ValueError):
    """The loss never fell as the rate rose (a trained or stuck model): there is no range to suggest."""


@dataclass(frozen=True)
class RangeTest:
    rates: np.ndarray
    losses: np.ndarray  # smoothed
    suggested: float  # the steepest descent of the smoothed loss
    low: float  # the range recommended for the search
    high: float
    lowest_loss_rate: float

    @property
    def exploded(self) -> bool:
        """True when the test stopped early because the loss blew up (not at the top rate)."""
        return bool(len(self.losses)) and bool(self.losses[-1] > 2 * self.losses.min())


def analyse(rates: np.ndarray, losses: np.ndarray) -> RangeTest:
    """The suggestion: the steepest fall of loss against log10(rate) (measured over a window), before the
    lowest loss; the range: a decade below it up to a decade above, capped at the rate of the lowest loss."""
    rates, losses = np.asarray(rates, float), np.asarray(losses, float)
    if len(rates) < 8:
        raise ValueError(f"the loss exploded after {len(rates)} batches: too few to read a slope; "
                         "the model diverges even at tiny rates")
    lowest = int(np.argmin(losses))
    n = len(rates)
    w = max(2, n // 25)  # the slope over a window: batch-to-batch noise would otherwise pick a random point
    skip = max(w, n // 10)  # the first batches measure the initial weights, not the rate
    start = float(np.max(losses[skip - w:skip + 1]))
    if not start - float(losses[lowest]) > MIN_FALL * abs(start):
        raise NoRangeFound(f"no range found: the loss never fell ({start:.4g} at the start, {losses[lowest]:.4g} at "
                           f"its lowest, over rates {rates[0]:.1e} to {rates[-1]:.2g}); a model that has already "
                           "learned, or cannot learn at any rate, gives no range (try another config with --set)")
    end = min(max(lowest, skip + 1), n - 1 - w)
    log_rates = np.log10(rates)
    centres = np.arange(skip, max(end, skip) + 1)
    slopes = (losses[centres + w] - losses[centres - w]) / (log_rates[centres + w] - log_rates[centres - w])
    steepest = int(centres[np.argmin(slopes)])
    suggested = float(rates[steepest])
    high = min(suggested * 10, float(rates[lowest]))
    return RangeTest(rates, losses, suggested, low=suggested / 10, high=max(high, suggested),
                     lowest_loss_rate=float(rates[lowest]))


def check_objective(objective, *, file: str | None) -> None:
    """Only the built-in models let the test drive the learning rate batch by batch."""
    if not getattr(objective, "supports_lr_range_test", False):
        raise InputError("the LR range test needs a built-in model (model: mlp or softmax), whose learning rate "
                         "it can drive batch by batch", file=file, field="objective.model")


def start_config(space: SearchSpace, best: dict | None = None, overrides: dict | None = None) -> dict:
    """The config the test trains: the best trial's when there is one, else the middle of the space."""
    config = dict(best) if best else space.from_unit(np.full(len(space), 0.5))
    config.update(overrides or {})
    config.pop(LR_PARAM, None)  # the test sets the rate itself
    return config


def find(objective, params: dict, seed: int = 0, steps: int | None = None) -> RangeTest:
    """Run the range test of `objective` on `params` (in a worker process, from the app) and read it."""
    rates, losses = objective.lr_range_test(params, seed, steps=steps)
    return analyse(rates, losses)


class RangeTestRun:
    """The range test as a worker-process job, so the app never trains in its own process."""

    def __init__(self, objective, steps: int | None = None) -> None:
        self.objective = objective
        self.steps = steps

    def prepare(self) -> None:
        self.objective.prepare()

    def __call__(self, params: dict, trial) -> dict:
        rates, losses = self.objective.lr_range_test(params, trial.seed, steps=self.steps)
        return {"rates": rates.tolist(), "losses": losses.tolist()}


def draw(plt, test: RangeTest) -> None:
    """Loss against learning rate (log axis) on a plotext figure, the suggestion and the range marked."""
    x = np.log10(test.rates)
    bottom = float(test.losses.min())
    top = min(float(test.losses.max()), bottom + 1.5 * (float(test.losses[0]) - bottom) + 1e-9)  # not the blow-up
    plt.plot(x.tolist(), np.minimum(test.losses, top).tolist(), label="smoothed loss", marker="braille",
             color="blue")
    for rate, label, line in ((test.suggested, f"suggested {test.suggested:.2g}", "red"),
                              (test.low, f"range {test.low:.2g} to {test.high:.2g}", "green"),
                              (test.high, None, "green")):
        plt.plot([math.log10(rate)] * 2, [bottom, top], label=label, marker="braille", color=line)
    plt.xlabel("log10 learning rate")
    plt.title("LR range test: loss against learning rate")


def plot(test: RangeTest, width: int = 72, height: int = 18, color: bool = True) -> str:
    """The chart as terminal text (the CLI's)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    draw(plt, test)
    text = plt.build()
    return text if color else plt.uncolorize(text)


def narrowed(definition: dict, test: RangeTest, *, widen: bool = False) -> dict:
    """A learning_rate param definition with the recommended bounds (3 significant digits), on a log scale,
    kept within its current bounds unless `widen`; InputError when the two ranges do not even overlap."""
    low, high = float(f"{test.low:.3g}"), float(f"{test.high:.3g}")
    if not widen:
        current_low, current_high = float(definition["low"]), float(definition["high"])
        if low >= current_high or high <= current_low:
            raise InputError(f"the recommended range {low:.3g} to {high:.3g} lies outside the current bounds "
                             f"{current_low:.3g} to {current_high:.3g}; widen to use it",
                             field=f"params.{LR_PARAM}")
        low, high = max(low, current_low), min(high, current_high)
    return {**definition, "low": low, "high": high, "log": True}


def change(old: dict, new: dict) -> str:
    """How `new` bounds differ from `old`: narrowed, widened, moved or unchanged (said as it is)."""
    old_low, old_high, low, high = float(old["low"]), float(old["high"]), new["low"], new["high"]
    if (low, high) == (old_low, old_high):
        return "unchanged"
    if low >= old_low and high <= old_high:
        return "narrowed"
    if low <= old_low and high >= old_high:
        return "widened"
    return "moved"


def lr_param(space: SearchSpace, *, file: str | None) -> None:
    """The study must tune a float `learning_rate` for `--write` to narrow it."""
    if LR_PARAM not in space:
        raise InputError(f"has no {LR_PARAM} parameter to narrow", file=file, field="params")
    if type(space[LR_PARAM]).__name__ != "FloatParam":
        raise InputError("must be a float parameter to narrow it", file=file, field=f"params.{LR_PARAM}")


def narrow_study_file(path: Path, definition: dict) -> None:
    """Set params.learning_rate to `definition` in the file, atomically; comments and layout survive."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    content["params"][LR_PARAM] = definition
    write_study_file(path, content)
