"""One study run: a spec, its directory, the engine, the journal, best.json and the final test score.

The CLI and the app both drive a study through this class, so they share one journal format and one
resume path. The engine knows nothing of files; this class subscribes the journal to the engine's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

from . import __version__
from .engine import Engine, PastTrial, pruned_at, value_of
from .errors import InputError, TunerError
from .executors import Executor, make_executor
from .files import NotRegularFile, open_regular
from .objectives import metrics_of, study_direction, study_metric
from .objectives.identity import as_json, describe, difference, identity, is_imported_section
from .objectives.imported import is_imported
from .pruners import make_pruner
from .records import (SPACE_REASONS, EngineEvent, Finished, Interrupted, JournalRecord, Note, Notice,
                      ObjectiveChanged, Record, Reported, SettingsChanged, SpaceVersion, StateChanged, StudyHeader,
                      TestScored)
from .searchers import check_strategy, make_searcher
from .space import SearchSpace, space_changes
from .spec import Settings, StudySpec, load_raw, load_spec
from .storage import (BEST_NAME, CHECKPOINT_EVERY, JOURNAL_NAME, SNAPSHOT_NAME, Journal, StudyLock,
                      StudyLog, is_study_dir, load_checkpoint, save_checkpoint, save_config, scan_journal,
                      sound_records, write_atomic, writer_pid)
from .storage.layout import planted
from .study_text import study_text
from .trial import Trial

T = TypeVar("T")
RUNS_DIR = Path("runs")
MAX_STEM = 80  # characters of the study name in its default directory name (300 would not fit)


class StudyWriteError(TunerError):
    """The study directory could not be written (disk full, I/O error): the run stopped; the message says
    what failed, how many trials the journal keeps, and how to resume. The CLI and the app show it as is."""


class TestScore:
    """Scores the final config on the held-out test split, in a worker like any trial (picklable)."""

    def __init__(self, objective) -> None:
        self.objective = objective
        self.metric = objective.metric

    def prepare(self) -> None:
        prepare = getattr(self.objective, "prepare", None)
        if prepare:
            prepare()

    def __call__(self, params: dict, trial: Trial):
        return self.objective.test_score(params, trial.seed)

    @property
    def code_folder(self) -> str | None:
        return getattr(self.objective, "code_folder", None)

    def moved(self, old: str, new: str) -> "TestScore":
        """The same score with the objective's code read from `new` instead of `old` (see executors.shipping)."""
        return TestScore(self.objective.moved(old, new))


