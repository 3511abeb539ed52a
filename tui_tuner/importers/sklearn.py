"""scikit-learn's `cv_results_`, saved as CSV (`pandas.DataFrame(search.cv_results_).to_csv(path)`) or JSON
(a mapping of columns to lists, pandas' `to_json` in its columns or records orient), as an `ImportedStudy`.

The `param_*` columns are the params, and their values say the space: numbers a range (log-scaled when they
span two decades or more), anything else a list of choices; an empty or NaN cell is a param the row did not
set. `mean_test_score` is the value (each `mean_test_<scorer>` a metric of a multi-metric search), maximized
as scikit-learn's scores are; a param set only with some value of another (gamma with kernel rbf) is
conditional on it; every other numeric column (fit and score times, split scores, ranks) is kept
among the trial's metrics. A row whose score is NaN is a failed fit. Read with the csv module: pandas is not
a dependency.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import read_input
from .imported import (MAGNITUDE, MAX_CHOICES, ImportedStudy, ImportedTrial, shown, study_name, value_key,
                       with_conditions)

PARAM_PREFIX = "param_"
SCORE_PREFIX = "mean_test_"
LOG_SPAN = 100.0  # a positive range whose high is this many times its low is searched on a log scale
MISSING = object()  # an empty or NaN cell: the param was not set in that row
NUMPY_SCALAR = re.compile(r"\bnp\.\w+\(([^()]*)\)")  # numpy 2's repr of a scalar: np.float64(0.1)
UNNAMED = re.compile(r"^Unnamed: \d+$")  # pandas' name for an index column it read back and wrote again
INDEX_COLUMNS = ("index", "level_0")  # the index column pandas' to_json(orient="table") adds to each record
WORDS = {"None": None, "True": True, "False": False, "nan": MISSING, "NaN": MISSING, "": MISSING}
MAX_ROWS = 100_000  # rows of one file (100,000 import in about 20 s and 220 MB)
MAX_CELL = 10_000  # characters of a param's value


def read_cv_results(path: Path, warnings: list[str]) -> ImportedStudy:
    """The search in a cv_results_ file; what cannot be carried over exactly is appended to `warnings`. An
    InputError names the file and what is wrong with it."""
    file = str(path)
    columns = _columns(path)
    names = [c for c in columns if c.startswith(PARAM_PREFIX)]
    if not names:
        raise InputError("has no param_ columns: not a scikit-learn cv_results_ (save it with "
                         "pandas.DataFrame(search.cv_results_).to_csv(PATH))", file=file)
    scores = [c for c in columns if c.startswith(SCORE_PREFIX)]
    if not scores:
        raise InputError("has no mean_test_ column (mean_test_score, or mean_test_<scorer> for several "
                         "scorers): no score to import", file=file)
    rows = len(columns[names[0]])
    if any(len(values) != rows for values in columns.values()):
        raise InputError("has columns of different lengths", file=file)
    if rows > MAX_ROWS:
        raise InputError(f"holds {rows:,} rows; at most {MAX_ROWS:,} are imported (split the search)", file=file)
    cells = {name: [_cell(v) for v in columns[name]] for name in names}
    _set_from_params_column(cells, columns.get("params"))
    params = {}
    for column in names:
        name = column[len(PARAM_PREFIX):]
        if not name.isidentifier():
            raise InputError(f"names a param {shown(name)} that is no identifier (letters, digits, _)", file=file,
                             field=column)
        _check_cells(cells[column], file=file, field=column, param=True)
        params[name] = _param(cells[column], file=file, field=column)
    for column in scores:
        _check_cells([_cell(v) for v in columns[column]], file=file, field=column, param=False)
    metrics = [c[len(SCORE_PREFIX):] for c in scores]
    if not all(metrics):
        raise InputError("names no scorer (mean_test_score, or mean_test_<scorer>)", file=file, field=SCORE_PREFIX)
    kept = [c for c in columns if c not in names and c not in scores and c != "params"]
    trials = [_trial(i, columns, cells, names, scores, kept) for i in range(rows)]
    texts = [c for c in kept if any(not _is_number(v) and v is not MISSING for v in map(_cell, columns[c]))]
    if texts:
        warnings.append(f"columns that are no numbers are not carried over: {', '.join(texts)}")
    params = with_conditions(params, [t.params for t in trials], warnings)
    return ImportedStudy(study_name(path.stem), params, metrics, ["maximize"] * len(metrics), trials)


def _columns(path: Path) -> dict[str, list]:
    """The file's columns, by name, each a list of one value a row (strings in a CSV)."""
    file = str(path)
    text = read_input(path, what="cv_results_ file").removeprefix("\ufeff")  # Excel's byte order mark
    if path.suffix.lower() == ".json":
        return _json_columns(text, file)
    if path.suffix.lower() != ".csv":
        raise InputError("must be a .csv or .json file of cv_results_", file=file)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError("is empty", file=file)
        kept = [(i, name) for i, name in enumerate(header) if name and not UNNAMED.match(name)]
        _refuse_twice([name for _, name in kept], file)
        columns: dict[str, list] = {name: [] for _, name in kept}
        for row in reader:
            if len(row) != len(header):
                raise InputError(f"has {len(row)} cells, the header line {len(header)}", file=file,
                                 line=reader.line_num)
            if reader.line_num > MAX_ROWS + 1:
                raise InputError(f"holds more than {MAX_ROWS:,} rows, the most imported (split the search)",
                                 file=file, line=reader.line_num)
            for i, name in kept:
                columns[name].append(row[i])
    except csv.Error as err:
        raise InputError(f"is no CSV here: {err}", file=file, line=reader.line_num) from None
    return columns


