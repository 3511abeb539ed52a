"""The LR range test (Smith 2015): where the loss falls fastest as the learning rate rises, and what to search.

The training itself is the model's (`lr_range_test`: one batch a rate, rates rising exponentially, stopped
when the loss explodes); this module reads the curve, draws it, and narrows a study file's
`learning_rate` bounds in place, keeping every other line of the file as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import InputError
from .space import SearchSpace
from .storage import write_atomic

LR_PARAM = "learning_rate"


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


def narrowed(definition: dict, test: RangeTest) -> dict:
    """A learning_rate param definition with the recommended bounds (3 significant digits), on a log scale."""
    return {**definition, "low": float(f"{test.low:.3g}"), "high": float(f"{test.high:.3g}"), "log": True}


def lr_param(space: SearchSpace, *, file: str | None) -> None:
    """The study must tune a float `learning_rate` for `--write` to narrow it."""
    if LR_PARAM not in space:
        raise InputError(f"has no {LR_PARAM} parameter to narrow", file=file, field="params")
    if type(space[LR_PARAM]).__name__ != "FloatParam":
        raise InputError("must be a float parameter to narrow it", file=file, field=f"params.{LR_PARAM}")


def narrow_study_file(path: Path, low: float, high: float) -> None:
    """Set params.learning_rate's low and high in the file text itself, atomically; comments survive."""
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = _child(_child(root, "params"), LR_PARAM)
    if not isinstance(node, yaml.MappingNode):
        raise InputError("must be a mapping with low and high to narrow it", file=str(path),
                         field=f"params.{LR_PARAM}")
    edits = []
    for key in ("low", "high"):
        value = _child(node, key)
        if value is None:
            raise InputError(f"has no {key} to narrow", file=str(path), field=f"params.{LR_PARAM}")
        edits.append((value.start_mark.index, value.end_mark.index, _number(low if key == "low" else high)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    yaml.safe_load(text)  # the edit kept the file valid YAML
    write_atomic(path, text)


def _child(node, key: str):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _number(value: float) -> str:
    """A float YAML 1.1 reads back as a float: a dot in the mantissa and a signed exponent (1.00e-03)."""
    return f"{value:.2e}"
