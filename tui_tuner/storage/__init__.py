"""Files a study owns, one job a module:

- `journal`: the append-only event log, the source of truth (`schema`: what a record must hold, and where);
- `trial_log`: trial records rebuilt from events, live or replayed;
- `lock`: one writer per study directory;
- `repair`: moving a damaged journal's bad lines aside;
- `best_config`: best-config files (the design's contract);
- `checkpoint`: the replayed trials of a long journal, so it opens fast (the journal stays the truth: a
  checkpoint our key does not vouch for, or one that cannot be read, is a cache miss);
- `atomic`: replacing any other file we own atomically (whole, or written piece by piece); `encoding`: the JSON we write; `layout`: file names.
"""

from .atomic import open_atomic, write_atomic
from .best_config import load_config, save_config
from .checkpoint import CHECKPOINT_EVERY, load_checkpoint, save_checkpoint
from .encoding import dumps
from .journal import Journal, read_journal, scan_journal, sound_records, stream_journal
from .layout import (BEST_NAME, CHECKPOINT_NAME, JOURNAL_NAME, LOCK_NAME, REJECTED_NAME, SNAPSHOT_NAME, STUDY_FILES,
                     TRIAL_LOG, is_study_dir, trial_log_path)
from .lock import StudyLock, StudyLocked, writer_pid
from .repair import repair_journal
from .trial_log import INTERRUPTED_REASON, StudyLog, TrialRecord

__all__ = ["BEST_NAME", "CHECKPOINT_EVERY", "CHECKPOINT_NAME", "INTERRUPTED_REASON", "JOURNAL_NAME", "LOCK_NAME",
           "REJECTED_NAME", "SNAPSHOT_NAME", "STUDY_FILES", "TRIAL_LOG", "Journal", "StudyLock", "StudyLocked",
           "StudyLog", "TrialRecord", "dumps", "is_study_dir", "load_checkpoint", "load_config", "open_atomic",
           "read_journal", "repair_journal", "save_checkpoint", "save_config", "scan_journal", "sound_records",
           "stream_journal", "trial_log_path", "write_atomic", "writer_pid"]
