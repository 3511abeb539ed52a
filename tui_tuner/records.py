"""Every record of a study, typed: what the engine tells its subscribers, what the journal keeps, what the
screen is told. One small frozen dataclass per happening.

JSON lives at the journal's edge only: `to_json` makes a journal line's object and `from_json` reads one back
(after `storage.schema` has checked it); everything between the engine, the journal, `storage.StudyLog`, the
app and the CLI passes these records. The JSON form is the journal's format: each record's fields in order,
after an `"event"` tag, so journals written before these classes replay unchanged.
"""

from __future__ import annotations

import time
from dataclasses import MISSING, asdict, dataclass, field, fields

MANUAL = "manual"  # the proposer of a trial the user configured by hand
IMPORTED = "imported"  # the proposer of a trial brought in from another tool's study


@dataclass(frozen=True)
class StudyHeader:
    """The journal's first record: what the study is. `settings` and `balance` are in the JSON forms of
    `spec.Settings` and `analysis.balance.Balance` (each reads its own); `balance` only with several metrics.
    The defaults are what a reader assumes of a journal that lacks the field (or has no header yet)."""

    name: str | None = None
    version: str | None = None
    time: float | None = None
    source: str | None = None  # the study file it was made from
    base_dir: str | None = None  # where the study file's relative paths start
    metric: str | list[str] = "value"
    direction: str | list[str] | None = None
    settings: dict | None = None
    balance: dict | None = None
    objective: dict | None = None  # the code it runs (`objectives.identity`); None in journals older than it


@dataclass(frozen=True)
class Started:
    """A trial began. `proposer` says what proposed its config: the name of the strategy (random, bayes, ...),
    MANUAL or IMPORTED (None in journals older than it); `space` the version of the search space it was drawn
    from."""

    number: int
    params: dict
    seed: int
    manual: bool = False
    predicted: list | None = None  # [mean, std] from a model-based searcher, before the trial ran
    time: float | None = field(default_factory=time.time)
    proposer: str | None = None
    space: int = 1


@dataclass(frozen=True)
class Reported:
    number: int
    step: int
    values: dict
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class Finished:
    number: int
    value: float  # several metrics: the first one's
    metrics: dict | None
    duration: float | None
    time: float | None = field(default_factory=time.time)
    values: list | None = None  # several metrics: each one's value, in the study file's order; else left out


@dataclass(frozen=True)
class Failed:
    number: int
    reason: str | None
    duration: float | None
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class Pruned:
    number: int
    step: int | None
    duration: float | None
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class Interrupted:
    """A trial cut off by the study itself (cancelled): its config runs again on resume."""

    number: int
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class TestScored:
    """The held-out test score of the best trial, or why there is none (`error`)."""

    __test__ = False  # not a pytest test class, whatever its name

    number: int
    value: float | None
    error: str | None
    metric: str | list[str] | None = None
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class Note:
    """What the user kept on trial `number`, or on the study (None); an empty text clears it."""

    number: int | None
    text: str
    time: float | None = field(default_factory=time.time)


SPACE_REASONS = ("created", "edit", "lr-find", "study file", "import")  # why a version of the space began


@dataclass(frozen=True)
class SpaceVersion:
    """A version of the study's search space: its `params:` mapping as the study file writes it, why it began
    (one of SPACE_REASONS) and what changed from the version before (`space.space_changes`, one line each).
    Each trial's Started.space names the version it was drawn from."""

    version: int
    params: dict
    reason: str
    changes: list = field(default_factory=list)
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class SettingsChanged:
    """The search settings a run used, when they differ from the ones before (`run --resume --trials 50`,
    the app's "run more trials"): a reopened study shows the budget it last ran with, not its first one.
    In the JSON form of `spec.Settings`, as the header's."""

    settings: dict
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class ObjectiveChanged:
    """`run FILE --resume --objective-changed` (or an imported study resumed, or the same code resumed from
    another folder): the study goes on with FILE's objective, recorded as the header's is (`objective`,
    `base_dir`), which a later resume compares with."""

    objective: dict
    base_dir: str
    time: float | None = field(default_factory=time.time)


@dataclass(frozen=True)
class StateChanged:
    """News for the screen, never journaled: the engine's state."""

    state: str  # running | paused | stopping | finished
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Notice:
    """News for the screen, never journaled: something to say once (fewer workers than asked, ...)."""

    text: str


TrialEvent = Started | Reported | Finished | Failed | Pruned | Interrupted
EngineEvent = TrialEvent | StateChanged | Notice  # what the engine emits
JournalRecord = StudyHeader | TrialEvent | TestScored | Note | SpaceVersion | SettingsChanged | ObjectiveChanged
Record = JournalRecord | StateChanged | Notice

_TAGS: dict[type, str] = {StudyHeader: "study", Started: "started", Reported: "reported", Finished: "finished",
                          Failed: "failed", Pruned: "pruned", Interrupted: "interrupted", TestScored: "test",
                          Note: "note", SpaceVersion: "space", SettingsChanged: "settings",
                          ObjectiveChanged: "objective", StateChanged: "state", Notice: "notice"}
_CLASSES = {tag: cls for cls, tag in _TAGS.items()}
# field -> the value it is left out of the JSON at: what a line without it reads as, where the line may lack
# it but not hold null (so a record read back is written as it was, and today's lines as they always were)
_LEFT_OUT_AT = {StudyHeader: dict.fromkeys(("version", "base_dir", "direction", "settings", "balance",
                                             "objective")),
                Started: {"space": 1}, Finished: {"values": None}, TestScored: {"metric": None}}
# class -> (field, value a line without it reads as): a plain default, else None (a time never read as now)
_READ_DEFAULTS = {cls: [(f.name, None if f.default is MISSING else f.default) for f in fields(cls)]
                  for cls in _TAGS}


def tag(cls: type) -> str:
    """The `"event"` tag a record class is written with."""
    return _TAGS[cls]


def to_json(record: Record) -> dict:
    """The record as a journal line's JSON object."""
    data = {"event": _TAGS[type(record)], **asdict(record)}
    for name, default in _LEFT_OUT_AT.get(type(record), {}).items():
        if data[name] == default:
            del data[name]
    return data


def from_json(data: dict) -> Record:
    """The record a journal line's JSON object holds, checked by `storage.schema` first. Fields it lacks
    read as their defaults; fields of a later version are left."""
    cls = _CLASSES[data["event"]]
    return cls(**{name: data.get(name, default) for name, default in _READ_DEFAULTS[cls]})


def trial_number(record: Record) -> int | None:
    """The trial a record is about, None for the study's own records."""
    return getattr(record, "number", None)
