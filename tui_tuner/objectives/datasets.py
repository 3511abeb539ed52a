"""The data a built-in objective trains on: scikit-learn's bundled sets, synthetic ones, or a CSV file.

A dataset is described by a small picklable `DatasetSpec`, checked when the study file is loaded (so a typo
fails before any trial) and loaded in each worker process, never in the app's.

A CSV file may hold text (categorical) columns and missing values: they are read as they are (text as str,
missing as NaN or None), never encoded or filled here, because any statistic learnt from the rows belongs
inside the pipeline that cross-validation fits fold by fold.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..options import Number, Option, Whole, check_options
from ..results import shorten

BUNDLED = ("iris", "wine", "breast_cancer", "digits", "diabetes")
# name -> the options it takes, with their defaults
_SAMPLES = Option(500, Whole(1), "rows generated")
_SEED = Option(0, Whole(0), "the generator's seed: the same seed, the same rows")


def _noise(default: float) -> Option:
    return Option(default, Number(0, low_closed=True), "the standard deviation of the noise added")


SYNTHETIC = {
    "moons": {"n_samples": _SAMPLES, "noise": _noise(0.2), "seed": _SEED},
    "circles": {"n_samples": _SAMPLES, "noise": _noise(0.1),
                "factor": Option(0.5, Number(0, 1, low_closed=True), "the inner circle's radius, the outer's 1"),
                "seed": _SEED},
    "classification": {"n_samples": _SAMPLES, "n_features": Option(20, Whole(1), "columns generated"),
                       "n_informative": Option(5, Whole(1), "columns that carry the classes"),
                       "n_classes": Option(2, Whole(2), "classes to tell apart"), "seed": _SEED},
    "regression": {"n_samples": _SAMPLES, "n_features": Option(10, Whole(1), "columns generated"),
                   "n_informative": Option(5, Whole(1), "columns the target depends on"),
                   "noise": _noise(10.0), "seed": _SEED},
}
REGRESSION_SETS = ("diabetes", "regression")
MAX_SYNTHETIC_VALUES = 10**8  # samples x features of a generated set: 800 MB of floats in every worker
MAX_CSV_BYTES = 2**30  # a dataset read whole into every worker: past 1 GB it is a mistake or an attack
HEADER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .()-]{0,39}")  # what column names look like
MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "#n/a", "<na>"}  # a cell with no value (any case)


@dataclass(frozen=True)
class DatasetSpec:
    """`name` is a bundled or synthetic set, or "csv" with `path` and `target` (and what its columns hold, as
    read when the study file loaded: the pipeline is shaped by it before any data reaches a worker)."""

    name: str
    options: dict = field(default_factory=dict)
    path: str | None = None
    target: str | None = None
    text_columns: tuple[int, ...] = ()  # feature columns (0-based, target left out) that hold text
    missing: bool = False  # some number cell is empty (an empty text cell is a category of its own)
    text_target: bool = False  # labels, not numbers: a classification target

    @property
    def is_regression(self) -> bool | None:
        """True/False where the set says so; for a CSV file False when its target is text, else None (the
        estimator decides)."""
        if self.name == "csv":
            return False if self.text_target else None
        return self.name in REGRESSION_SETS

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) as numpy arrays."""
        if self.name == "csv":
            return read_csv(Path(self.path), self.target)
        from sklearn import datasets

        if self.name in BUNDLED:
            return getattr(datasets, f"load_{self.name}")(return_X_y=True)
        o = dict(self.options)
        seed = o.pop("seed")
        if self.name == "moons":
            return datasets.make_moons(o["n_samples"], noise=o["noise"], random_state=seed)
        if self.name == "circles":
            return datasets.make_circles(o["n_samples"], noise=o["noise"], factor=o["factor"], random_state=seed)
        if self.name == "classification":
            return datasets.make_classification(random_state=seed, **o)
        return datasets.make_regression(random_state=seed, **o)


