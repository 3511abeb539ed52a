"""A study read from another tool, in one shape for every importer, and the study directory made from it.

Each importer (optuna, sklearn) reads its tool's results into an `ImportedStudy`; this module checks it as a
study file (the space, the metrics) before anything is written, then writes the directory through `Study`,
the one journal writer, so the app, `analyze`, `trials` and `run --resume` read it like any study.
"""

from __future__ import annotations

import math
import os
import re
import reprlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..objectives.imported import REFERENCE
from ..records import IMPORTED, Failed, Finished, JournalRecord, Note, Pruned, Reported, Started
from ..spec import DEFAULT_TRIALS, spec_from_dict
from ..study import Study

STATES = ("finished", "failed", "pruned")
MAGNITUDE = 2 ** 53  # the largest number imported: past it floats hold no whole number and sums overflow
MAX_CHOICES = 1_000  # values of one categorical param (the search space checks its choices pairwise)


@dataclass(frozen=True)
class ImportedTrial:
    """One trial as the other tool kept it. `values`: one per metric (finished trials only); `metrics`:
    everything else worth keeping (numbers); `reports`: (step, {name: value}) intermediate values."""

    number: int
    params: dict
    state: str  # one of STATES
    values: list[float] | None = None
    metrics: dict = field(default_factory=dict)
    reports: list[tuple[int, dict]] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    duration: float | None = None
    reason: str | None = None  # why it failed
    note: str | None = None  # what the tool kept that is no number (Optuna's text user attributes)


@dataclass(frozen=True)
class ImportedStudy:
    name: str
    params: dict  # the study file's `params:` mapping
    metrics: list[str]
    directions: list[str]
    trials: list[ImportedTrial]
    strategy: str = "bayes"  # what goes on after the imported trials: a model of them
    note: str | None = None  # what the tool kept on the study itself (Optuna's study user attributes)

    def study_file(self) -> dict:
        """The imported study as a study file: its objective names no code (see objectives.imported)."""
        several = len(self.metrics) > 1
        return {
            "name": self.name,
            "objective": {"python": REFERENCE, "metric": self.metrics if several else self.metrics[0],
                          "direction": self.directions if several else self.directions[0]},
            "search": {"strategy": self.strategy, "trials": len(self.trials) + DEFAULT_TRIALS},
            "params": self.params,
        }


def study_name(text: str) -> str:
    """A study name (letters, digits, '.', '_', '-') for a name or file stem of another tool."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    return name or "imported"


def shown(value: Any) -> str:
    """A value as an error shows it: short whatever it holds (a 4,000-digit number, a list of 100,000)."""
    return _SHORT.repr(value)


class _Short(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        digits = int(x.bit_length() * math.log10(2)) + 1
        return repr(x) if digits <= 30 else f"a number of about {digits:,} digits"


_SHORT = _Short()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlevel = 3


def with_conditions(params: dict, configs: list[dict], warnings: list[str]) -> dict:
    """`params` with a `when:` for each param some configs lack, where the value of a categorical param says
    when it is set (gamma only with kernel rbf), so every trial fits the space and searchers learn from all of
    them. A param whose absence no other param explains stays unconditional, and `warnings` says so."""
    out = dict(params)
    for name in params:
        present = [c for c in configs if name in c]
        absent = [c for c in configs if name not in c]
        if not absent or not present:
            continue
        for parent, definition in params.items():
            if parent == name or definition.get("type") != "categorical":
                continue
            if not all(parent in c for c in present):
                continue
            with_it = {value_key(c[parent]) for c in present}
            if all(parent in c and value_key(c[parent]) not in with_it for c in absent):
                allowed = [v for v in definition["choices"] if value_key(v) in with_it]
                out[name] = {**params[name], "when": {parent: allowed[0] if len(allowed) == 1 else allowed}}
                break
        else:
            warnings.append(f"param {name} is set in {len(present)} of {len(configs)} trials and no other param "
                            "says when; the trials without it are not told to the searchers")
    return out


def value_key(value: object) -> tuple:
    """A value as the space compares it: 1 and True differ, 1 and 1.0 do not."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("number", value)
    return (type(value).__name__, value)


def write_study_dir(imported: ImportedStudy, directory: Path, *, source: str) -> Study:
    """Write `imported` as a new study directory; `source` (the file or storage read) names bad input.
    Refuses a directory that exists and is not empty; nothing is written before the study is checked, and a
    study whose journal cannot be written in full (disk full, Ctrl+C) is removed, not left half imported."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        what = "is a file" if not directory.is_dir() else "is not empty"
        raise InputError(f"{what}; import into a new directory", file=str(directory), field="--study")
    if not imported.trials:
        raise InputError("holds no finished, failed or pruned trial to import", file=source)
    try:
        spec = spec_from_dict(imported.study_file(), base_dir=Path(os.getcwd()))
    except InputError as err:
        raise err.located(file=source) from None
    records = [record for trial in sorted(imported.trials, key=lambda t: t.number)
               for record in _records(trial, imported.metrics)]
    if imported.note:
        records.append(Note(None, imported.note))
    made = not directory.exists()
    study = Study.create(spec, directory, space_reason="import")
    try:
        study.record_imported(records)
    except BaseException:
        _discard(directory, made)
        raise
    return study


def _discard(directory: Path, made: bool) -> None:
    """Remove what a failed import wrote: the directory it made, or what it put in the empty one it was given."""
    if made:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _records(trial: ImportedTrial, metrics: list[str]) -> list[JournalRecord]:
    """The journal records of one imported trial, with the times the tool kept."""
    out: list[JournalRecord] = [Started(trial.number, trial.params, 0, time=trial.started, proposer=IMPORTED)]
    out += [Reported(trial.number, step, values, time=None) for step, values in trial.reports]
    if trial.state == "finished":
        named = dict(zip(metrics, trial.values))
        out.append(Finished(trial.number, trial.values[0], {**trial.metrics, **named}, trial.duration,
                            time=trial.ended, values=list(trial.values) if len(metrics) > 1 else None))
    elif trial.state == "pruned":
        step = trial.reports[-1][0] if trial.reports else None
        out.append(Pruned(trial.number, step, trial.duration, time=trial.ended))
    else:
        out.append(Failed(trial.number, trial.reason, trial.duration, time=trial.ended))
    if trial.note:
        out.append(Note(trial.number, trial.note, time=trial.ended))
    return out
