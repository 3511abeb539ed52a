"""The balance between several metrics: which trial of a multi-metric study is "the best" one to export.

`objective.balance` in a study file maps metric names to a weight (`accuracy: 1`) or a limit
(`fit_time: "< 2"`). The trials that meet every limit are the candidates (none does: the trial closest to
meeting them, by summed normalised excess); among the candidates' Pareto front, with weights the one with
the least weighted sum of normalised metrics (0 best, 1 worst across that front; unweighted metrics
count 0), without weights the one closest (Euclidean) to the ideal point in normalised metrics.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .pareto import minimizing, non_dominated, normalised

LIMIT = re.compile(r"^\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
FIELD = "objective.balance"


@dataclass(frozen=True)
class Balance:
    weights: dict[str, float] = field(default_factory=dict)
    limits: dict[str, tuple[str, float]] = field(default_factory=dict)  # metric -> (operator, bound)

    @classmethod
    def from_yaml(cls, section: Any, metrics: Sequence[str], *, file: str | None = None) -> "Balance":
        """Check `objective.balance` against the study's metrics; InputError names the entry at fault."""
        if section is None:
            return cls()
        if len(metrics) < 2:
            raise InputError("needs several metrics (objective.metric a list) to balance", file=file, field=FIELD)
        if not isinstance(section, dict):
            raise InputError("must map metric names to a weight (accuracy: 1) or a limit (fit_time: \"< 2\")",
                             file=file, field=FIELD)
        weights, limits = {}, {}
        for name, setting in section.items():
            where = f"{FIELD}.{name}"
            if name not in metrics:
                raise InputError(f"{name!r} is not one of the study's metrics ({', '.join(metrics)})", file=file,
                                 field=where)
            if isinstance(setting, str):
                match = LIMIT.match(setting)
                if not match:
                    raise InputError(f"must be a limit like \"< 2\" or \">= 0.9\", got {setting!r}", file=file,
                                     field=where)
                limits[name] = (match[1], float(match[2]))
            elif isinstance(setting, (int, float)) and not isinstance(setting, bool) and 0 <= setting < float("inf"):
                weights[name] = float(setting)
            else:
                raise InputError(f"must be a weight (a number >= 0) or a limit like \"< 2\", got {setting!r}",
                                 file=file, field=where)
        if weights and not any(weights.values()):
            raise InputError("needs at least one weight above 0", file=file, field=FIELD)
        return cls(weights, limits)

    def to_json(self) -> dict:
        """What the journal's header and best.json record: the weights, the limits, and the rule they feed."""
        rule = ("least weighted sum of normalised metrics" if self.weights
                else "closest to the ideal point in normalised metrics")
        return {"weights": dict(self.weights),
                "limits": {name: f"{op} {bound!r}" for name, (op, bound) in self.limits.items()},
                "rule": f"{rule}, on the Pareto front of the trials within the limits"}

    @classmethod
    def from_json(cls, doc: dict) -> "Balance":
        """The balance a journal header recorded (`to_json`); parts it cannot read are left out."""
        weights = doc.get("weights") if isinstance(doc.get("weights"), dict) else {}
        limits = doc.get("limits") if isinstance(doc.get("limits"), dict) else {}
        parsed = {name: LIMIT.match(text) for name, text in limits.items() if isinstance(text, str)}
        return cls({k: float(v) for k, v in weights.items() if isinstance(v, (int, float)) and not isinstance(v, bool)},
                   {name: (m[1], float(m[2])) for name, m in parsed.items() if m})

    def pick(self, values: np.ndarray, metrics: Sequence[str], directions: Sequence[str]) -> int:
        """Index of the chosen row of `values` (n trials x metrics, in the study's units); n must be > 0."""
        values = np.asarray(values, float).reshape(-1, len(metrics))
        met = np.ones(len(values), bool)
        excess = np.zeros(len(values))
        for name, (op, bound) in self.limits.items():
            column = values[:, list(metrics).index(name)]
            met &= COMPARE[op](column, bound)
            scale = max(np.ptp(column), abs(bound), 1e-12)
            excess += np.maximum(0.0, (column - bound) if op in ("<", "<=") else (bound - column)) / scale
        if not met.any():
            return int(np.argmin(excess))
        candidates = np.flatnonzero(met)
        points = minimizing(values[candidates], directions)
        on_front = non_dominated(points)
        front, scaled = candidates[on_front], normalised(points[on_front])  # 0..1 across the front
        if self.weights:
            w = np.array([self.weights.get(name, 0.0) for name in metrics])
            score = scaled @ w
        else:
            score = np.linalg.norm(scaled, axis=1)
        return int(front[np.argmin(score)])  # ties: the earlier row
