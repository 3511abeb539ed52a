"""The Textual app. `run_app` opens it on a study file, a study directory, or the built-in demo."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..storage import is_study_dir
from ..study import Study
from .document import StudyDocument


def open_target(target: str | None) -> tuple[StudyDocument, Study | None]:
    """What `tui-tuner [TARGET]` opens; a bad target is an InputError, reported like the CLI's."""
    if target is None:
        return StudyDocument.load(), None
    path = Path(target)
    if path.is_dir():
        if not is_study_dir(path):
            raise InputError("not a study file or a study directory (no journal.jsonl)", file=target)
        study = Study.open(path)
        return StudyDocument.from_spec(study.spec, Path.cwd() / f"{study.spec.name}.yaml", study.settings), study
    return StudyDocument.load(path), None


def run_app(target: str | None) -> int:
    document, study = open_target(target)
    from .app import TunerApp

    app = TunerApp(document, study)
    app.run()
    return app.return_code or 0
