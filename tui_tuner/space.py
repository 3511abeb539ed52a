"""Search spaces: typed parameters that validate themselves, conditions between them, grids and the unit cube.

A parameter is immutable and checks its own settings in the constructor, so a space that exists is a space
that makes sense. Model-based searchers work in the unit cube; `to_unit` / `from_unit` are their bridge.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import SpaceError
from .results import shorten

Config = dict[str, Any]

_SCALARS = (str, int, float, bool, type(None))

# What a space may hold, so that loading it is fast and every searcher stays exact; each refusal names its cap.
MAX_PARAMS = 1_000
MAX_CHOICES = 1_000  # choices of a categorical; values of a `grid:` list or a `num:`
MAX_TEXT = 1_000  # characters of a categorical choice
MAX_INT = 2**53  # the largest whole number a float (and so the unit cube, and JSON readers) holds exactly
MAX_WHEN_DEPTH = 32  # parameters in a chain of conditions (a `when:` on a param that has a `when:` ...)
MAX_GRID = 10**12  # points of a grid search
MAX_GRID_WORK = 100_000  # partial configs counted to size a grid of conditional params


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_finite(value: Any) -> bool:
    """A number a float holds (an int of 400 digits is not: float() of it overflows)."""
    try:
        return _is_number(value) and math.isfinite(float(value))
    except OverflowError:
        return False


def _shown(value: Any) -> str:
    """`value` for a one-line message: a huge string or number is cut."""
    return shorten(repr(value), 60)


def _listed(names: Iterable[str]) -> str:
    """Names for a one-line message: the first ten, and how many there are past them."""
    names = list(names)
    return ", ".join(names[:10]) + (f", ... ({len(names):,} in all)" if len(names) > 10 else "")


def _choice_key(value: Any) -> tuple:
    """A hashable key under which two values are the same JSON value (`_same_value`): 3 and 3.0 share one,
    True and 1 do not."""
    return ("number", value) if _is_number(value) else (type(value).__name__, value)


def _same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values: 3 == 3.0, but True is not 1 and "1" is not 1."""
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _require_number(name: str, key: str, value: Any) -> float:
    if not _is_finite(value):
        raise SpaceError(f"must be a finite number, got {_shown(value)}", field=f"{name}.{key}")
    return value


def _require_int(name: str, key: str, value: Any) -> int:
    """A whole number within +-MAX_INT (an integral float is taken: 1e3 -> 1000)."""
    if not _is_finite(value) and not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
        raise SpaceError(f"must be an integer, got {_shown(value)}", field=f"{name}.{key}")
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise SpaceError(f"must be an integer, got {_shown(value)}", field=f"{name}.{key}")
    if abs(int(value)) > MAX_INT:
        raise SpaceError(f"must be within +-2**53 ({MAX_INT:,}), the largest integer every searcher holds exactly; "
                         f"got {_shown(value)}", field=f"{name}.{key}")
    return int(value)


def _normalise_when(name: str, when: Any) -> dict[str, tuple] | None:
    """`when: {optimizer: sgd}` or `{optimizer: [sgd, adam]}` -> {"optimizer": ("sgd",)} etc."""
    if when is None:
        return None
    if not isinstance(when, Mapping) or not when:
        raise SpaceError(f"must map a parameter name to its allowed value(s), e.g. {{optimizer: sgd}}; got {when!r}",
                         field=f"{name}.when")
    out = {}
    for parent, allowed in when.items():
        values = tuple(allowed) if isinstance(allowed, (list, tuple)) else (allowed,)
        if not values:
            raise SpaceError(f"lists no allowed value for {parent!r}", field=f"{name}.when")
        if len(values) > MAX_CHOICES:
            raise SpaceError(f"lists {len(values):,} values for {parent!r}; at most {MAX_CHOICES:,}",
                             field=f"{name}.when")
        for value in values:
            if not isinstance(value, _SCALARS):
                raise SpaceError(f"values must be scalars, got {_shown(value)} for {parent!r}", field=f"{name}.when")
        out[str(parent)] = values
    return out