def dataset_from_yaml(value: object, *, base_dir: Path, file: str | None) -> DatasetSpec:
    """`breast_cancer`, `{name: moons, noise: 0.3}` or `{csv: data.csv, target: label}`; errors name the field."""
    where = "objective.dataset"
    known = ", ".join((*BUNDLED, *SYNTHETIC))
    name_field = where
    if isinstance(value, str):
        value = {"name": value}
    elif isinstance(value, dict):
        name_field = f"{where}.name"
    if not isinstance(value, dict):
        raise InputError(f"must be a dataset name ({known}) or a mapping, got {value!r}", file=file, field=where)
    value = dict(value)
    if "csv" in value:
        return _csv_dataset(value, base_dir=base_dir, file=file)
    name = value.pop("name", None)
    if not isinstance(name, str):
        raise InputError(f"needs a name ({known}) or csv: PATH", file=file, field=where)
    if name in BUNDLED:
        if value:
            raise InputError(f"{name} takes no options, got {', '.join(map(str, value))}", file=file, field=where)
        return DatasetSpec(name)
    if name not in SYNTHETIC:
        raise InputError(f"unknown dataset {name!r}; known: {known}, or csv: PATH", file=file,
                         field=name_field)
    declared = SYNTHETIC[name]
    for key in value:
        if key not in declared:
            raise InputError(f"{name} has no option {key!r}; it takes {', '.join(declared)}", file=file,
                             field=f"{where}.{key}")
    options = check_options(declared, value, prefix=where, file=file)
    if "n_informative" in options and options["n_informative"] > options["n_features"]:
        raise InputError("n_informative cannot exceed n_features", file=file, field=f"{where}.n_informative")
    values = options["n_samples"] * options.get("n_features", 2)
    if values > MAX_SYNTHETIC_VALUES:
        raise InputError(f"{name} of this size holds {values:,} numbers; at most {MAX_SYNTHETIC_VALUES:,} fit "
                         "in a worker's memory", file=file,
                         field=f"{where}.{'n_samples' if 'n_samples' in value else 'n_features'}")
    return DatasetSpec(name, options)


def _csv_dataset(value: dict, *, base_dir: Path, file: str | None) -> DatasetSpec:
    where = "objective.dataset"
    unknown = set(value) - {"csv", "target"}
    if unknown:
        raise InputError(f"a CSV dataset takes csv and target, not {', '.join(sorted(map(str, unknown)))}",
                         file=file, field=where)
    if not isinstance(value["csv"], str) or not value["csv"]:
        raise InputError("must be the path of a CSV file", file=file, field=f"{where}.csv")
    target = value.get("target")
    if not isinstance(target, str) or not target:
        raise InputError("must name the CSV column to predict", file=file, field=f"{where}.target")
    path = (base_dir / value["csv"]).resolve()
    X, y = read_csv(path, target)  # fail now, with the line, rather than in every worker
    text = text_columns(X)
    return DatasetSpec("csv", path=str(path), target=target, text_columns=text, missing=missing_numbers(X, text),
                       text_target=y.dtype.kind in "OUS")


