"""What an objective may hand back (a number, or a dict of metric name -> number) and report, said in
failure reasons short enough for a journal line and a screen: what came back, and what is allowed.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from typing import Any

ALLOWED = "a number, or a dict of metric name -> number"
REASON_CHARS = 500  # a failure reason is at most this long
NAME_CHARS = 100  # a metric name
MAX_METRICS = 1000  # metrics in one result or report
RESULT_BYTES = 1 << 20  # what a result may take, pickled, to cross from the worker

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


def shorten(text: str, limit: int = REASON_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(value: Any) -> str:
    """`value` as a user can recognise it: its type and a short repr (`str 'very good'`)."""
    if value is None:
        return "None"
    try:
        text = _repr.repr(value)
    except Exception:  # noqa: BLE001 - a user's object whose __repr__ fails is still described by its type
        text = "?"
    return f"{type(value).__name__} {shorten(text, 80)}"


def as_number(value: Any) -> float | None:
    """`value` as a float when it is a number (int, float, numpy scalar; not a bool), else None. An int
    too big for a float is infinite, as a float that big would be."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def checked_metrics(values: dict, what: str) -> dict[str, float]:
    """A dict of metric name -> number as plain floats; ValueError says which entry is not, in `what`."""
    if len(values) > MAX_METRICS:
        raise ValueError(f"{what} holds {len(values)} metrics; at most {MAX_METRICS} are kept")
    metrics = {}
    for name, value in values.items():
        if not isinstance(name, str) or not 0 < len(name) <= NAME_CHARS:
            raise ValueError(f"{what} has the key {describe(name)}; metric names are strings of 1 to "
                             f"{NAME_CHARS} characters")
        number = as_number(value)
        if number is None:
            raise ValueError(f"{what} has {shorten(name, 40)!r}: {describe(value)}, not a number")
        metrics[name] = number
    return metrics


def plain(result: Any) -> Any:
    """numpy scalars (also as a dict's values) become floats, so the engine's process gets plain values."""
    if isinstance(result, dict):
        return {name: plain(value) for name, value in result.items()}
    number = as_number(result)
    return result if number is None else number
