"""The JSON we write: plain numbers for numpy scalars, null for NaN and infinities (JSON has neither)."""

from __future__ import annotations

import json
import math
from typing import Any


def _json_value(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON that never writes NaN/Infinity and accepts numpy scalars."""
    def clean(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return _json_value(o)
    return json.dumps(clean(obj), allow_nan=False, **kwargs)