class Param:
    """What every parameter type shares: a name, an optional condition, validation and encodings."""

    type: str = ""
    name: str
    when: dict[str, tuple] | None

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable")
        super().__setattr__(key, value)

    def _freeze(self) -> None:
        self._frozen = True

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict() and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.name, repr(self.to_dict())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.to_dict()!r})"

    def _error(self, message: str, key: str | None = None) -> SpaceError:
        return SpaceError(message, field=f"{self.name}.{key}" if key else self.name)

    def _base_dict(self) -> dict:
        out = {"type": self.type}
        if self.when:
            out["when"] = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.when.items()}
        return out

    def accepts(self, value: Any) -> bool:
        try:
            self.validate(value)
        except SpaceError:
            return False
        return True


class _NumericParam(Param):
    """Floats and ints: a range, optionally log-scaled or stepped, with grid settings."""

    _kind = "number"

    def __init__(self, name: str, low: Any, high: Any, *, log: bool = False, step: Any = None,
                 when: Any = None, grid: Any = None, num: Any = None) -> None:
        self.name = name
        low = _require_number(name, "low", low)
        high = _require_number(name, "high", high)
        if not isinstance(log, bool):
            raise SpaceError(f"must be true or false, got {log!r}", field=f"{name}.log")
        if low >= high:
            raise SpaceError(f"low must be < high, got low={low}, high={high}", field=f"{name}.low")
        if not math.isfinite(float(high) - float(low)):
            raise SpaceError(f"the range high - low overflows a float (low={low}, high={high}); keep it under "
                             f"{sys.float_info.max:.3g}", field=f"{name}.high")
        if log and low <= 0:
            raise SpaceError(f"a log-scaled range needs low > 0, got low={low}; use log: false or a positive low",
                             field=f"{name}.log")
        self.low, self.high, self.log = self._coerce(low, "low"), self._coerce(high, "high"), log
        self.step = self._check_step(step)
        self.when = _normalise_when(name, when)
        if num is not None and (not isinstance(num, int) or isinstance(num, bool) or not 2 <= num <= MAX_CHOICES):
            raise SpaceError(f"must be an integer from 2 to {MAX_CHOICES:,}, got {_shown(num)}", field=f"{name}.num")
        self.num = num
        if grid is not None:
            if not isinstance(grid, (list, tuple)) or not grid:
                raise SpaceError(f"must be a non-empty list of values, got {_shown(grid)}", field=f"{name}.grid")
            if len(grid) > MAX_CHOICES:
                raise SpaceError(f"lists {len(grid):,} values; at most {MAX_CHOICES:,}", field=f"{name}.grid")
            grid = tuple(self._validate_as(v, "grid") for v in grid)
            if len(set(grid)) != len(grid):
                raise SpaceError(f"lists a value twice: {list(grid)}", field=f"{name}.grid")
        self.grid = grid
        self._freeze()

    def _coerce(self, value, key):
        return value

    def _check_step(self, step):
        if step is None:
            return None
        step = _require_number(self.name, "step", step)
        if step <= 0:
            raise SpaceError(f"must be > 0, got {step}", field=f"{self.name}.step")
        if self.log:
            raise SpaceError("cannot be combined with log: true; choose one", field=f"{self.name}.step")
        span = self.high - self.low
        if step > span:
            raise SpaceError(f"must be at most the range high - low = {span}, got {step}", field=f"{self.name}.step")
        if isinstance(span, int) and isinstance(step, int):
            divides = span % step == 0  # exact, however wide an int range is
        else:
            count = span / step
            if count > MAX_INT:
                raise SpaceError(f"makes {count:.3g} steps over [{self.low}, {self.high}]; at most 2**53 "
                                 f"({MAX_INT:,})", field=f"{self.name}.step")
            divides = abs(count - round(count)) <= 1e-9 * max(1.0, count)
        if not divides:
            raise SpaceError(f"{step} does not divide the range [{self.low}, {self.high}] "
                             f"(high - low = {self.high - self.low}); pick a step that does",
                             field=f"{self.name}.step")
        return step

    def _validate_as(self, value: Any, key: str | None) -> Any:
        try:
            return self.validate(value)
        except SpaceError as err:
            raise self._error(err.message, key) from None

    def _scale(self, x: float) -> float:
        return math.log(x) if self.log else float(x)

    def _unscale(self, y: float) -> float:
        return math.exp(y) if self.log else y

    def _snap(self, x: float) -> Any:
        """Clip into range and onto the step (ints round): every encoding ends in a valid value."""
        x = min(max(x, self.low), self.high)
        if self.step is not None:
            x = self.low + round((x - self.low) / self.step) * self.step
            x = min(max(x, self.low), self.high)
        return self._finish(x)

    def _finish(self, x: float) -> Any:
        return float(x)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: Any) -> float:
        lo, hi = self._scale(self.low), self._scale(self.high)
        return float(min(max((self._scale(value) - lo) / (hi - lo), 0.0), 1.0))

    def from_unit(self, u: float) -> Any:
        lo, hi = self._scale(self.low), self._scale(self.high)
        return self._snap(self._unscale(lo + min(max(float(u), 0.0), 1.0) * (hi - lo)))

    def grid_values(self, default_num: int = 5) -> list:
        if self.grid is not None:
            return list(self.grid)
        num = self.num or default_num
        lo, hi = self._scale(self.low), self._scale(self.high)
        values = [self._snap(self._unscale(lo + (hi - lo) * i / (num - 1))) for i in range(num)]
        return list(dict.fromkeys(values))

    def to_dict(self) -> dict:
        out = self._base_dict()
        out.update(low=self.low, high=self.high)
        if self.log:
            out["log"] = True
        if self.step is not None and self.step != getattr(self, "_default_step", None):
            out["step"] = self.step
        if self.grid is not None:
            out["grid"] = list(self.grid)
        if self.num is not None:
            out["num"] = self.num
        return out


