"""Estimator and transformer classes named by dotted path: imported (scikit-learn's and ours only, at load)
and asked what their constructors take, which is how a study's params are checked before any trial."""

from __future__ import annotations

import importlib
import inspect

from ..errors import InputError


def import_estimator(path: str, *, file: str | None, field: str) -> type:
    """The estimator class at a dotted path, e.g. sklearn.ensemble.RandomForestClassifier."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise InputError(f"{path!r} is not a dotted path like sklearn.svm.SVC", file=file, field=field)
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise InputError(f"cannot import {module_name!r}: {err}", file=file, field=field) from None
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls) or not hasattr(cls, "fit") or not hasattr(cls, "get_params"):
        raise InputError(f"{path!r} is not a scikit-learn estimator class", file=file, field=field)
    return cls


def constructor_args(cls: type) -> set[str]:
    """The named arguments of an estimator's constructor (scikit-learn's params), without building one."""
    signature = inspect.signature(cls.__init__)
    return {name for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
