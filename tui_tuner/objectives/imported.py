"""The objective of a study brought in from another tool (Optuna, scikit-learn): its trials ran elsewhere, so
there is no code of ours to run. The study file of an imported study names this function, which keeps the
directory a study like any other (the app, `analyze`, `trials` open it); `tui-tuner run STUDY_FILE --resume
--study DIR` runs the objective of STUDY_FILE instead (see `Study.for_resume`)."""

from __future__ import annotations

from typing import Any

from ..errors import TunerError

REFERENCE = "tui_tuner.objectives.imported:objective"  # the `objective.python` of an imported study's file


def objective(params: dict, trial: Any) -> Any:
    """A trial of an imported study started without an objective of its own: fail it, saying how to go on."""
    raise TunerError("this study was imported and has no objective of its own: continue it with "
                     "'tui-tuner run STUDY_FILE --resume --study DIR', STUDY_FILE naming your objective")


def is_imported(objective: Any) -> bool:
    """True for the objective of an imported study's file (which runs nothing)."""
    function = getattr(objective, "function", None)
    return getattr(function, "text", None) == REFERENCE