def _refuse_twice(names: list[str], file: str) -> None:
    """A column named twice: the second would silently replace the first."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError("names two columns; keep one", file=file, field=shown(name))
        seen.add(name)


def _no_twice(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object, refusing a key given twice (json keeps the last in silence)."""
    _refuse_twice([key for key, _ in pairs], "")
    return dict(pairs)


def _json_columns(text: str, file: str) -> dict[str, list]:
    """{column: [values]} (json.dump of cv_results_ as lists), or what pandas' to_json writes in any orient
    that names the columns: columns (its default), records, index, split, table."""
    try:
        data = json.loads(text, object_pairs_hook=_no_twice)
    except InputError as err:
        raise err.located(file=file) from None
    except RecursionError:
        raise InputError("is not valid JSON here: nested too deep to read", file=file) from None
    except ValueError as err:
        raise InputError(f"is not valid JSON: {str(err).split(';')[0]}", file=file) from None
    try:  # "\ud800" is valid JSON but no text: the study file and journal written from it could not be read
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError(f"holds a lone surrogate {err.object[err.start:err.end]!r}, which is no text",
                         file=file) from None
    if isinstance(data, dict) and isinstance(data.get("data"), list) and ("columns" in data or "schema" in data):
        if "columns" in data:  # split: {"columns": [...], "index": [...], "data": [[...], ...]}
            if not isinstance(data["columns"], list) or not all(isinstance(c, str) for c in data["columns"]):
                raise InputError("must be a list of column names", file=file, field="columns")
            _refuse_twice(data["columns"], file)
            if not all(isinstance(row, list) and len(row) == len(data["columns"]) for row in data["data"]):
                raise InputError("has rows of another length than its columns", file=file)
            return {name: [row[i] for row in data["data"]] for i, name in enumerate(data["columns"])}
        data = data["data"]  # table: {"schema": ..., "data": [{column: value}, ...]}
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        if any(str(name).startswith(PARAM_PREFIX) for row in data.values() for name in row):
            data = list(data.values())  # index: {row: {column: value}}
        else:  # columns: {column: {row: value}}
            index = list(dict.fromkeys(key for column in data.values() for key in column))
            return {name: [column.get(key) for key in index] for name, column in data.items()}
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):  # records: [{column: value}]
        names = list(dict.fromkeys(name for row in data for name in row))
        return {name: [row.get(name) for row in data] for name in names if name not in INDEX_COLUMNS}
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return data
    raise InputError("must hold cv_results_ as a mapping of columns to lists (or pandas' to_json)", file=file)


def _cell(value: Any) -> Any:
    """A cell as the value it stands for: a CSV's "0.1" a number, "None" None, "{'a': 1}" the text it is
    (a choice must be a plain value, and a JSON list or mapping is its JSON text); empty and NaN cells are
    MISSING."""
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if value is None or not isinstance(value, str):
        return MISSING if value is None else value
    text = value.strip()
    if text in WORDS:
        return WORDS[text]
    with contextlib.suppress(ValueError):  # most cells are numbers: literal_eval compiles each one (minutes a million)
        return int(text)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        return number
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    if isinstance(parsed, float) and math.isnan(parsed):
        return MISSING
    return parsed if isinstance(parsed, (int, float, str, bool)) else value


