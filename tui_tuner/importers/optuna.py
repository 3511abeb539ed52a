"""Every trial of an Optuna study, from an RDB storage (`sqlite:///optuna.db`, any SQLAlchemy URL) or a
journal file (`JournalStorage`), as an `ImportedStudy`.

The trials' distributions make the search space (a param whose distribution changed between trials gets
the widest range, or every choice; one suggested only with some value of a categorical param is conditional
on it); complete trials keep their values, failed ones their reason, pruned ones their intermediate values
as reports; numeric user attributes become metrics and the others a note on the trial (the study's own user
attributes a note on the study). Trial numbers and times are kept. Running and waiting trials have no result
and are left out, as are system attributes; `warnings` names them. optuna is an optional extra:
`pip install 'tui-tuner[optuna]'`.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError
from .imported import MAGNITUDE, ImportedStudy, ImportedTrial, study_name, with_conditions

INSTALL = "pip install 'tui-tuner[optuna]'"
SQLITE_MAGIC = b"SQLite format 3\x00"
FAIL_REASON = "fail_reason"  # the system attribute where Optuna before 3.0 kept why a trial failed


def read_optuna(url: str, name: str, warnings: list[str]) -> ImportedStudy:
    """The study `name` in the storage at `url` (a database URL or a journal file's path); what is not
    carried over is appended to `warnings`. InputError: optuna missing, no such storage or study."""
    try:
        import optuna
    except ImportError:
        raise InputError(f"importing an Optuna study needs optuna: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="tui-tuner-optuna-") as scratch:
        return _read(optuna, _storage(optuna, url, Path(scratch), warnings), url, name, warnings)


def _read(optuna: Any, storage: Any, url: str, name: str, warnings: list[str]) -> ImportedStudy:
    names = sorted(str(s.study_name) for s in storage.get_all_studies())  # a journal may hold any JSON there
    if name not in names:
        has = f"it has: {', '.join(names)}" if names else "it holds no study"
        raise InputError(f"has no study named {name!r}; {has}", file=url, field="--study-name")
    study = optuna.load_study(study_name=name, storage=storage)
    directions = [d.name.lower() for d in study.directions]
    metrics = _metric_names(study, len(directions))
    everything = study.get_trials(deepcopy=False)
    trials, left = [], []
    for trial in everything:
        state = {"COMPLETE": "finished", "FAIL": "failed", "PRUNED": "pruned"}.get(trial.state.name)
        if state is None:
            left.append(f"{trial.number} ({trial.state.name.lower()})")
            continue
        trials.append(_trial(trial, state, metrics))
    if left:
        warnings.append(f"trials without a result are left out: {', '.join(left)}")
    system = sorted({key for t in everything for key in t.system_attrs if key != FAIL_REASON})
    if system:
        warnings.append(f"Optuna's system attributes are not carried over: {', '.join(system)}")
    done = [t for t in everything if t.state.name in ("COMPLETE", "FAIL", "PRUNED")]
    params = with_conditions(_space(done, url), [t.params for t in done], warnings)
    note = "; ".join(f"{k}: {v}" for k, v in study.user_attrs.items()) or None
    return ImportedStudy(study_name(name), params, metrics, directions, trials, note=note)


def _storage(optuna: Any, url: str, scratch: Path, warnings: list[str]) -> Any:
    """The storage at `url`, opened without writing to it: a database URL, a SQLite file's path, or a
    journal file's path. A SQLite file of an older Optuna's schema is read from an upgraded copy in
    `scratch` (upgrading the file itself would change the user's study)."""
    sqlite = None
    if url.startswith("sqlite:///"):
        sqlite = Path(url[len("sqlite:///"):])
        if not sqlite.is_file():
            raise InputError("no such SQLite file", file=url)
        if not _is_sqlite(sqlite):
            raise InputError("is not a SQLite database", file=url)
    if "://" in url:
        try:
            return optuna.storages.RDBStorage(url, skip_table_creation=True)
        except Exception as err:  # SQLAlchemy's and Optuna's errors alike: a storage we cannot read
            if sqlite is None or "storage upgrade" not in str(err):
                raise InputError(f"cannot open this storage: {str(err).splitlines()[0]}", file=url) from None
        copy = scratch / sqlite.name
        shutil.copyfile(sqlite, copy)
        storage = optuna.storages.RDBStorage(f"sqlite:///{copy}", skip_compatibility_check=True,
                                             skip_table_creation=True)
        logging.disable(logging.INFO)  # alembic's migration steps are no news to the user
        try:
            storage.upgrade()
        finally:
            logging.disable(logging.NOTSET)
        warnings.append("its tables are of an older Optuna: read from an upgraded copy (the file is unchanged)")
        return storage
    path = Path(url)
    if not path.is_file():
        raise InputError("no such file (give an Optuna journal file or a database URL like sqlite:///optuna.db)",
                         file=url)
    if _is_sqlite(path):
        return _storage(optuna, f"sqlite:///{path}", scratch, warnings)
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    try:
        return JournalStorage(JournalFileBackend(str(path)))
    except Exception as err:  # a file that is no Optuna journal
        raise InputError(f"is not an Optuna journal file: {str(err).splitlines()[0]}", file=url) from None


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", file=str(path)) from None


def _metric_names(study: Any, count: int) -> list[str]:
    """The names `study.set_metric_names` gave, else value (one objective) or value_0, value_1, ..."""
    names = getattr(study, "metric_names", None)
    if names and len(names) == count:
        return [str(n) for n in names]
    return ["value"] if count == 1 else [f"value_{i}" for i in range(count)]


def _trial(trial: Any, state: str, metrics: list[str]) -> ImportedTrial:
    started = trial.datetime_start.timestamp() if trial.datetime_start else None
    ended = trial.datetime_complete.timestamp() if trial.datetime_complete else None
    duration = ended - started if started is not None and ended is not None else None
    numbers = {k: v for k, v in trial.user_attrs.items() if _number(v)}
    others = {k: v for k, v in trial.user_attrs.items() if k not in numbers}
    note = "; ".join(f"{k}: {v}" for k, v in others.items()) or None
    reports = [(int(step), {metrics[0]: float(value)})
               for step, value in sorted(trial.intermediate_values.items()) if _number(value)]
    values = trial.values
    if state == "finished" and not all(_number(v) for v in values):
        state = "failed"  # Optuna keeps inf; our journal keeps finite values only
    reason = None
    if state == "failed":
        reason = trial.system_attrs.get(FAIL_REASON) or (
            f"failed in Optuna (values {values})" if values else "failed in Optuna")
    return ImportedTrial(trial.number, dict(trial.params), state,
                         [float(v) for v in values] if state == "finished" else None, numbers, reports, started,
                         ended, duration, reason, note)


def _number(value: Any) -> bool:
    """A value a float holds: finite (Optuna keeps inf), a whole number within ±2^53 (a journal may hold 4,000
    digits, past the largest float)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= MAGNITUDE
    return isinstance(value, float) and math.isfinite(value)


def _space(trials: list, url: str) -> dict:
    """The params mapping of the distributions the trials drew from, merged across trials."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    merged: dict[str, Any] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            old = merged.get(name)
            if old is None or old == dist:
                merged[name] = dist
            elif isinstance(old, CategoricalDistribution) and isinstance(dist, CategoricalDistribution):
                merged[name] = CategoricalDistribution(list(dict.fromkeys([*old.choices, *dist.choices])))
            elif type(old) is type(dist):
                step = old.step if old.step == dist.step else 1 if isinstance(dist, IntDistribution) else None
                merged[name] = type(dist)(min(old.low, dist.low), max(old.high, dist.high),
                                          log=old.log and dist.log and step in (None, 1), step=step)
            else:
                raise InputError(f"param {name!r} is a {type(old).__name__} in one trial and a "
                                 f"{type(dist).__name__} in another; it cannot be one search-space parameter",
                                 file=url)
    params = {}
    for name, dist in merged.items():
        if isinstance(dist, CategoricalDistribution) or dist.low == dist.high:
            choices = list(dist.choices) if isinstance(dist, CategoricalDistribution) else [dist.low]
            params[name] = {"type": "categorical", "choices": choices}
            continue
        param = {"type": "int" if isinstance(dist, IntDistribution) else "float", "low": dist.low, "high": dist.high}
        if dist.log:
            param["log"] = True
        elif dist.step is not None and (isinstance(dist, FloatDistribution) or dist.step != 1):
            param["step"] = dist.step
        params[name] = param
    return params
