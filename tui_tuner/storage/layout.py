"""The files of a study directory, by name."""

from __future__ import annotations

import os
from pathlib import Path

JOURNAL_NAME = "journal.jsonl"
REJECTED_NAME = "journal.rejected.jsonl"  # lines `tui-tuner repair` moved out of the journal
SNAPSHOT_NAME = "study.yaml"
BEST_NAME = "best.json"
LOCK_NAME = "lock"
CHECKPOINT_NAME = "checkpoint.pickle"  # the replayed trials of a long journal (storage/checkpoint.py)
TRIAL_LOG = "logs/trial-{number}.log"  # what a trial's program printed (a command objective), one file a trial
STUDY_FILES = (JOURNAL_NAME, REJECTED_NAME, SNAPSHOT_NAME, BEST_NAME, LOCK_NAME,  # never overwritten by an export
               CHECKPOINT_NAME)


def is_study_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / JOURNAL_NAME).is_file()


def trial_log_path(directory: str | os.PathLike, number: int) -> Path:
    """Where trial `number` of the study in `directory` keeps its program's output (a command objective's)."""
    return Path(directory) / TRIAL_LOG.format(number=number)
