"""Studies side by side (`tui-tuner compare`): each one's best trial, its best-so-far history and what mattered.

A study is read from its directory alone (the journal and the snapshot's space), never from its code, so
studies run on other machines or with moved code compare all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..space import SearchSpace
from ..storage import JOURNAL_NAME, SNAPSHOT_NAME, StudyLog, TrialRecord, is_study_dir, read_journal
from .importance import Importance, param_importance


def read_study(directory: Path) -> tuple[StudyLog, SearchSpace]:
    """The trial log and the search space of a study directory; InputError when it is not one."""
    from ..spec import load_params

    if not is_study_dir(directory):
        raise InputError(f"not a study directory (no {JOURNAL_NAME})", file=str(directory))
    return StudyLog.replay(read_journal(directory / JOURNAL_NAME)), load_params(directory / SNAPSHOT_NAME)


def best_so_far(log: StudyLog) -> list[tuple[int, float]]:
    """(trial number, the best value up to it) for each finished trial in trial order: the curve a study's
    progress is judged by. With several metrics, the first one's."""
    direction = log.direction[0] if log.multi else log.direction
    better = min if direction == "minimize" else max
    curve, best = [], None
    for rec in sorted(log.finished(), key=lambda r: r.number):
        best = rec.value if best is None else better(best, rec.value)
        curve.append((rec.number, best))
    return curve


@dataclass(frozen=True)
class StudySummary:
    directory: Path
    log: StudyLog
    best: TrialRecord | None
    history: list[tuple[int, float]]
    importance: Importance

    @property
    def name(self) -> str:
        return self.log.header.name or self.directory.name

    def to_json(self) -> dict[str, Any]:
        log, best = self.log, self.best
        return {"directory": str(self.directory), "name": self.name, "metric": log.header.metric,
                "direction": log.direction,
                "trials": {s: log.count(s) for s in ("finished", "failed", "pruned", "interrupted", "running")},
                "best": None if best is None else {"number": best.number, "value": best.value,
                                                   "params": best.params},
                "history": [{"number": n, "best": v} for n, v in self.history],
                "importance": self.importance.importance}


def summarise(directory: Path) -> StudySummary:
    log, space = read_study(directory)
    seed = (log.header.settings or {}).get("seed", 0)
    return StudySummary(Path(directory), log, log.best(), best_so_far(log),
                        param_importance(log.records.values(), space, log.direction, seed=seed))


def mismatch(summaries: list[StudySummary]) -> str | None:
    """Why the studies' values do not compare (different metrics or directions), or None."""
    kinds = {(str(s.log.header.metric), str(s.log.direction)) for s in summaries}
    if len(kinds) > 1:
        return "the studies optimise different things (" + "; ".join(f"{m} {d}" for m, d in sorted(kinds)) + \
               "): their values are shown side by side, not ranked"
    return None
