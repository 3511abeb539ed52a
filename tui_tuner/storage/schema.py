"""What a journal record must hold, checked where records enter (replay), so nothing past it meets a string
where a number belongs: a damaged or hand-edited journal is named by line, never a traceback later. `Order`
checks each record against the ones before it, so a reordered or forged line cannot rewrite a result."""

from __future__ import annotations

import math
from typing import Any, Callable

from ..records import SPACE_REASONS

_LARGEST = int(1.7e308)  # a whole number past it is no float: math.isfinite raised OverflowError on it
_WHOLE = 2 ** 63  # trial numbers, seeds and steps fit numpy's int64 (a seed past it would fail every rerun)


def _number(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _LARGEST  # a float holds it


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < _WHOLE


def _version(v: Any) -> bool:
    return _count(v) and v >= 1


def _step(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -_WHOLE < v < _WHOLE


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _texts(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and bool(v) and all(isinstance(x, str) for x in v))


def _lines(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _reason(v: Any) -> bool:
    return v in SPACE_REASONS


def _mapping(v: Any) -> bool:
    return isinstance(v, dict)


def _space_params(v: Any) -> bool:
    return isinstance(v, dict) and bool(v) and all(isinstance(d, dict) for d in v.values())


def _flag(v: Any) -> bool:
    return isinstance(v, bool)


def _numbers(v: Any) -> bool:
    return isinstance(v, list) and len(v) >= 2 and all(_number(x) for x in v)


def _pair(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v)


def _positive(v: Any) -> bool:
    return _number(v) and v > 0


def _share(v: Any) -> bool:
    return _positive(v) and v <= 1


def _directions(v: Any) -> bool:
    return v in _DIRECTIONS or (isinstance(v, list) and bool(v) and all(d in _DIRECTIONS for d in v))


_DIRECTIONS = ("minimize", "maximize")
# a setting -> what it must be when present and not null: the ranges the study file's search section allows
_SETTINGS: dict[str, Callable[[Any], bool]] = {
    "strategy": _text, "strategy_options": _mapping, "seed": _count, "trials": _version,
    "workers": _version, "time_budget": _positive, "trial_timeout": _positive, "ask_share": _share,
    "trial_memory": _version, "dask": _text}


def _settings_problem(v: Any) -> str | None:
    """Why a study or settings record's search settings are not ones a study file allows, or None."""
    if not isinstance(v, dict):
        return f"settings is {_short(v)}, not a JSON object"
    for name in ("strategy", "seed"):
        if name not in v:
            return f"settings has no {name}"
    for name, ok in _SETTINGS.items():
        value = v.get(name)
        if (value is not None or name in ("strategy", "seed")) and not ok(value):
            return f"settings.{name} is {_short(value)}, not {_WHAT[ok]}"
    return None


def _settings(v: Any) -> bool:
    return _settings_problem(v) is None


_WHAT = {_settings: "search settings", _positive: "a positive number", _share: "a number in (0, 1]",
         _directions: "minimize or maximize (or a list of them)",
         _number: "a finite number", _count: "a whole number >= 0 (below 2**63)",
         _version: "a whole number >= 1 (below 2**63)", _step: "a whole number (between -2**63 and 2**63)",
         _text: "a string",
         _texts: "a string or a list of strings", _lines: "a list of strings",
         _reason: "one of " + ", ".join(SPACE_REASONS), _mapping: "a JSON object",
         _space_params: "a params mapping (each parameter's definition an object)", _flag: "true or false",
         _pair: "a [mean, std] pair of numbers", _numbers: "a list of finite numbers, one a metric"}

REQUIRED, OPTIONAL, NULLABLE = "required", "optional", "optional, may be null"

# event -> field -> (presence, check)
_FIELDS: dict[str, dict[str, tuple[str, Callable[[Any], bool]]]] = {
    "study": {"name": (REQUIRED, _text), "metric": (OPTIONAL, _texts), "direction": (OPTIONAL, _directions),
              "settings": (OPTIONAL, _settings), "base_dir": (OPTIONAL, _text), "source": (NULLABLE, _text),
              "balance": (OPTIONAL, _mapping), "objective": (OPTIONAL, _mapping)},
    "started": {"number": (REQUIRED, _count), "params": (REQUIRED, _mapping), "seed": (REQUIRED, _count),
                "manual": (OPTIONAL, _flag), "predicted": (NULLABLE, _pair), "proposer": (NULLABLE, _text),
                "space": (OPTIONAL, _version)},
    "reported": {"number": (REQUIRED, _count), "step": (REQUIRED, _step), "values": (REQUIRED, _mapping)},
    "finished": {"number": (REQUIRED, _count), "value": (REQUIRED, _number), "metrics": (NULLABLE, _mapping),
                 "duration": (NULLABLE, _number), "values": (OPTIONAL, _numbers)},
    "failed": {"number": (REQUIRED, _count), "reason": (NULLABLE, _text), "duration": (NULLABLE, _number)},
    "pruned": {"number": (REQUIRED, _count), "step": (NULLABLE, _step), "duration": (NULLABLE, _number)},
    "interrupted": {"number": (REQUIRED, _count)},
    "test": {"number": (REQUIRED, _count), "value": (NULLABLE, _number), "error": (NULLABLE, _text),
             "metric": (OPTIONAL, _texts)},
    "note": {"number": (NULLABLE, _count), "text": (REQUIRED, _text)},  # number null: a note on the study
    "settings": {"settings": (REQUIRED, _settings)},
    "objective": {"objective": (REQUIRED, _mapping), "base_dir": (REQUIRED, _text)},
    "space": {"version": (REQUIRED, _version), "params": (REQUIRED, _space_params), "reason": (REQUIRED, _reason),
              "changes": (OPTIONAL, _lines)},
}
for _fields in _FIELDS.values():  # every record may say when it happened (checked once here, not per line)
    _fields["time"] = (NULLABLE, _number)


def record_problem(record: Any) -> str | None:
    """Why `record` (a parsed journal line) is not a journal record, or None when it is one; the
    reason reads after "line N" ("line 7 has a finished record whose value is None, ...")."""
    if not isinstance(record, dict):
        return "is not a journal record (not a JSON object)"
    kind = record.get("event")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return f"is not a journal record (unknown event {_short(kind)})"
    for name, (presence, check) in fields.items():
        if name not in record:
            if presence == REQUIRED:
                return f"has a {kind} record without {name}"
            continue
        value = record[name]
        if check is _settings and value is not None:
            problem = _settings_problem(value)
            if problem:
                return f"has a {kind} record whose {problem}"
        elif not (check(value) or (value is None and presence == NULLABLE)):
            return f"has a {kind} record whose {name} is {_short(value)}, not {_WHAT[check]}"
    if kind == "finished" and "values" in record and record["values"][0] != record["value"]:
        return f"has a finished record whose value {_short(record['value'])} is not its first of values"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_ENDS = {"finished": "finishes", "failed": "fails", "pruned": "prunes", "interrupted": "interrupts"}
_WAS = {"finished": "finished", "failed": "failed", "pruned": "was pruned", "interrupted": "was interrupted"}


class Order:
    """Checks each sound record against those before it: one study record at most, and first (the lines
    after a damaged one are kept: the study cannot be resumed without it, but nothing is lost); a trial
    starts before anything else is said of it, reports only while it runs, and ends (finished, failed,
    pruned or interrupted) once; only an interrupted trial starts again. `known(number)` gives a trial's state
    (TrialRecord.state) before this scan: a checkpoint's, or a log a reader keeps as it follows a journal
    another process appends to, so the check carries across scans."""

    def __init__(self, known: Callable[[int], str | None] = lambda number: None, *, header: bool = False) -> None:
        self._known = known
        self._states: dict[int, str] = {}  # the trials this scan has changed: number -> state
        self.header = header  # a study record came before
        self._first = not header  # nothing came before

    def problem(self, record: dict) -> str | None:
        """Why `record` (checked by `record_problem`) cannot come here, or None after taking it."""
        kind, number = record["event"], record.get("number")
        if kind == "study":
            if not self._first:
                return "has a second study record (the study's own is the journal's first line)" if self.header \
                    else "has a study record after other records (it must be the journal's first line)"
            self.header = True
        elif kind in ("started", "reported") or kind in _ENDS:
            state = self._states[number] if number in self._states else self._known(number)
            if kind == "started" and state not in (None, "interrupted"):
                return (f"starts trial {number} again while it runs" if state == "running" else
                        f"starts trial {number} again after it {_WAS[state]} (only an interrupted trial runs again)")
            if kind != "started" and state != "running":
                said = "reports" if kind == "reported" else _ENDS[kind]
                return (f"{said} trial {number}, which never started" if state is None else
                        f"{said} trial {number}, which is not running (it {_WAS[state]})")
            if kind != "reported":
                self._states[number] = "running" if kind == "started" else kind
        self._first = False
        return None
