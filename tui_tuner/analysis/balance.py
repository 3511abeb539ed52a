"""The balance between several metrics: which trial of a multi-metric study is "the best" one to export.

`objective.balance` in a study file maps metric names to a weight (`accuracy: 1`) or a limit
(`fit_time: "< 2"`). The trials that meet every limit are the candidates (none does: the trial closest to
meeting them, by summed normalised excess); among the candidates' Pareto front, with weights the one with
the least weighted sum of normalised metrics (0 best, 1 worst over the candidates; unweighted metrics
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
        """As a study file writes it, or how the default picks when nothing is set."""
        written = {**self.weights, **{name: f"{op} {bound:g}" for name, (op, bound) in self.limits.items()}}
        return written or {"rule": "closest to the ideal point in normalised metrics, on the Pareto front"}

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
        front = candidates[non_dominated(points)]
        scaled = normalised(points)[non_dominated(points)]
        if self.weights:
            w = np.array([self.weights.get(name, 0.0) for name in metrics])
            score = scaled @ w
        else:
            score = np.linalg.norm(scaled, axis=1)
        return int(front[np.argmin(score)])  # ties: the earlier row
