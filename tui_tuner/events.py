"""What the engine tells its subscribers (journal, app, progress bar): one small dataclass per happening.

Each event has a JSON form (`to_json`) with an `"event"` tag; the journal stores exactly that form and
`storage.StudyLog` rebuilds trial state from it, so live and replayed studies go through one code path.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Started:
    number: int
    params: dict
    seed: int
    manual: bool = False
    predicted: list | None = None  # [mean, std] from a model-based searcher, before the trial ran
    time: float = field(default_factory=time.time)
    proposer: str | None = None  # the strategy that proposed it (random, bayes, ...), or "manual"


@dataclass(frozen=True)
class Reported:
    number: int
    step: int
    values: dict
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Finished:
    number: int
    value: float  # several metrics: the first one's
    metrics: dict
    duration: float
    time: float = field(default_factory=time.time)
    values: list | None = None  # several metrics: each one's value, in the study file's order; else left out


@dataclass(frozen=True)
class Failed:
    number: int
    reason: str
    duration: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Pruned:
    number: int
    step: int | None
    duration: float
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Interrupted:
    """A trial cut off by the study itself (cancelled): its config runs again on resume."""

    number: int
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StateChanged:
    state: str  # running | paused | stopping | finished
    time: float = field(default_factory=time.time)


Event = Started | Reported | Finished | Failed | Pruned | Interrupted | StateChanged

_TAGS = {Started: "started", Reported: "reported", Finished: "finished", Failed: "failed", Pruned: "pruned",
         Interrupted: "interrupted", StateChanged: "state"}
_CLASSES = {tag: cls for cls, tag in _TAGS.items()}


def to_json(event: Event) -> dict:
    record = {"event": _TAGS[type(event)], **asdict(event)}
    if isinstance(event, Finished) and event.values is None:
        del record["values"]  # a single-metric study's journal is as it always was
    return record


def from_json(record: dict) -> Event | None:
    """The event a journal line holds; None for lines that are not engine events (the study header)."""
    cls = _CLASSES.get(record.get("event"))
    if cls is None:
        return None
    return cls(**{k: v for k, v in record.items() if k != "event"})
