"""The steps before the model: `objective.pipeline` of a study file, checked at load, built in each trial.

A step is a short name (`impute`, `encode`, `scale`, `pca`, `select`, ...) or a mapping
`{name: NAME, class: SHORT_NAME_OR_DOTTED_PATH, <constructor arguments>}`; its name is the prefix of its
params (`pca__n_components`). Steps that work on the columns as read (`impute` on the number columns, the
encoders on the text ones) come first and are fitted side by side in a ColumnTransformer; the rest follow in
order, then the model. Everything is fitted inside the trial's pipeline, so each fold learns its means and
categories from its own training rows only.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .classes import constructor_args, import_estimator
from .datasets import DatasetSpec
from .source import definition, is_trusted, module_source

COLUMNS = ("numeric", "text", "all")  # the data columns a step works on
# short name -> (class, the columns it works on, constructor arguments it gets unless the study says otherwise)
BUILTIN_STEPS: dict[str, tuple[str, str, dict]] = {
    "impute": ("sklearn.impute.SimpleImputer", "numeric", {}),
    "encode": ("sklearn.preprocessing.OneHotEncoder", "text", {"handle_unknown": "ignore", "sparse_output": False}),
    "ordinal": ("sklearn.preprocessing.OrdinalEncoder", "text",
                {"handle_unknown": "use_encoded_value", "unknown_value": -1}),
    "scale": ("sklearn.preprocessing.StandardScaler", "all", {}),
    "minmax": ("sklearn.preprocessing.MinMaxScaler", "all", {}),
    "robust": ("sklearn.preprocessing.RobustScaler", "all", {}),
    "pca": ("sklearn.decomposition.PCA", "all", {}),
    "select": ("sklearn.feature_selection.SelectKBest", "all", {}),
    "variance": ("sklearn.feature_selection.VarianceThreshold", "all", {}),
    "poly": ("sklearn.preprocessing.PolynomialFeatures", "all", {}),
}
RESERVED = ("model", "scaler", "columns")  # prefixes the objective itself uses
STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FIELD = "objective.pipeline"


@dataclass(frozen=True)
class Step:
    """One pipeline step as the study file names it; picklable, its class imported only when built."""

    name: str
    path: str  # dotted class path
    columns: str  # one of COLUMNS
    args: dict = field(default_factory=dict)  # constructor arguments from the study file (and our defaults)

    @property
    def trusted(self) -> bool:
        """scikit-learn's and ours are imported at load to check params; your own class only in trials."""
        return is_trusted(self.path)

    def make(self, settings: dict, seed: int) -> Any:
        """The transformer with the study file's arguments, then the trial's; seeded when it takes a seed."""
        cls = import_estimator(self.path, file=None, field=f"{FIELD}.{self.name}")
        args = {**self.args, **settings}
        if "random_state" in constructor_args(cls) and "random_state" not in args:
            args["random_state"] = seed % 2**31
        return cls(**args)


def pipeline_from_yaml(value: object, *, dataset: DatasetSpec, base_dir: Path, file: str | None) -> tuple[Step, ...]:
    """`objective.pipeline` as steps, checked in full: known classes that transform, arguments they take,
    unique names, column steps first and fitting the dataset's columns."""
    if not isinstance(value, list):
        raise InputError(f"must be a list of steps, like [impute, encode, scale, pca], got {value!r}", file=file,
                         field=FIELD)
    steps = tuple(_step(item, base_dir=base_dir, file=file) for item in value)
    names = [step.name for step in steps]
    for name in names:
        if name in RESERVED:
            raise InputError(f"a step cannot be named {name!r}: {', '.join(RESERVED)} are taken by the objective",
                             file=file, field=f"{FIELD}.{name}")
        if names.count(name) > 1:
            raise InputError(f"names the step {name!r} twice; give each step its own name "
                             "({name: ..., class: ...})", file=file, field=f"{FIELD}.{name}")
    seen_all = None
    for step in steps:
        if step.columns == "all":
            seen_all = seen_all or step.name
        elif seen_all:
            raise InputError(f"{step.name} works on the {step.columns} columns as read, so it comes before "
                             f"{seen_all}", file=file, field=f"{FIELD}.{step.name}")
    check_columns(steps, dataset, file=file)
    return steps


def check_missing(steps: tuple[Step, ...], later: list[tuple[str, str]], dataset: DatasetSpec, *,
                  file: str | None) -> None:
    """Empty number cells need an imputer, unless every step they reach takes NaN (scalers pass it on, a random
    forest or HistGradientBoosting learns with it). `later`: (field, class path) of the scaler and the model."""
    if not dataset.missing or any(step.columns == "numeric" for step in steps):
        return
    for where, path in [(f"{FIELD}.{s.name}", s.path) for s in steps if s.columns == "all"] + later:
        if not is_trusted(path):
            return  # your own class: run only in trials, which will say
        cls = import_estimator(path, file=file, field=where)
        if not _takes_nan(cls):
            raise InputError(f"{Path(dataset.path).name} has empty number cells, and {cls.__name__} cannot take "
                             "missing values: add impute to the pipeline", file=file, field=FIELD)


def _takes_nan(cls: type) -> bool:
    """scikit-learn's own answer (the allow_nan tag); True when the class cannot be built without arguments."""
    from sklearn.utils import get_tags

    try:
        return get_tags(cls()).input_tags.allow_nan
    except Exception:  # a required argument: its trials will tell
        return True


def default_pipeline(dataset: DatasetSpec) -> tuple[Step, ...]:
    """What a CSV with text columns or empty number cells gets when the study names no pipeline: impute the
    number columns, one-hot encode the text ones (a missing text value is a category of its own)."""
    names = (["impute"] if dataset.missing else []) + (["encode"] if dataset.text_columns else [])
    return tuple(_builtin(name, name) for name in names)