class Study:
    """A study directory and the engine that fills it."""

    def __init__(self, spec: StudySpec, directory: Path, settings: Settings, log: StudyLog) -> None:
        self.spec = spec
        self.directory = directory
        self.settings = settings
        self.log = log
        self.state = "idle"
        self.engine: Engine | None = None
        self._journal: Journal | None = None
        self._subscribers: list[Callable] = []
        self._best_value: tuple[int, float] | None = None  # (number, value) of the best trial exported
        self._cancelled = False
        self._lock: StudyLock | None = None  # held while this process writes the directory
        self._read_to = (0, 1)  # (byte offset, line number) of the journal the log holds up to
        self._checkpoint_line = 1  # the journal's line the last checkpoint reaches
        self._write_error: str | None = None

    # ---------------------------------------------------------------------------------------------- opening

    @classmethod
    def create(cls, spec: StudySpec, directory: str | Path | None = None, *, space_reason: str = "created",
               **overrides: Any) -> "Study":
        """A new study directory (default `runs/<name>-<time>`); refuses one that already holds a study.
        `space_reason` is why its first space began ("import" for a study brought in from another tool)."""
        directory = Path(directory) if directory else cls.default_directory(spec)
        if _begun(directory):
            raise InputError("already holds a study; resume it with --resume or choose another --study",
                             file=str(directory))
        settings = spec.settings.override(**overrides)
        _searcher(spec, settings)  # a bad --strategy or option is a usage error before anything is written
        log = StudyLog(study_direction(spec.objective), getattr(spec.objective, "balance", None))
        study = cls(spec, directory, settings, log)
        study._take_lock()
        if _begun(directory):  # another process created it between our check and our lock
            study._release_lock()
            raise InputError("already holds a study; resume it with --resume or choose another --study",
                             file=str(directory))
        snapshot = _snapshot_text(spec)
        try:
            write_atomic(directory / SNAPSHOT_NAME, snapshot)
        except OSError as err:
            study._release_lock()
            raise _unwritable(directory / SNAPSHOT_NAME, err) from None
        study._open_journal()
        header = StudyHeader(
            name=spec.name, version=__version__, time=time.time(),
            source=str(spec.path.resolve()) if spec.path else None,
            base_dir=str(spec.base_dir), metric=study_metric(spec.objective),
            direction=study_direction(spec.objective), settings=settings.to_json(),
            balance=study.log.balance.to_json() if study.log.multi else None,
            objective=identity(spec.raw["objective"], spec.objective, spec.base_dir))
        first = SpaceVersion(1, spec.raw["params"], space_reason, [], header.time)
        try:
            size = study._journal.append(header) + study._journal.append(first)
        except OSError as err:
            study._journal.close()
            study._release_lock()
            raise _unwritable(study._journal.path, err) from None
        study._read_to = (size, 3)
        study.log.apply(header)
        study.log.apply(first)
        return study

    @classmethod
    def open(cls, directory: str | Path, *, write: bool = False, resumed_by: StudySpec | None = None,
             **overrides: Any) -> "Study":
        """An existing study directory, replayed from its journal, ready to review or resume.

        `write=True` (`run --resume`) makes this process the directory's writer now, before the journal is
        read: StudyLocked names the pid of another writer. Without it the study is only read (any number of
        readers; see `writer` and `catch_up`), and `run` takes the lock when it starts. With `resumed_by`
        (the study file that resumes it) the study runs that file's objective and executor, and the snapshot's
        objective is neither loaded nor run (see `for_resume`); without it, the snapshot's, found from the
        journal's base_dir (the app shows which before it runs one)."""
        directory = Path(directory)
        if not is_study_dir(directory):
            raise InputError(f"not a study directory (no {JOURNAL_NAME})", file=str(directory))
        lock = _lock(directory) if write else None
        try:
            study = cls._replay(directory, overrides, resumed_by)
        except BaseException:
            lock and lock.release()
            raise
        study._lock = lock
        study._keep_checkpoint()
        return study

    @classmethod
    def _replay(cls, directory: Path, overrides: dict, resumed_by: StudySpec | None) -> "Study":
        """The study as its journal leaves it: from its checkpoint on (when it has a sound one), else whole."""
        checkpoint = load_checkpoint(directory)
        start = (checkpoint.offset, checkpoint.next_line) if checkpoint else (0, 1)
        scan = scan_journal(directory / JOURNAL_NAME, *start, order=checkpoint.order() if checkpoint else None)
        records = sound_records(scan, directory / JOURNAL_NAME)
        header = checkpoint.header if checkpoint else next((r for r in records if isinstance(r, StudyHeader)), None)
        if header is None or header.settings is None or header.base_dir is None:
            raise InputError("journal has no study record (or one without settings and base_dir)",
                             file=str(directory / JOURNAL_NAME))
        base_dir = next((r.base_dir for r in reversed(records) if isinstance(r, ObjectiveChanged)), header.base_dir)
        spec = resumed_by or load_spec(directory / SNAPSHOT_NAME, base_dir=Path(base_dir))
        latest = next((r.settings for r in reversed(records) if isinstance(r, SettingsChanged)), header.settings)
        try:
            settings = Settings(**latest)
        except TypeError as err:  # settings of another version of tui-tuner
            raise InputError(f"the study record's settings cannot be read ({err})",
                             file=str(directory / JOURNAL_NAME)) from None
        if resumed_by is not None:  # where trials run is the file's to say, never the directory's
            settings = replace(settings, dask=resumed_by.settings.dask)
        settings = settings.override(**overrides)
        _searcher(spec, settings)
        direction = study_direction(spec.objective)
        log = checkpoint.log(direction) if checkpoint else StudyLog(direction)
        for record in records:
            log.apply(record)
        if log.spaces:  # the journal is the record: the snapshot is rewritten after it
            spec = _respaced(spec, log.spaces[-1].params)
        else:  # a journal from before space versions: version 1 is the snapshot's space
            params = _snapshot_raw(directory).get("params") if resumed_by else spec.raw["params"]
            log.spaces.append(SpaceVersion(1, params or spec.raw["params"], "created", [], header.time))
        study = cls(spec, directory, settings, log)
        study._read_to = (scan.end, start[1] + len(scan.lines))
        study._checkpoint_line = start[1]
        best = log.best()
        study._best_value = (best.number, best.value) if best else None
        return study

    @classmethod
    def for_resume(cls, spec: StudySpec, directory: str | Path, *, objective_changed: bool = False,
                   **overrides: Any) -> "Study":
        """`run --resume --study DIR`: the study in DIR, taken for writing, going on with `spec`'s objective
        (its code, its folder), never one the directory names; a new one there when DIR holds none yet (a run
        killed before it wrote its first record resumes from nothing instead of failing)."""
        if not _begun(Path(directory)):
            return cls.create(spec, directory, **overrides)
        study = cls.open(directory, write=True, resumed_by=spec, **overrides)
        try:
            study._take_objective(spec, objective_changed)
        except BaseException:
            study._release_lock()
            raise
        return study

    def _take_objective(self, spec: StudySpec, changed: bool) -> None:
        """Check that `spec`'s objective is the one the study's trials ran (its section, folder and code, as
        the study record keeps them): one that is not is refused unless `changed` says it is meant, and is
        then recorded (and the snapshot rewritten) so the next resume compares with it. An imported study ran
        no code of ours: it takes any objective that scores its metrics, in the same directions (one metric
        may go by another name: scikit-learn's cv_results_ call any scorer's "score")."""
        header, file = self.log.header, str(spec.path) if spec.path else None
        snapshot = _snapshot_raw(self.directory).get("objective")
        recorded = header.objective or {"section": snapshot}
        metric, direction = header.metric, header.direction or spec.objective.direction
        theirs = (tuple(metric) if isinstance(metric, list) else (metric,),
                  tuple(direction) if isinstance(direction, list) else (direction,))
        ours, imported = metrics_of(spec.objective), is_imported_section(recorded.get("section"))
        renamed = len(ours[0]) == len(theirs[0]) == 1 and ours[1] == theirs[1]
        if ours != theirs and not renamed:
            def said(metrics: tuple) -> str:
                return ", ".join(f"{m} ({d})" for m, d in zip(*metrics))
            raise InputError(f"must be what the {'imported ' if imported else ''}study's trials were scored on: "
                             f"{said(theirs)}; the file says {said(ours)}", file=file, field="objective.metric")
        if imported and is_imported(spec.objective):
            raise InputError("names no objective to run; an imported study goes on with your own objective "
                             "(objective.python or objective.model)", file=file, field="objective")
        code = identity(spec.raw["objective"], spec.objective, spec.base_dir)
        why = difference(recorded, header.base_dir, code, spec.base_dir)
        if why is None and snapshot is not None and as_json(snapshot) != code["section"]:
            why = f"its {SNAPSHOT_NAME} names another objective"
        if why is None:
            if header.base_dir != str(spec.base_dir):  # the same code, moved: the record says where it is now
                self._as_writer(lambda: self._record(ObjectiveChanged(code, str(spec.base_dir))))
            return
        if not (imported or changed):
            raise InputError(f"is not the objective the study in {self.directory} ran ({why}; it ran "
                             f"{describe(recorded.get('section'), header.base_dir)}); to go on with this file's, "
                             "add --objective-changed", file=file, field="objective")
        self._as_writer(lambda: self._record(ObjectiveChanged(code, str(spec.base_dir))))
        try:
            write_atomic(self.directory / SNAPSHOT_NAME, _snapshot_text(self.spec))
        except OSError as err:
            raise _unwritable(self.directory / SNAPSHOT_NAME, err) from None

    def record_imported(self, records: Iterable[JournalRecord]) -> None:
        """Journal the trials of another tool's study into this new one (`create` left it held), write
        best.json, and let go of the directory. A write error is a StudyWriteError. Records are synced in
        batches and once at the end, not one fsync each (60,000 rows took 600 s): until this returns the
        directory is no study anyone ran, and a failed import is removed."""
        try:
            for record in records:
                self._record(record, durable=False)
                if self._write_error is not None:
                    raise StudyWriteError(self._write_error)
            self._update_best()
            if self._write_error is not None:
                raise StudyWriteError(self._write_error)
        finally:
            self._journal.close()
            self._journal = None
            self._release_lock()

    @staticmethod
    def writer(directory: str | Path) -> int | None:
        """The pid of the process writing this study directory now, None when none does. A study another
        process writes can be opened and watched (`catch_up`), not run."""
        return writer_pid(directory)

    def catch_up(self) -> list[JournalRecord]:
        """Apply the records another process appended to the journal since this study last read it (the
        app watching a study written elsewhere; cheap when there are none); returns them."""
        path = self.directory / JOURNAL_NAME
        scan = scan_journal(path, *self._read_to, order=self.log.order())
        records = sound_records(scan, path)
        for record in records:
            self.log.apply(record)
            if isinstance(record, SpaceVersion):
                self.spec = _respaced(self.spec, record.params)
        self._read_to = (scan.end, self._read_to[1] + len(scan.lines))
        return records

    @staticmethod
    def default_directory(spec: StudySpec) -> Path:
        """`runs/<name>-<time>` (the name cut to 80 characters), one not taken yet."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = RUNS_DIR / f"{_directory_stem(spec.name)}-{stamp}"
        n = 2
        while path.exists():
            path = RUNS_DIR / f"{_directory_stem(spec.name)}-{stamp}-{n}"
            n += 1
        return path

    @classmethod
    def latest(cls, spec: StudySpec) -> Path | None:
        """The newest study directory of this study under runs/, for `--resume` without `--study`."""
        dirs = sorted(p for p in RUNS_DIR.glob(f"{_directory_stem(spec.name)}-*") if is_study_dir(p))
        return dirs[-1] if dirs else None

    # ------------------------------------------------------------------------------------------------ running

    def subscribe(self, callback: Callable[[Record], None]) -> None:
        """`callback(record)` after the journal and the log have taken it (StateChanged and Notice: news for
        the screen only, never journaled)."""
        self._subscribers.append(callback)

    def _keep_checkpoint(self) -> None:
        """As the writer, checkpoint the log when the journal has grown enough since the last checkpoint (a
        study of 100,000 trials then opens in a fraction of a second). A checkpoint that cannot be written
        costs only that speed."""
        if self._lock is None or self._read_to[1] - self._checkpoint_line < CHECKPOINT_EVERY:
            return
        with contextlib.suppress(OSError):
            save_checkpoint(self.directory, self.log, *self._read_to)
            self._checkpoint_line = self._read_to[1]

    def _take_lock(self) -> None:
        if self._lock is None:
            self._lock = _lock(self.directory)

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _open_journal(self) -> None:
        try:
            self._journal = Journal(self.directory / JOURNAL_NAME)
        except OSError as err:
            self._release_lock()
            raise _unwritable(self.directory / JOURNAL_NAME, err) from None

    def _record(self, record: JournalRecord, *, durable: bool = True) -> None:
        """Journal first, then the log and the subscribers: what the screen shows is what the journal holds.
        After a write error nothing more is recorded (see `_write_failed`). Reports, and every record with
        `durable=False`, are fsync'd in batches."""
        if self._write_error is not None:
            return
        try:
            size = self._journal.append(record, durable=durable and not isinstance(record, Reported))
        except OSError as err:
            self._write_failed(self._journal.path, err)
            return
        self._read_to = (self._read_to[0] + size, self._read_to[1] + 1)
        self.log.apply(record)
        for callback in self._subscribers:
            callback(record)

    def _write_failed(self, path: Path, err: OSError) -> None:
        """A write error stops the study as Ctrl+C twice would: no new trial, running ones killed (their
        results could not be kept); `run` then raises StudyWriteError with the resume command."""
        done = sum(self.log.count(state) for state in ("finished", "failed", "pruned"))
        self._write_error = (f"cannot write {path}: {err.strerror or err}; the run stopped; {done} trials are "
                             f"safe in the journal; resume with: tui-tuner run "
                             f"{self._source()} --resume --study {self.directory}")
        if self.engine is None or self.engine.state in ("idle", "finished"):  # no trial is running
            raise StudyWriteError(self._write_error)
        asyncio.get_running_loop().call_soon(self.cancel)  # not from inside the engine's own callback

    def _source(self) -> str:
        """The study file a resume command names: the one the study was made from, if it is still there."""
        source = self.log.header.source or (str(self.spec.path) if self.spec.path else None)
        return source if source and Path(source).is_file() else str(self.directory / SNAPSHOT_NAME)

    def _on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, (StateChanged, Notice)):
            if isinstance(event, StateChanged):
                self.state = event.state
            for callback in self._subscribers:  # news for the screen, not the journal
                callback(event)
            return
        self._record(event)
        if isinstance(event, Finished):
            self._update_best()

    async def run(self, *, search: bool = True, manual: Iterable[tuple[dict, int | None]] = (),
                  review: Callable | None = None) -> None:
        """Run, or resume, until the budget is spent or the study is stopped; then score the best on test.

        `manual` (params, seed or None) run first; with `search=False` only they run (the app's manual trial
        on an idle study). `review(params, predicted)` (the app's review mode) is awaited for each
        suggestion and returns the config to run, or None to skip it.

        Takes the directory's lock first (StudyLocked, before any trial, if another process writes it) and
        catches up with what was appended since the study was opened; releases it when the run ends."""
        if self._lock is None:
            self._take_lock()
            try:
                self.catch_up()
            except BaseException:
                self._release_lock()
                raise
        self._keep_checkpoint()
        if self._journal is None:
            self._open_journal()
        self._write_error = None
        try:
            await self._run(search, manual, review)
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._write_error is None:
                self._keep_checkpoint()
            self._release_lock()
        if self._write_error:
            raise StudyWriteError(self._write_error)

    async def _run(self, search: bool, manual: Iterable[tuple[dict, int | None]], review: Callable | None) -> None:
        interrupted = [r for r in self.log.records.values() if r.state in ("running", "interrupted")]
        for rec in interrupted:
            if rec.state == "running":
                self._record(Interrupted(rec.number))
        metric = study_metric(self.spec.objective)  # a pruned trial is told its last value of it (one metric)
        history = [PastTrial(r.number, r.params, pruned_at(r.pruned_step, r.reports, metric)
                             if r.state == "pruned" and isinstance(metric, str) else r.result,
                             r.manual, r.space_version)
                   for r in sorted(self.log.records.values(), key=lambda r: r.number)
                   if r.state in ("finished", "failed", "pruned")]
        s = self.settings
        remaining = None if s.trials is None else max(0, s.trials - sum(not t.manual for t in history))
        if not search:
            remaining = 0
        version = self.log.space_version
        searcher = _searcher(self.spec, s, version)
        manual = list(manual)
        executor, note = make_executor(dask=s.dask, workers=s.workers, trial_memory=s.trial_memory,
                                       trials_left=None if remaining is None else remaining + len(manual),
                                       directory=self.directory,
                                       code_folder=getattr(self.spec.objective, "code_folder", None))
        try:
            opened = await executor.open()  # before the engine: a cluster's size is its default number of workers
        except BaseException:
            await executor.close()
            raise
        for line in filter(None, (getattr(self.spec.objective, "note", None), note, opened)):  # the objective's
            for callback in self._subscribers:  # (steps it chose), then ours: news for the screen, not the journal
                callback(Notice(line))
        self.engine = Engine(self.spec.objective, searcher, executor, trials=remaining, time_budget=s.time_budget,
                             trial_timeout=s.trial_timeout, seed=s.seed, history=history, pruner=self._pruner(),
                             rerun=[PastTrial(r.number, r.params, None, r.manual, r.space_version)
                                    for r in interrupted],
                             replay_draws=(self.log.header.settings or {}).get("strategy") == s.strategy,
                             space_version=version, review=review, ask_share=s.ask_share)
        if s.to_json() != self.log.header.settings:
            self._record(SettingsChanged(s.to_json()))
        self.engine.subscribe(self._on_engine_event)
        for params, seed in manual:
            self.engine.run_config(params, seed)
        self._cancelled = False
        try:
            await self.engine.run()
            if not self._cancelled:
                await self._score_test(executor)
        finally:
            await executor.close()

    def new_searcher(self):
        """A fresh searcher of the study's strategy and options (the app fits one to predict when idle)."""
        return _searcher(self.spec, self.settings, self.log.space_version)

    def _pruner(self):
        """The study's pruner, knowing the curves of the trials already run (a resumed study prunes alike)."""
        pruner = make_pruner(self.spec.pruner, self.spec.objective.metric, self.spec.objective.direction)
        if pruner is not None:
            for rec in sorted(self.log.records.values(), key=lambda r: r.number):
                if rec.state in ("finished", "pruned") or (rec.state == "failed" and pruner.ordered):
                    for step, values in rec.reports:  # (ordered, a failed trial's reports stand as in its run)
                        pruner.take(rec.number, step, values)
        return pruner

    async def _score_test(self, executor: Executor) -> None:
        """The held-out test score, once, for the final best config; searchers never see it."""
        best = self.log.best()
        if best is None or not hasattr(self.spec.objective, "test_score"):
            return
        if self.log.test and self.log.test.number == best.number:
            return
        outcome = await executor.run(TestScore(self.spec.objective), best.params, number=best.number,
                                     seed=best.seed, timeout=self.settings.trial_timeout, on_report=None)
        if outcome.state == "finished" and outcome.result is None:
            return  # the objective has no test split (test_fraction: 0, or no test function)
        value, error = None, outcome.reason
        if outcome.state == "finished":
            try:
                value, _ = value_of(outcome.result, self.spec.objective.metric)
            except ValueError as err:
                error = str(err)
        self._record(TestScored(best.number, value, error, self.spec.objective.metric))
        if value is not None:
            self._update_best()

    def pause(self) -> None:
        self.engine and self.engine.pause()

    def resume(self) -> None:
        self.engine and self.engine.resume()

    def stop(self) -> None:
        self.engine and self.engine.stop()

    def cancel(self) -> None:
        """Abandon running trials (recorded interrupted; a resume runs them again) and skip the test score."""
        self._cancelled = True
        self.engine and self.engine.cancel()

    def run_config(self, params: dict, seed: int | None = None) -> None:
        """A manual trial on the running study (an idle one: `run(search=False, manual=...)`)."""
        if self.engine is None or self.engine.state == "finished":
            raise TunerError("the study is not running")
        self.engine.run_config(params, seed)

    def note(self, text: str, number: int | None = None) -> None:
        """Keep a note on trial `number`, or on the study (None), in the journal: what the user learnt, next
        to the trial it is about (the trials table shows the latest; an empty text clears it). A running
        study writes it like any event; an idle one becomes the writer for the one append, so a study another
        process writes refuses it (StudyLocked, naming that process)."""
        if not isinstance(text, str):
            raise InputError(f"a note is text, not {type(text).__name__}")

        def keep() -> None:
            self._check_noted(number)
            self._record(Note(number, text))

        self._as_writer(keep)

    def change_space(self, params: dict, reason: str) -> list[str]:
        """Go on searching `params` (a study file's `params:` mapping) as the next version of the space;
        returns what changed, one line each ([] and nothing written when the space is the same).

        The version is journaled with `reason` (one of SPACE_REASONS) and its changes, the snapshot rewritten
        and the spec replaced; a running study draws its next trials from it at once, with a fresh searcher
        told the trials so far that fit it. A bad space is an InputError naming the field; an idle study
        becomes the writer for the one append, as `note` does (StudyLocked when another process writes)."""
        if reason not in SPACE_REASONS:
            raise ValueError(f"a space changes for one of {SPACE_REASONS}, not {reason!r}")
        spec = _respaced(self.spec, params)
        _searcher(spec, self.settings)  # a strategy option the new space refuses (a grid too large, ...)
        return self._as_writer(lambda: self._change_space(spec, reason))

    def _change_space(self, spec: StudySpec, reason: str) -> list[str]:
        changes = space_changes(self.spec.space, spec.space)
        if not changes:
            return []
        version = self.log.space_version + 1
        self._record(SpaceVersion(version, spec.raw["params"], reason, changes))
        if self._write_error is None:
            try:
                write_atomic(self.directory / SNAPSHOT_NAME, _snapshot_text(spec))
            except OSError as err:
                self._write_failed(self.directory / SNAPSHOT_NAME, err)
        if self._write_error is not None:
            raise StudyWriteError(self._write_error)
        self.spec = spec
        if self.engine is not None and self.engine.state not in ("idle", "finished"):
            self.engine.change_space(_searcher(spec, self.settings, version), version)
        return changes

    def _as_writer(self, action: Callable[[], T]) -> T:
        """Run `action`, which records: on a running study as it is; on an idle one as the directory's writer
        for it (StudyLocked naming another writer), caught up with the journal first."""
        if self._journal is not None:
            return action()
        took_lock = self._lock is None
        self._take_lock()
        try:
            self.catch_up()
            self._open_journal()
            self._write_error = None  # an earlier failed write stopped that run, not this record
            try:
                return action()  # a write error raises StudyWriteError: no trial runs
            finally:
                self._journal.close()
                self._journal = None
        finally:
            if took_lock:
                self._release_lock()

    def _check_noted(self, number: int | None) -> None:
        if number is not None and (type(number) is not int or number not in self.log.records):
            raise InputError(f"no trial {number!r} in this study to note", file=str(self.directory))

    # -------------------------------------------------------------------------------------------------- results

    @property
    def test_score(self) -> float | None:
        best = self.log.best()
        if self.log.test and best and self.log.test.number == best.number:
            return self.log.test.value
        return None

    def _update_best(self) -> None:
        best = self.log.best()
        if best is None:
            return
        if (best.number, best.value) != self._best_value or self.test_score is not None:
            self._best_value = (best.number, best.value)
            try:
                self.export(self.directory / BEST_NAME)
            except OSError as err:
                self._write_failed(self.directory / BEST_NAME, err)

    def export(self, path: str | Path) -> Path:
        """Write the best config per the best-config contract, with what makes it reproducible."""
        best = self.log.best()
        if best is None:
            raise TunerError("no finished trial yet: nothing to export")
        meta = {
            "study": self.spec.name, "trial": best.number, "trial_seed": best.seed,
            "strategy": self.settings.strategy, "seed": self.settings.seed,
            "study_dir": str(self.directory), "metrics": best.metrics,
        }
        if self.test_score is not None:
            meta["test_value"] = self.test_score
        if self.log.multi:  # value, metric and direction stay the first metric's: what load_config reads
            metrics, directions = metrics_of(self.spec.objective)
            meta.update(values=dict(zip(metrics, best.values)), directions=dict(zip(metrics, directions)),
                        balance=self.log.balance.to_json())
        return save_config(path, params=best.params, value=best.value, metric=self.spec.objective.metric,
                           direction=self.spec.objective.direction,
                           fixed=getattr(self.spec.objective, "fixed", None), **meta)