class FloatParam(_NumericParam):
    type = "float"

    def _coerce(self, value, key):
        return float(value)

    def validate(self, value: Any) -> float:
        if not _is_finite(value):
            raise self._error(f"must be a finite number, got {_shown(value)}")
        value = float(value)
        if not self.low <= value <= self.high:
            raise self._error(f"must be in [{self.low}, {self.high}], got {value}")
        if self.step is not None:
            k = (value - self.low) / self.step
            if abs(k - round(k)) > 1e-6:
                raise self._error(f"must be {self.low} plus a multiple of step {self.step}, got {value}")
        return value

    def _finish(self, x: float) -> float:
        if self.step is not None:  # keep 0.1-steps printable: 0.30000000000000004 -> 0.3
            digits = max(0, 12 - int(math.floor(math.log10(self.step))))
            x = round(x, digits)
        return float(x)


class IntParam(_NumericParam):
    type = "int"
    _default_step = 1

    def __init__(self, name: str, low: Any, high: Any, *, log: bool = False, step: Any = 1,
                 when: Any = None, grid: Any = None, num: Any = None) -> None:
        low, high = _require_int(name, "low", low), _require_int(name, "high", high)
        step = None if step is None else _require_int(name, "step", step)
        if log and step not in (None, 1):
            raise SpaceError("cannot be combined with log: true; choose one", field=f"{name}.step")
        super().__init__(name, low, high, log=log, step=None if log else step, when=when, grid=grid, num=num)

    def _coerce(self, value, key):
        return int(value)

    def validate(self, value: Any) -> int:
        if not _is_finite(value) or float(value) != int(value):
            raise self._error(f"must be an integer, got {_shown(value)}")
        value = int(value)
        if not self.low <= value <= self.high:
            raise self._error(f"must be in [{self.low}, {self.high}], got {value}")
        if self.step is not None and (value - self.low) % self.step:
            raise self._error(f"must be {self.low} plus a multiple of step {self.step}, got {value}")
        return value

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low - 0.5 if self.low > 0.5 else self.low), math.log(self.high + 0.5)
            return self._snap(math.exp(lo + u * (hi - lo)))
        step = self.step or 1
        count = (self.high - self.low) // step + 1
        return self.low + min(int(u * count), count - 1) * step

    def to_unit(self, value: Any) -> float:
        if self.log:
            lo, hi = math.log(self.low - 0.5 if self.low > 0.5 else self.low), math.log(self.high + 0.5)
            return float(min(max((math.log(value) - lo) / (hi - lo), 0.0), 1.0))
        step = self.step or 1
        count = (self.high - self.low) // step + 1
        return ((value - self.low) // step + 0.5) / count

    def _finish(self, x: float) -> int:
        return int(min(max(round(x), self.low), self.high))


class CategoricalParam(Param):
    type = "categorical"

    def __init__(self, name: str, choices: Any, *, when: Any = None) -> None:
        self.name = name
        if not isinstance(choices, (list, tuple)) or not choices:
            raise SpaceError(f"must be a non-empty list, got {_shown(choices)}", field=f"{name}.choices")
        if len(choices) > MAX_CHOICES:
            raise SpaceError(f"lists {len(choices):,} choices; at most {MAX_CHOICES:,}", field=f"{name}.choices")
        index: dict[tuple, int] = {}
        for choice in choices:
            if not isinstance(choice, _SCALARS):
                raise SpaceError(f"must be JSON scalars (string, number, true/false, null), got {_shown(choice)}",
                                 field=f"{name}.choices")
            if _is_number(choice) and not isinstance(choice, int) and not math.isfinite(choice):
                raise SpaceError(f"must be finite numbers, got {choice!r}", field=f"{name}.choices")
            if isinstance(choice, int) and not isinstance(choice, bool) and abs(choice) > MAX_INT:
                raise SpaceError(f"integers must be within +-2**53 ({MAX_INT:,}), got {_shown(choice)}",
                                 field=f"{name}.choices")
            if isinstance(choice, str) and len(choice) > MAX_TEXT:
                raise SpaceError(f"a choice of {len(choice):,} characters; at most {MAX_TEXT:,}",
                                 field=f"{name}.choices")
            key = _choice_key(choice)
            if key in index:
                raise SpaceError(f"lists {_shown(choice)} twice", field=f"{name}.choices")
            index[key] = len(index)
        self.choices = tuple(choices)
        self._index = index
        self.when = _normalise_when(name, when)
        self._freeze()

    def index_of(self, value: Any) -> int | None:
        try:
            return self._index.get(_choice_key(value))
        except TypeError:  # unhashable: a list or a mapping is no choice
            return None

    def validate(self, value: Any) -> Any:
        i = self.index_of(value)
        if i is None:
            shown = list(self.choices) if len(self.choices) <= 10 else \
                f"[{', '.join(map(repr, self.choices[:10]))}, ... ({len(self.choices):,} choices)]"
            raise self._error(f"must be one of {shown}, got {_shown(value)}")
        return self.choices[i]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def to_unit(self, value: Any) -> float:
        return (self.index_of(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        return self.choices[min(int(min(max(float(u), 0.0), 1.0) * len(self.choices)), len(self.choices) - 1)]

    def grid_values(self, default_num: int = 5) -> list:
        return list(self.choices)

    def to_dict(self) -> dict:
        out = self._base_dict()
        out["choices"] = list(self.choices)
        return out


_TYPES = {"float": FloatParam, "int": IntParam, "categorical": CategoricalParam}
_KEYS = {
    "float": {"type", "low", "high", "log", "step", "when", "grid", "num"},
    "int": {"type", "low", "high", "log", "step", "when", "grid", "num"},
    "categorical": {"type", "choices", "when"},
}


def param_from_dict(name: str, mapping: Any) -> Param:
    """One entry of a study file's `params:` mapping -> a parameter, or a SpaceError naming the key."""
    if not isinstance(name, str) or not name.isidentifier():
        raise SpaceError(f"parameter names must be identifiers (letters, digits, _), got {name!r}", field=str(name))
    if not isinstance(mapping, Mapping):
        raise SpaceError(f"must be a mapping like {{type: float, low: 0.0, high: 1.0}}, got {mapping!r}", field=name)
    kind = mapping.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise SpaceError(f"must be one of float, int, categorical; got {kind!r}", field=f"{name}.type")
    unknown = sorted(set(map(str, mapping)) - _KEYS[kind])
    if unknown:
        raise SpaceError(f"unknown key for a {kind} parameter; allowed: {', '.join(sorted(_KEYS[kind]))}",
                         field=f"{name}.{unknown[0]}")
    required = ("choices",) if kind == "categorical" else ("low", "high")
    for key in required:
        if key not in mapping:
            raise SpaceError(f"is required for a {kind} parameter", field=f"{name}.{key}")
    kwargs = {k: v for k, v in mapping.items() if k != "type"}
    if kind == "categorical":
        return CategoricalParam(name, kwargs.pop("choices"), **kwargs)
    return _TYPES[kind](name, kwargs.pop("low"), kwargs.pop("high"), **kwargs)


class SearchSpace:
    """An ordered set of parameters, parents before the parameters whose `when` names them."""

    def __init__(self, params: Iterable[Param]) -> None:
        params = list(params)
        if not params:
            raise SpaceError("a search space needs at least one parameter")
        if len(params) > MAX_PARAMS:
            raise SpaceError(f"a search space holds at most {MAX_PARAMS:,} parameters, got {len(params):,}")
        by_name: dict[str, Param] = {}
        for param in params:
            if param.name in by_name:
                raise SpaceError("is defined twice", field=param.name)
            by_name[param.name] = param
        for param in params:
            for parent, allowed in (param.when or {}).items():
                if parent not in by_name:
                    raise SpaceError(f"names unknown parameter {parent!r}; known: {_listed(by_name)}",
                                     field=f"{param.name}.when")
                if parent == param.name:
                    raise SpaceError("a parameter cannot depend on itself", field=f"{param.name}.when")
                impossible = [v for v in allowed if not by_name[parent].accepts(v)]
                if impossible:
                    raise SpaceError(f"{parent!r} can never be {impossible[0]!r}", field=f"{param.name}.when")
        self._params = tuple(self._parents_first(params, by_name))
        self._by_name = {p.name: p for p in self._params}
        depth: dict[str, int] = {}
        for param in self._params:  # parents first, so theirs are known; is_active recurses this deep
            depth[param.name] = 1 + max((depth[parent] for parent in param.when or {}), default=0)
            if depth[param.name] > MAX_WHEN_DEPTH:
                raise SpaceError(f"conditions chain {depth[param.name]} parameters deep here; at most "
                                 f"{MAX_WHEN_DEPTH}", field=f"{param.name}.when")

    @staticmethod
    def _parents_first(params: list[Param], by_name: dict[str, Param]) -> list[Param]:
        """A depth-first order, parents before children, without recursion (a chain may be long)."""
        ordered: list[Param] = []
        done: set[str] = set()
        for start in params:
            path: list[str] = []  # the params being visited, each the child of the one before
            stack = [(start, iter(()))]
            while stack:
                param, parents = stack[-1]
                if not path or path[-1] != param.name:
                    if param.name in done:
                        stack.pop()
                        continue
                    if param.name in path:
                        cycle = " -> ".join(path[path.index(param.name):] + [param.name])
                        raise SpaceError(f"conditions form a cycle: {cycle}", field=f"{param.name}.when")
                    path.append(param.name)
                    stack[-1] = (param, iter(list(param.when or {})))
                    continue
                parent = next(parents, None)
                if parent is None:
                    stack.pop()
                    path.pop()
                    done.add(param.name)
                    ordered.append(param)
                else:
                    stack.append((by_name[parent], iter(())))
        return ordered

    @classmethod
    def from_dict(cls, mapping: Any) -> "SearchSpace":
        if not isinstance(mapping, Mapping):
            raise SpaceError(f"must map parameter names to their definitions, got {type(mapping).__name__}")
        if len(mapping) > MAX_PARAMS:
            raise SpaceError(f"a search space holds at most {MAX_PARAMS:,} parameters, got {len(mapping):,}")
        return cls(param_from_dict(name, value) for name, value in mapping.items())

    def to_dict(self) -> dict:
        return {p.name: p.to_dict() for p in self._params}

    @property
    def params(self) -> tuple[Param, ...]:
        return self._params

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def __len__(self) -> int:
        return len(self._params)

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"SearchSpace({list(self.names)})"

    def is_active(self, param: Param | str, config: Mapping[str, Any]) -> bool:
        """Active when every parent it names is itself active, present, and holds an allowed value."""
        param = self._by_name[param] if isinstance(param, str) else param
        for parent, allowed in (param.when or {}).items():
            if parent not in config or not self.is_active(parent, config):
                return False
            if not any(_same_value(a, config[parent]) for a in allowed):
                return False
        return True

    def _build(self, value_of) -> Config:
        config: Config = {}
        for param in self._params:
            if self.is_active(param, config):
                config[param.name] = value_of(param)
        return config

    def sample(self, rng: np.random.Generator) -> Config:
        return self._build(lambda p: p.sample(rng))

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        return np.array([p.to_unit(config[p.name]) if p.name in config else 0.5 for p in self._params])

    def from_unit(self, u: Iterable[float]) -> Config:
        u = list(u)
        if len(u) != len(self._params):
            raise ValueError(f"expected {len(self._params)} coordinates, got {len(u)}")
        coords = dict(zip(self.names, u))
        return self._build(lambda p: p.from_unit(coords[p.name]))

    def validate_config(self, config: Any) -> Config:
        """A config coerced to the space (3 -> 3.0 for floats) in space order, or a SpaceError naming the key."""
        if not isinstance(config, Mapping):
            raise SpaceError(f"a config must be a mapping of parameter names to values, got {config!r}")
        for name in config:
            if name not in self._by_name:
                raise SpaceError(f"is not a parameter of this space; known: {_listed(self.names)}",
                                 field=str(name))
        out: Config = {}
        for param in self._params:
            if self.is_active(param, out):
                if param.name not in config:
                    raise SpaceError("is missing (it is active in this config)", field=param.name)
                out[param.name] = param.validate(config[param.name])
            elif param.name in config:
                raise SpaceError(f"is inactive here (active only when {param.to_dict()['when']}) "
                                 "and must be left out", field=param.name)
        return out

    def grid(self, default_num: int = 5) -> "Grid":
        """Every combination of grid values, as a lazy sequence; a conditional parameter expands only where
        it is active."""
        return Grid(self, default_num)

    def grid_size(self, default_num: int = 5) -> int:
        return self.grid(default_num).size

    def fit(self, config: Mapping[str, Any]) -> Config | None:
        """`config` (a trial drawn from another version of the space) as a config of this space: its values
        of this space's params, inactive ones left out; None when a param active here is missing from it or
        holds a value this space does not allow. What a searcher may learn from after the space changed."""
        out: Config = {}
        for param in self._params:
            if not self.is_active(param, out):
                continue
            if param.name not in config or not param.accepts(config[param.name]):
                return None
            out[param.name] = param.validate(config[param.name])
        return out

    def key(self, config: Mapping[str, Any]) -> tuple:
        """A hashable canonical form of a valid config, for spotting repeats."""
        return tuple((name, type(v).__name__ if isinstance(v, bool) or v is None else "", v)
                     for name, v in sorted(config.items()))


class Grid:
    """The grid of a space by index arithmetic: its size and its i-th config (first parameter slowest),
    without listing it, so a 5^14-point grid costs no memory and its size is a plain number."""

    def __init__(self, space: SearchSpace, default_num: int = 5) -> None:
        self._space = space
        self._params = space.params
        self._values = [p.grid_values(default_num) for p in self._params]
        ancestors: dict[str, set[str]] = {}
        for p in self._params:  # parents come first, so theirs are known
            ancestors[p.name] = set().union(*({q} | ancestors[q] for q in p.when or {}))
        # _deciders[i]: the earlier parameters whose values decide which of parameters i.. are active
        # (and one past the last parameter: none)
        self._deciders, later = [()], set()
        for i in reversed(range(len(self._params))):
            later |= ancestors[self._params[i].name]
            self._deciders.append(tuple(p.name for p in self._params[:i] if p.name in later))
        self._deciders.reverse()
        self._counts: dict[tuple, int] = {(len(self._params),): 1}
        self._work = 0
        for i in reversed(range(len(self._params))):  # from the end: counting goes deep only along conditions
            if not self._deciders[i]:
                self._count(i, {})
        self.size = self._count(0, {})

    def _key(self, i: int, config: Config) -> tuple:
        return (i, *((type(config.get(n)).__name__, config.get(n)) for n in self._deciders[i]))

    def _completions(self, i: int, config: Config) -> tuple[int, list[Config]]:
        """(m, configs): the count from parameter i is m times the sum of the counts from i + 1 of configs."""
        self._work += 1
        if self._work > MAX_GRID_WORK:
            raise SpaceError(f"its conditions make the grid too costly to count (over {MAX_GRID_WORK:,} partial "
                             "configs); give the parents fewer values or use another strategy")
        param = self._params[i]
        if not self._space.is_active(param, config):
            return 1, [config]
        if param.name not in self._deciders[i + 1]:  # its value decides nothing later: every value counts alike
            return len(self._values[i]), [config]
        self._work += len(self._values[i])
        return 1, [{**config, param.name: v} for v in self._values[i]]

    def _count(self, i: int, config: Config) -> int:
        """How many grid configs complete `config`, which holds the choices for parameters before i; with a
        stack of its own, not recursion (a grid may have a thousand parameters)."""
        stack = [(i, config)]
        while stack:
            j, partial = stack[-1]
            key = self._key(j, partial)
            if key in self._counts:
                stack.pop()
                continue
            factor, children = self._completions(j, partial)
            missing = [(j + 1, c) for c in children if self._key(j + 1, c) not in self._counts]
            if missing:
                stack.extend(missing)
                continue
            self._counts[key] = factor * sum(self._counts[self._key(j + 1, c)] for c in children)
            stack.pop()
        return self._counts[self._key(i, config)]

    def __getitem__(self, index: int) -> Config:
        if not 0 <= index < self.size:
            raise IndexError(f"grid index {index} out of range 0..{self.size - 1}")
        config: Config = {}
        for i, param in enumerate(self._params):
            if not self._space.is_active(param, config):
                continue
            if param.name not in self._deciders[i + 1]:  # every value has as many completions
                below = self._count(i + 1, config)
                config[param.name] = self._values[i][index // below]
                index %= below
                continue
            for value in self._values[i]:
                below = self._count(i + 1, {**config, param.name: value})
                if index < below:
                    config[param.name] = value
                    break
                index -= below
        return config

    def __iter__(self):
        return (self[i] for i in range(self.size))


__all__ = ["Param", "FloatParam", "IntParam", "CategoricalParam", "SearchSpace", "Grid", "param_from_dict", "Config"]


def space_changes(old: SearchSpace, new: SearchSpace) -> list[str]:
    """What changed from `old` to `new`, one short line a param ("learning_rate: low 0.0001 -> 0.001",
    "added dropout", "dropped momentum"), in the new space's order then the dropped ones; [] when equal."""
    lines = []
    for param in new.params:
        if param.name not in old:
            lines.append(f"added {param.name} ({_definition(param.to_dict())})")
            continue
        before, after = old[param.name].to_dict(), param.to_dict()
        if before == after:
            continue
        if before["type"] != after["type"]:
            lines.append(f"{param.name}: {_definition(before)} -> {_definition(after)}")
            continue
        keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
        lines.append(f"{param.name}: " + ", ".join(f"{k} {_setting(before.get(k))} -> {_setting(after.get(k))}"
                                                  for k in keys))
    lines.extend(f"dropped {param.name}" for param in old.params if param.name not in new)
    return lines


def _definition(mapping: dict) -> str:
    return ", ".join(f"{k} {_setting(v)}" for k, v in mapping.items())


def _setting(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_setting(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_setting(v)}" for k, v in value.items()) + "}"
    return str(value)
