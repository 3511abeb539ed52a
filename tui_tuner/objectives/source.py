"""Finding a study file's code without running it: the source file a reference names, and what it defines.

A study file names code that will run, like a script, but loading the file must run none of it: a module is
located with the import system's finders (which read directories, never execute a package's `__init__`) and
its source is parsed with `ast`. Only scikit-learn and tui-tuner itself are imported while a study loads.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
from pathlib import Path

from ..errors import InputError

TRUSTED_PACKAGES = ("sklearn", "tui_tuner")  # imported at load: installed with us, and needed to check params


def is_trusted(dotted: str) -> bool:
    """True for a module (or class path) inside scikit-learn or tui-tuner."""
    return dotted.split(".", 1)[0] in TRUSTED_PACKAGES


def module_source(module: str, *, base_dir: Path, file: str | None, field: str) -> Path:
    """The .py file of `module` (the study file's folder first, then sys.path), found without importing it
    or any package above it (`importlib.util.find_spec("a.b")` would run `a/__init__.py`)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, [str(base_dir)]) or importlib.util.find_spec(top)
        for depth in range(len(rest)):
            if spec is None or not spec.submodule_search_locations:
                spec = None
                break
            name = ".".join([top, *rest[:depth + 1]])
            spec = importlib.machinery.PathFinder.find_spec(name, list(spec.submodule_search_locations))
    except (ImportError, ValueError) as err:
        raise InputError(f"cannot find module {module!r}: {err}", file=file, field=field) from None
    if spec is None:
        raise InputError(f"cannot find module {module!r}, so cannot import it: it is not next to the study file, "
                         "installed, or on PYTHONPATH", file=file, field=field)
    if not spec.origin or not spec.origin.endswith(".py"):
        raise InputError(f"module {module!r} has no Python source file (it is built in or compiled), so what it "
                         "defines cannot be checked without running it", file=file, field=field)
    return Path(spec.origin)


def definition(path: Path, name: str, kind: str, *, file: str | None, field: str) -> ast.AST:
    """The top-level statement of `path` that defines `name` (a def, a class, an assignment or an import);
    `kind` (function, class) is for the error."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}", file=file, field=field) from None
    except SyntaxError as err:
        raise InputError(f"{path}:{err.lineno}: syntax error: {err.msg}", file=file, field=field) from None
    except ValueError:  # null bytes: not Python source at all
        raise InputError(f"{path} is not Python source", file=file, field=field) from None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (alias.asname or alias.name) == name for alias in node.names):
            return node
    raise InputError(f"{path.name} defines no {kind} {name!r}", file=file, field=field)