def describe_default(steps: tuple[Step, ...], dataset: DatasetSpec) -> str | None:
    """The one line a run prints when it chose the steps itself; None when there was nothing to choose."""
    if not steps:
        return None
    found = []
    if dataset.text_columns:
        count = len(dataset.text_columns)
        found.append(f"{count} text column{'s' if count > 1 else ''}")
    if dataset.missing:
        found.append("empty number cells")
    doing = [{"impute": "imputes (mean)", "encode": "one-hot encodes"}[step.name] for step in steps]
    return (f"{Path(dataset.path).name} has {' and '.join(found)}: the pipeline {' and '.join(doing)} them within "
            f"each fold (objective.pipeline: [{', '.join(step.name for step in steps)}] by default)")


def check_columns(steps: tuple[Step, ...], dataset: DatasetSpec, *, file: str | None) -> None:
    """Text columns need an encoder; an encoder needs text columns to work on."""
    encoders = [step.name for step in steps if step.columns == "text"]
    where = Path(dataset.path).name if dataset.path else dataset.name
    if dataset.text_columns and not encoders:
        raise InputError(f"{where} has text columns, which a model cannot take: add encode (one-hot) or ordinal "
                         "to the pipeline", file=file, field=FIELD)
    if encoders and not dataset.text_columns:
        raise InputError(f"{where} has no text columns for {encoders[0]} to encode; remove it", file=file,
                         field=f"{FIELD}.{encoders[0]}")


def assemble(parts: list[tuple[Step, Any]], text_columns: tuple[int, ...]) -> list[tuple[str, Any]]:
    """(name, transformer) steps of a Pipeline: column steps side by side in one ColumnTransformer named
    `columns` when the data has text columns (inline otherwise), then the rest in order."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    by_columns = {kind: [(step.name, made) for step, made in parts if step.columns == kind] for kind in COLUMNS}
    if not text_columns:
        return by_columns["numeric"] + by_columns["all"]
    numeric = Pipeline(by_columns["numeric"]) if by_columns["numeric"] else "passthrough"
    columns = ColumnTransformer([("text", Pipeline(by_columns["text"]), list(text_columns))], remainder=numeric,
                                sparse_threshold=0)
    return [("columns", columns), *by_columns["all"]]


def _step(item: object, *, base_dir: Path, file: str | None) -> Step:
    if isinstance(item, str):
        if item not in BUILTIN_STEPS:
            raise InputError(f"unknown step {item!r}; use {', '.join(BUILTIN_STEPS)} or {{name: NAME, class: "
                             "dotted.path}", file=file, field=FIELD)
        return _builtin(item, item)
    if not isinstance(item, dict) or "class" not in item:
        raise InputError(f"a step is a short name ({', '.join(BUILTIN_STEPS)}) or {{name: NAME, class: "
                         f"dotted.path, <arguments>}}, got {item!r}", file=file, field=FIELD)
    item = dict(item)
    cls = item.pop("class")
    if not isinstance(cls, str) or not cls:
        raise InputError(f"class must be a short name or a dotted class path, got {cls!r}", file=file, field=FIELD)
    name = item.pop("name", cls if cls in BUILTIN_STEPS else None)
    if not isinstance(name, str) or not STEP_NAME.match(name) or "__" in name:
        raise InputError(f"the step of class {cls!r} needs a name of letters, digits and single underscores (the "
                         f"prefix of its params, name__param), got {name!r}", file=file, field=FIELD)
    where = f"{FIELD}.{name}"
    columns = item.pop("columns", None)
    if columns is not None and columns not in COLUMNS:
        raise InputError(f"columns must be one of {', '.join(COLUMNS)}, got {columns!r}", file=file,
                         field=f"{where}.columns")
    if cls in BUILTIN_STEPS:
        step = _builtin(name, cls)
        step = Step(name, step.path, columns or step.columns, {**step.args, **item})
    elif "." not in cls:
        raise InputError(f"unknown step class {cls!r}; use {', '.join(BUILTIN_STEPS)} or a dotted path like "
                         "sklearn.preprocessing.QuantileTransformer", file=file, field=f"{where}.class")
    else:
        step = Step(name, cls, columns or "all", item)
    _check_class(step, base_dir=base_dir, file=file)
    return step


def _builtin(name: str, short: str) -> Step:
    path, columns, defaults = BUILTIN_STEPS[short]
    return Step(name, path, columns, dict(defaults))


def _check_class(step: Step, *, base_dir: Path, file: str | None) -> None:
    """The class exists and transforms; its arguments are ones it takes. Your own class is located and
    parsed, never run: its arguments are checked by its first trial."""
    where = f"{FIELD}.{step.name}"
    if not step.trusted:
        module, _, class_name = step.path.rpartition(".")
        node = definition(module_source(module, base_dir=base_dir, file=file, field=f"{where}.class"), class_name,
                          "class", file=file, field=f"{where}.class")
        methods = {n.name for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if isinstance(node, ast.ClassDef) and not node.bases and not methods & {"transform", "fit_transform"}:
            raise InputError(f"{step.path!r} is not a transformer: it has no transform method", file=file,
                             field=f"{where}.class")
        return
    cls = import_estimator(step.path, file=file, field=f"{where}.class")
    if not hasattr(cls, "transform") and not hasattr(cls, "fit_transform"):
        raise InputError(f"{cls.__name__} is not a transformer (it has no transform method); a step changes the "
                         "features, and the model comes last as objective.model", file=file, field=f"{where}.class")
    known = constructor_args(cls)
    for arg in step.args:
        if arg not in known:
            raise InputError(f"{cls.__name__} has no parameter {arg!r}", file=file, field=f"{where}.{arg}")
