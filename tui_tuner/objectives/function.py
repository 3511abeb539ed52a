"""The user's own training function as an objective: `python: "train.py:objective"` or `"pkg.module:fn"`.

The reference is checked when the study file loads by reading the source (`ast`), never by importing it:
user code runs only in worker processes. There the module is imported once per worker, with the study
file's folder on `sys.path` so `train.py` can import its neighbours.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..trial import Trial
from .source import definition, module_source


def _split(reference: object, *, file: str | None, field: str) -> tuple[str, str]:
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise InputError(f"must be 'file.py:function' or 'package.module:function', got {reference!r}",
                         file=file, field=field)
    target, function = reference.split(":")
    if not target or not function.isidentifier():
        raise InputError(f"must be 'file.py:function' or 'package.module:function', got {reference!r}",
                         file=file, field=field)
    return target, function


def _source_path(target: str, *, base_dir: Path, file: str | None, field: str) -> Path:
    """The .py file a reference points at: a path relative to the study file, or a module (found, not run)."""
    if not _is_path(target):
        return module_source(target, base_dir=base_dir, file=file, field=field)
    path = (base_dir / target).resolve()
    if path.suffix != ".py":
        raise InputError(f"must name a .py file, got {target!r}", file=file, field=field)
    if not path.is_file():
        raise InputError(f"no such file: {path}", file=file, field=field)
    return path


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _moved(path: str, old: str, new: str) -> str:
    """`path` under folder `new` where it was under folder `old`; any other path as it is."""
    try:
        return str(Path(new) / Path(path).relative_to(old))
    except ValueError:
        return path


class FunctionRef:
    """A checked `file.py:function` or `module:function`, resolved to the callable only in a worker."""

    def __init__(self, reference: object, *, base_dir: Path, file: str | None, field: str) -> None:
        target, self.function = _split(reference, file=file, field=field)
        self.text = str(reference)
        self.by_path = _is_path(target)
        path = _source_path(target, base_dir=base_dir, file=file, field=field)
        definition(path, self.function, "function", file=file, field=field)
        self.target = str(path) if self.by_path else target
        self.base_dir = str(base_dir.resolve())  # a module name is found next to the study file first, as at load

    def moved(self, old: str, new: str) -> "FunctionRef":
        """This reference with the folder `old` read as `new`: the user's code copied to a cluster worker."""
        moved = copy.copy(self)
        moved.target = _moved(self.target, old, new) if self.by_path else self.target
        moved.base_dir = _moved(self.base_dir, old, new)
        return moved

    def load(self) -> Callable:
        if self.by_path:
            path = Path(self.target)
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            name = f"tui_tuner_user_{path.stem}"
            module = sys.modules.get(name)
            if module is None:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:  # half a module: the next trial must meet the same error, not its remains
                    del sys.modules[name]
                    raise
        else:
            if self.base_dir not in sys.path:
                sys.path.insert(0, self.base_dir)
            module = importlib.import_module(self.target)
        return getattr(module, self.function)


class FunctionObjective:
    """Calls the user's `fn(params, trial)`; `test` (optional) is called the same way for the final score."""

    def __init__(self, function: FunctionRef, *, metric: str | list[str], direction: str | list[str],
                 test: FunctionRef | None = None, fixed: dict | None = None) -> None:
        self.function = function
        # several metrics: `metric`/`direction` are the first one's (the pruner's, the test score's), and
        # `metrics`/`directions` all of them, in the study file's order
        self.metrics = tuple(metric) if isinstance(metric, list) else (metric,)
        self.directions = tuple(direction) if isinstance(direction, list) else (direction,)
        self.metric, self.direction = self.metrics[0], self.directions[0]
        self.test = test
        self.fixed = dict(fixed or {})
        self._fn: Callable | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fn": None}

    @property
    def code_folder(self) -> str:
        """The folder of the user's code (its file's, or the study file's for a module name): what a
        cluster's workers get a copy of."""
        return str(Path(self.function.target).parent) if self.function.by_path else self.function.base_dir

    def moved(self, old: str, new: str) -> "FunctionObjective":
        """This objective reading its code from folder `new` instead of `old` (a copy on a cluster worker)."""
        moved = copy.copy(self)
        moved.function = self.function.moved(old, new)
        moved.test = self.test.moved(old, new) if self.test else None
        moved._fn = None
        return moved

    def prepare(self) -> None:
        if self._fn is None:
            self._fn = self.function.load()

    def __call__(self, params: dict, trial: Trial) -> Any:
        self.prepare()
        return self._fn({**self.fixed, **params}, trial)

    def test_score(self, params: dict, seed: int) -> Any:
        """The user's test function on the final config, or None when the study names none."""
        if self.test is None:
            return None
        return self.test.load()({**self.fixed, **params}, Trial.offline(seed=seed, params=params))
