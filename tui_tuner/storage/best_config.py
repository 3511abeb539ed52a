"""Best-config files (the design's contract): what training code reads to rebuild the best trial.

`params` holds every value the trial ran with, the study's fixed ones included, so
`build_model(**config["params"])` reproduces it; `fixed` says which of them were not tuned.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, SpaceError
from .atomic import write_atomic
from .encoding import dumps

CONFIG_FORMAT = "tui-tuner/best-config"


def save_config(path: str | os.PathLike, *, params: dict, value: float, metric: str, direction: str,
                fixed: dict | None = None, **meta: Any) -> Path:
    """Write a best-config file atomically: the tuned `params` with the `fixed` ones beside them (a tuned
    value wins over a fixed one of the same name); `meta` makes it reproducible."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    from .. import __version__

    fixed = {k: v for k, v in (fixed or {}).items() if k not in params}
    doc = {
        "format": CONFIG_FORMAT,
        "params": {**fixed, **params},
        "value": float(value),
        "metric": metric,
        "direction": direction,
        "fixed": fixed,
        **meta,
    }
    doc.setdefault("version", __version__)
    doc.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return write_atomic(path, dumps(doc, indent=2) + "\n")


def load_config(path: str | os.PathLike, space=None) -> dict:
    """Read a best-config file; with a `space`, its tuned params are validated against it (the fixed ones,
    named in `fixed`, are not the space's and are kept as written).

    Every problem is one InputError naming the file and the field, so a training script that loads a
    hand-edited or stale config fails with a line a person can act on.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a best-config file", file=where) from None
    except UnicodeDecodeError:
        raise InputError("not a text file", file=where) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=where) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg}", file=where, line=e.lineno) from None
    if not isinstance(doc, dict):
        raise InputError(f"must be a JSON object, got {type(doc).__name__}", file=where)
    for key, kind in (("params", dict), ("metric", str), ("direction", str)):
        if key not in doc:
            raise InputError("missing (a best-config file has params, value, metric, direction)",
                             file=where, field=key)
        if not isinstance(doc[key], kind):
            raise InputError(f"must be a {kind.__name__}, got {type(doc[key]).__name__}", file=where, field=key)
    if "value" not in doc:
        raise InputError("missing (a best-config file has params, value, metric, direction)",
                         file=where, field="value")
    value = doc["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"must be a number, got {value!r}", file=where, field="value")
    if doc["direction"] not in ("minimize", "maximize"):
        raise InputError(f"must be 'minimize' or 'maximize', got {doc['direction']!r}", file=where,
                         field="direction")
    fixed = doc.setdefault("fixed", {})
    if not isinstance(fixed, dict):
        raise InputError(f"must be a mapping of fixed param names to values, got {type(fixed).__name__}",
                         file=where, field="fixed")
    if space is not None:
        tuned = {k: v for k, v in doc["params"].items() if k not in fixed}
        try:
            tuned = space.validate_config(tuned)
        except SpaceError as e:
            raise e.located(file=where, field_prefix="params") from None
        doc["params"] = {**{k: v for k, v in doc["params"].items() if k in fixed}, **tuned}
    return doc
