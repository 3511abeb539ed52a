"""Options declared once: each strategy's (and pruner's, and the study file's search settings) name, default,
kind and a one-line description, so the check, its wording and the app's hint all come from one place.

A kind checks a value and returns it normalised (4.0 -> 4 for a whole number); a wrong value raises
InputError naming the field, in one wording everywhere: `search.population: must be a whole number, at
least 2, got 1`. An option whose default is None is chosen automatically unless given ("auto").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from .errors import InputError

AUTO = "auto"  # what a user writes (or the app shows) for an option left to the strategy


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Whole:
    """A whole number from `least` up (to `most`, when given); 4.0 is taken as 4."""

    least: int
    most: int | None = None

    def describe(self) -> str:
        if self.most is None:
            return f"a whole number, at least {self.least}"
        return f"a whole number from {self.least} to {self.most}"

    def check(self, value: Any) -> int:
        if isinstance(value, Integral) and not isinstance(value, bool):
            whole = int(value)
        elif _is_number(value) and math.isfinite(value) and float(value).is_integer():
            whole = int(value)
        else:
            raise ValueError
        if whole < self.least or (self.most is not None and whole > self.most):
            raise ValueError
        return whole


@dataclass(frozen=True)
class Number:
    """A finite number from `low` (excluded unless `low_closed`) up to `high` (included), when given."""

    low: float
    high: float | None = None
    low_closed: bool = False

    def describe(self) -> str:
        if self.high is not None:
            return f"a number in {'[' if self.low_closed else '('}{_shown(self.low)}, {_shown(self.high)}]"
        if self.low == 0 and not self.low_closed:
            return "a positive number"
        return f"a number {'at least' if self.low_closed else 'above'} {_shown(self.low)}"

    def check(self, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError
        number = float(value)
        if number < self.low or (number == self.low and not self.low_closed):
            raise ValueError
        if self.high is not None and number > self.high:
            raise ValueError
        return number


@dataclass(frozen=True)
class OneOf:
    """One of a few named choices (the app offers them as a list)."""

    choices: tuple[str, ...]

    def describe(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError
        return value


@dataclass(frozen=True)
class Flag:
    """true or false."""

    def describe(self) -> str:
        return "true or false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value


Kind = Whole | Number | OneOf | Flag


@dataclass(frozen=True)
class Option:
    """A declared option: its default (None: chosen automatically), what it may be, and what it does."""

    default: Any
    kind: Kind
    help: str

    @property
    def auto(self) -> bool:
        return self.default is None

    def check(self, value: Any, *, field: str, file: str | None = None) -> Any:
        """`value` normalised, the default when it is None (or "auto" for an automatic option); else an
        InputError naming `file` and `field`."""
        if value is None or (self.auto and value == AUTO):
            return self.default
        return checked(self.kind, value, field=field, file=file)

    def readable_default(self) -> str:
        """The default as it would be typed in a study file (`auto` for None, `false`, not `False`)."""
        if self.default is None:
            return AUTO
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return _shown(self.default)


def checked(kind: Kind, value: Any, *, field: str | None, file: str | None = None) -> Any:
    """`value` checked by `kind` and normalised; else an InputError naming `file` and `field`."""
    try:
        return kind.check(value)
    except ValueError:
        raise InputError(f"must be {kind.describe()}, got {value!r}", file=file, field=field) from None


def check_options(declared: dict[str, Option], given: dict[str, Any], *, prefix: str,
                  file: str | None = None) -> dict[str, Any]:
    """Every declared option's checked value (defaults filled in); the given keys must all be declared, which
    the caller checks first because each says the unknown key its own way."""
    return {name: option.check(given.get(name), field=f"{prefix}.{name}", file=file)
            for name, option in declared.items()}


def whole_from_text(text: str, least: int, *, field: str | None = None) -> int:
    """A whole number typed on the command line or in a prompt, checked and worded as a declared one."""
    try:
        whole = int(text)
    except ValueError:
        whole = None  # not a number: refused below with the text as typed
    return checked(Whole(least), text if whole is None else whole, field=field)