def _set_from_params_column(cells: dict[str, list], params: list | None) -> None:
    """Where a row's `params` cell (its dict, or the dict's repr in a CSV) sets a param its param_ cell shows
    empty, the value is None: pandas writes None as an empty cell, and only `params` tells it from a param
    the row did not set. Plain values in `params` are taken as they are typed there."""
    for row, cell in enumerate(params or []):
        if isinstance(cell, str):
            try:
                cell = ast.literal_eval(NUMPY_SCALAR.sub(r"\1", cell))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue  # an estimator's repr among the values: the param_ cells say what they can
        if not isinstance(cell, dict):
            continue
        for name, value in cell.items():
            column = cells.get(f"{PARAM_PREFIX}{name}")
            if column is None:
                continue
            if value is None or (isinstance(value, (str, int, float, bool)) and not _nan(value)):
                column[row] = value


def _is_number(value: Any) -> bool:
    """A number a float holds: finite, and whole numbers within ±2^53."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= MAGNITUDE
    return isinstance(value, float) and math.isfinite(value)


def _check_cells(values: list, *, file: str, field: str, param: bool) -> None:
    """Refuse a value no float or search space holds: a whole number past 2^53 (a 4,000-digit one overflows
    a float), and in a param a number past ±2^53 or a text longer than MAX_CELL."""
    for row, value in enumerate(values, 1):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        if isinstance(value, str):
            if param and len(value) > MAX_CELL:
                raise InputError(f"row {row}: a value of {len(value):,} characters; a param's may hold at most "
                                 f"{MAX_CELL:,}", file=file, field=field)
            if re.fullmatch(r"\s*[-+]?\d+\s*", value):  # digits int() refuses: more than 4,300 of them
                raise InputError(f"row {row}: a number of {len(value.strip()):,} digits is past ±2^53, where floats "
                                 "hold no whole number exactly", file=file, field=field)
        elif (param or isinstance(value, int)) and abs(value) > MAGNITUDE:
            raise InputError(f"row {row}: {shown(value)} is outside ±2^53 (9.007e+15), where floats hold whole "
                             "numbers exactly", file=file, field=field)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _param(values: list, *, file: str, field: str) -> dict:
    """The space of one param from the values it took: a range of numbers, else a list of choices."""
    seen = [v for v in values if v is not MISSING]
    if not seen:
        raise InputError("is empty in every row", file=file, field=field)
    numbers = all(_is_number(v) for v in seen)
    first: dict[tuple, Any] = {}
    for value in seen:
        first.setdefault(value_key(value), value)  # 1 and 1.0 are one choice, as the space compares them
    distinct = list(first.values())
    if not numbers and len(distinct) > MAX_CHOICES:
        raise InputError(f"takes {len(distinct):,} values that are not all numbers; a param may have at most "
                         f"{MAX_CHOICES:,} choices", file=file, field=field)
    if not numbers or len(distinct) < 2:
        return {"type": "categorical", "choices": distinct}
    low, high = min(seen), max(seen)
    whole = all(isinstance(v, int) for v in seen)
    param = {"type": "int", "low": low, "high": high} if whole else {"type": "float", "low": float(low),
                                                                      "high": float(high)}
    if low > 0 and high / low >= LOG_SPAN:
        param["log"] = True
    return param


def _trial(row: int, columns: dict, cells: dict, names: list[str], scores: list[str], kept: list[str]) -> ImportedTrial:
    params = {name[len(PARAM_PREFIX):]: cells[name][row] for name in names if cells[name][row] is not MISSING}
    metrics = {}
    for column in kept:
        value = _cell(columns[column][row])
        if _is_number(value):
            metrics[column] = value
    values = [_cell(columns[column][row]) for column in scores]
    splits = sum(c.startswith("split") and c.endswith(f"_test_{scores[0][len(SCORE_PREFIX):]}") for c in columns)
    duration = None
    if "mean_fit_time" in metrics and "mean_score_time" in metrics:
        duration = (metrics["mean_fit_time"] + metrics["mean_score_time"]) * max(1, splits)
    if not all(_is_number(v) for v in values):
        return ImportedTrial(row, params, "failed", metrics=metrics, duration=duration,
                             reason=f"the fit failed in scikit-learn ({scores[0]} is not a number)")
    return ImportedTrial(row, params, "finished", [float(v) for v in values], metrics, duration=duration)
