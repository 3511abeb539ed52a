"""What a journal record must hold, checked where records enter (replay), so nothing past it meets a string
where a number belongs: a damaged or hand-edited journal is named by line, never a traceback later."""

from __future__ import annotations

import math
from typing import Any, Callable

from ..records import SPACE_REASONS


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _version(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _step(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


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


def _settings(v: Any) -> bool:
    """The study record's search settings: a setting the engine counts with must be a number."""
    if not isinstance(v, dict):
        return False
    optional = {"trials": _count, "workers": _count, "time_budget": _number, "trial_timeout": _number,
                "ask_share": _number}
    return (isinstance(v.get("strategy"), str) and isinstance(v.get("strategy_options", {}), dict)
            and _count(v.get("seed")) and all(v.get(k) is None or ok(v[k]) for k, ok in optional.items()))


_WHAT = {_settings: "search settings (strategy a string, seed, trials and workers whole numbers)",
         _number: "a finite number", _count: "a whole number >= 0", _version: "a whole number >= 1",
         _step: "a whole number", _text: "a string",
         _texts: "a string or a list of strings", _lines: "a list of strings",
         _reason: "one of " + ", ".join(SPACE_REASONS), _mapping: "a JSON object",
         _space_params: "a params mapping (each parameter's definition an object)", _flag: "true or false",
         _pair: "a [mean, std] pair of numbers", _numbers: "a list of finite numbers, one a metric"}

REQUIRED, OPTIONAL, NULLABLE = "required", "optional", "optional, may be null"

# event -> field -> (presence, check)
_FIELDS: dict[str, dict[str, tuple[str, Callable[[Any], bool]]]] = {
    "study": {"name": (REQUIRED, _text), "metric": (OPTIONAL, _texts), "direction": (OPTIONAL, _texts),
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


def record_problem(record: Any) -> str | None:
    """Why `record` (a parsed journal line) is not a journal record, or None when it is one; the
    reason reads after "line N" ("line 7 has a finished record whose value is None, ...")."""
    if not isinstance(record, dict):
        return "is not a journal record (not a JSON object)"
    kind = record.get("event")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return f"is not a journal record (unknown event {kind!r})"
    for name, (presence, check) in {**fields, "time": (NULLABLE, _number)}.items():
        if name not in record:
            if presence == REQUIRED:
                return f"has a {kind} record without {name}"
            continue
        value = record[name]
        if not (check(value) or (value is None and presence == NULLABLE)):
            return f"has a {kind} record whose {name} is {_short(value)}, not {_WHAT[check]}"
    if kind == "finished" and "values" in record and record["values"][0] != record["value"]:
        return f"has a finished record whose value {_short(record['value'])} is not its first of values"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