def read_csv(path: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Feature columns and a target column (numbers or labels); errors name the file and line.

    X is float (NaN where a cell is missing) when every column holds numbers; with a text column it is an
    object array: floats in the number columns, str in the text ones, None where a text cell is missing."""
    try:
        rows = list(csv.reader(io.StringIO(_read_bounded(path), newline="")))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the CSV file: {getattr(err, 'strerror', None) or err}",
                         file=str(path)) from None
    except csv.Error as err:
        raise InputError(f"not a valid CSV file: {err}", file=str(path)) from None
    if not rows:
        raise InputError("the CSV file is empty", file=str(path))
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise InputError(f"has no column {target!r}; its first line has {len(header)} field(s)"
                         f"{_close_match(header, target)}", file=str(path), field="target")
    if len(header) < 2:
        raise InputError(f"has only the target column {target!r}; a model needs at least one feature column",
                         file=str(path), line=1)
    twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if twice is not None:
        raise InputError(f"names the column {shorten(twice, 40)!r} twice; which one is meant cannot be told",
                         file=str(path), line=1)
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    if len(body) < 10:
        raise InputError(f"needs at least 10 data rows, has {len(body)}", file=str(path))
    t = header.index(target)
    for line, row in body:
        if len(row) != len(header):
            raise InputError(f"has {len(row)} fields, the header has {len(header)}", file=str(path), line=line)
        if _is_missing(row[t]):
            raise InputError(f"{_column(header, t)} (the target) is empty; every row needs a target",
                             file=str(path), line=line)
    lines = [line for line, _ in body]
    columns = [_feature_column([row[i].strip() for _, row in body], lines, header, i, path)
               for i in range(len(header)) if i != t]
    labels = [row[t].strip() for _, row in body]
    numeric = all(column.dtype == float for column in columns)
    X = np.column_stack(columns).astype(float if numeric else object)
    y = np.asarray([float(v) for v in labels]) if all(_is_number(v) for v in labels) else np.asarray(labels)
    return X, y


def _feature_column(cells: list[str], lines: list[int], header: list[str], index: int, path: Path) -> np.ndarray:
    """One feature column: numbers (NaN where missing), or text (None where missing). A column holding both
    is refused at its first text cell: a typo in a number column, never a category."""
    missing = [_is_missing(c) for c in cells]
    numbers = [not gap and _is_number(c) for c, gap in zip(cells, missing)]
    if all(n or gap for n, gap in zip(numbers, missing)):
        return np.asarray([np.nan if gap else float(c) for c, gap in zip(cells, missing)], dtype=float)
    if not any(numbers):
        return np.asarray([None if gap else c for c, gap in zip(cells, missing)], dtype=object)
    bad = next(k for k, (n, gap) in enumerate(zip(numbers, missing)) if not n and not gap)
    raise InputError(f"{_column(header, index)} is not a number, though other rows hold numbers there; fix the "
                     "cell or leave it empty for a missing value", file=str(path), line=lines[bad])


def text_columns(X: np.ndarray) -> tuple[int, ...]:
    """The columns of a loaded X that hold text (an object array's str columns)."""
    if X.dtype != object:
        return ()
    return tuple(j for j in range(X.shape[1]) if any(isinstance(v, str) for v in X[:, j]))


def missing_numbers(X: np.ndarray, text: tuple[int, ...]) -> bool:
    """Some number cell of a loaded X is missing (NaN)."""
    numbers = np.delete(X, list(text), axis=1).astype(float)
    return bool(np.isnan(numbers).any())


def _read_bounded(path: Path) -> str:
    """The text of a regular file of at most MAX_CSV_BYTES: /dev/zero, a FIFO or a directory would read
    forever, block, or fail later in every worker."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError("no such CSV file", file=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
        raise InputError(f"is {kind}, not a CSV file", file=str(path))
    with path.open("rb") as handle:
        data = handle.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise InputError(f"the CSV file is larger than {MAX_CSV_BYTES / 2**30:g} GB, the most a dataset may be",
                         file=str(path))
    return data.decode("utf-8")


def _looks_like_header(header: list[str]) -> bool:
    """Column names a person would write; anything else may be private data, never echoed in an error."""
    return len(header) >= 2 and all(HEADER_NAME.fullmatch(name) for name in header)


def _column(header: list[str], index: int) -> str:
    """`column 'age'` when the first line is a plausible header, else `column 3`."""
    return f"column {header[index]!r}" if _looks_like_header(header) else f"column {index + 1}"


def _close_match(header: list[str], target: str) -> str:
    """`; did you mean 'label'?` for a typo in a plausible header: says a name, never the file's content."""
    if not _looks_like_header(header):
        return ""
    close = difflib.get_close_matches(target, header, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
