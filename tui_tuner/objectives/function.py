"""The user's own training function as an objective: `python: "train.py:objective"` or `"pkg.module:fn"`.

The reference is checked when the study file loads by reading the source (`ast`), never by importing it:
user code runs only in worker processes. There the module is imported once per worker, with the study
file's folder on `sys.path` so `train.py` can import its neighbours.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..trial import Trial


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
    """The .py file a reference points at: relative to the study file, or found as a module (not run)."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = (base_dir / target).resolve()
        if not path.is_file():
            raise InputError(f"no such file: {path}", file=file, field=field)
        return path
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError) as err:
        raise InputError(f"cannot find module {target!r}: {err}", file=file, field=field) from None
    if found is None:
        raise InputError(f"cannot find module {target!r} (is it installed, or on PYTHONPATH?)", file=file,
                         field=field)
    if not found.origin or not found.origin.endswith(".py"):
        raise InputError(f"module {target!r} has no Python source to call", file=file, field=field)
    return Path(found.origin)


def _check_defines(path: Path, function: str, *, file: str | None, field: str) -> None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {path}: {err}", file=file, field=field) from None
    except SyntaxError as err:
        raise InputError(f"{path}:{err.lineno}: syntax error: {err.msg}", file=file, field=field) from None
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                    ast.ClassDef))}
    names |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
              if isinstance(t, ast.Name)}
    names |= {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) for a in node.names}
    if function not in names:
        raise InputError(f"{path.name} defines no function {function!r}", file=file, field=field)


class FunctionRef:
    """A checked `file.py:function` or `module:function`, resolved to the callable only in a worker."""

    def __init__(self, reference: object, *, base_dir: Path, file: str | None, field: str) -> None:
        target, self.function = _split(reference, file=file, field=field)
        self.text = str(reference)
        self.by_path = target.endswith(".py") or "/" in target or "\\" in target
        path = _source_path(target, base_dir=base_dir, file=file, field=field)
        _check_defines(path, self.function, file=file, field=field)
        self.target = str(path) if self.by_path else target

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
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(self.target)
        return getattr(module, self.function)


class FunctionObjective:
    """Calls the user's `fn(params, trial)`; `test` (optional) is called the same way for the final score."""

    def __init__(self, function: FunctionRef, *, metric: str, direction: str, test: FunctionRef | None = None,
                 fixed: dict | None = None) -> None:
        self.function = function
        self.metric = metric
        self.direction = direction
        self.test = test
        self.fixed = dict(fixed or {})
        self._fn: Callable | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fn": None}

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