def _snapshot_text(spec: StudySpec) -> str:
    """The study as it runs, in the words of its file: the app may have edited the space since the file was
    saved, and a resumed or reopened study must see what ran, not what is on disk."""
    try:
        original = spec.path.read_text(encoding="utf-8") if spec.path else None
    except (OSError, UnicodeDecodeError):
        original = None
    return study_text(spec.raw, original)


def _snapshot_raw(directory: Path) -> dict:
    """The snapshot's sections as data (nothing built, nothing it names read); {} when it is unreadable."""
    try:
        raw = load_raw(directory / SNAPSHOT_NAME)
    except InputError:
        return {}
    return raw if isinstance(raw, dict) else {}


def _directory_stem(name: str) -> str:
    """The study name as the start of its directory name, cut so the whole name fits any file system."""
    return name[:MAX_STEM]


def _begun(directory: Path) -> bool:
    """The directory's journal holds at least one whole record (an empty or torn-only one is a study killed
    before it began, which a new start may take over). A journal that is a link, a fifo or a device is
    refused, never read (a fifo would hang, /dev/zero never end)."""
    try:
        fd = open_regular(directory / JOURNAL_NAME, follow=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except NotRegularFile as err:
        raise InputError(f"is {err.kind}, not a journal; a study's journal is a regular file of its own",
                         file=str(directory / JOURNAL_NAME)) from None
    except OSError:
        return True  # unreadable: never taken over; opening it says why
    with os.fdopen(fd, "rb") as f:
        return any(b"\n" in block for block in iter(lambda: f.read(1 << 16), b""))


def _lock(directory: Path) -> StudyLock:
    """Become the directory's one writer, or raise StudyLocked naming the pid of the one there is."""
    try:
        return StudyLock(directory)
    except OSError as err:
        raise _unwritable(directory, err) from None


def _unwritable(path: Path, err: OSError) -> TunerError:
    """A study directory we cannot write before the study starts: a permission is the user's to fix (exit 2);
    a full disk or an I/O error is not (exit 1)."""
    if isinstance(err, NotRegularFile):  # planted since the directory was checked
        return planted(Path(err.filename), err.kind)
    message = f"cannot write: {err.strerror or err}"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return InputError(message, file=str(path))
    return StudyWriteError(f"{path}: {message}")


def _searcher(spec: StudySpec, settings: Settings, version: int = 1):
    """The study's searcher over version `version` of its space; a later version draws from its own seed,
    so a random search does not repeat the first version's draws in the new space."""
    check_strategy(settings.strategy, settings.strategy_options)
    seed = settings.seed if version == 1 else int(np.random.SeedSequence([settings.seed, version]).generate_state(1)[0])
    return make_searcher(settings.strategy, spec.space, seed=seed, direction=study_direction(spec.objective),
                         **settings.strategy_options)


def _respaced(spec: StudySpec, params: Any) -> StudySpec:
    """`spec` searching `params` instead, checked as a study file's params are (InputError naming the field)."""
    if not isinstance(params, dict) or not params:
        raise InputError("needs at least one parameter to tune", field="params")
    try:
        space = SearchSpace.from_dict(params)
    except InputError as err:
        raise err.located(field_prefix="params") from None
    if space == spec.space:
        return spec
    check = getattr(spec.objective, "check_params", None)
    if check:
        check(list(space.names), file=None)
    return replace(spec, raw={**spec.raw, "params": params}, space=space)

