"""Bring your own study: a W&B sweep file as a study file; an Optuna study or scikit-learn `cv_results_` as
a study directory, written through `Study` like any other (see `imported`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .imported import ImportedStudy, ImportedTrial, write_study_dir
from .optuna import read_optuna
from .sklearn import read_cv_results
from .wandb import study_yaml, sweep_to_study


def read_sweep(path: Path) -> tuple[str, list[str]]:
    """(the study file's text, what was not carried over) for the W&B sweep file at `path`."""
    from ..spec import parse_yaml
    import yaml

    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read: {getattr(err, 'strerror', None) or err}", file=file) from None
    try:
        sweep = parse_yaml(text)[1]
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {getattr(err, 'problem', None) or err}", file=file) from None
    except InputError as err:
        raise err.located(file=file) from None
    study, warnings, comments = sweep_to_study(sweep, file=file, stem=path.stem)
    description = sweep.get("description")
    return study_yaml(study, warnings, comments, path.name, description if isinstance(description, str) else None), \
        warnings


__all__ = ["ImportedStudy", "ImportedTrial", "read_cv_results", "read_optuna", "read_sweep", "write_study_dir"]
