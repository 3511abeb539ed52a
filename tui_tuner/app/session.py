"""The app's study without the screen: which Study runs, its run's state and clock, what changed since the
screen last looked, and the model that predicts a hand-made config.

No Textual here, so this is testable without a screen and the app file holds only widgets, keys and
dialogs. Entry points return what to tell the user (or raise the TunerError to show); the app notifies.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, TunerError
from ..objectives.identity import describe, is_imported_section
from ..objectives.imported import is_imported
from ..outputs import writing
from ..records import Notice, Record, SpaceVersion, StateChanged, trial_number
from ..searchers import SEARCHERS
from ..searchers.base import Predictor
from ..storage import StudyLog, TrialRecord, is_study_dir, load_config
from ..study import Study
from .document import StudyDocument
from .ranking import finished_copy, ranked

RANK_SECONDS = 1.0  # several metrics: the Pareto ranking is redone at most this often (off the event loop)
ENDED = ("finished", "failed", "pruned")


def budget_spent(log: StudyLog) -> int:
    """Trials that count against the budget: ended ones the searcher proposed (manual trials are extra)."""
    return sum(log.count(state, manual=False) for state in ENDED)  # kept counts: asked every 0.25 s


@dataclass
class Opened:
    """What a path typed after `o` held: a study file or directory to show, or a best config to run by hand."""

    message: str
    document: StudyDocument | None = None
    study: Study | None = None
    config: dict | None = None
    source: str = ""


class StudySession:
    """The edited document and the Study it runs, the current run's state, and the event bookkeeping the
    screen flushes: `changed` trial numbers and `status_changed`, taken (and cleared) by the app."""

    def __init__(self, document: StudyDocument, study: Study | None = None,
                 on_notice: Callable[[str], None] = lambda text: None) -> None:
        self._on_notice = on_notice  # news from a run that is not kept in the journal (fewer workers than asked)
        self.changed: set[int] = set()
        self.status_changed = True
        self.running = False
        self.run_started: float | None = None
        self.run_ended: float | None = None  # the clock stops here
        self.stopped_by_user = False
        self.done_at_start = 0
        self.view: StudyLog | None = None  # several metrics: the finished trials ranked, see ranking.py
        self.ranking = False  # a ranking is being made
        self.ranked_at = 0.0
        self._predictor_cache: tuple | None = None  # (study, finished count, space version, searcher)
        self._timing: tuple | None = None  # ((engine, finished, asks), median ask s, median trial s or None)
        self._space_reason = "edit"  # why the document's space differs from the study's: "lr-find" after a/w
        self._writer: int | None = None  # the process writing the study when last looked (follow)
        self.document, self.study, self._study_key = document, None, None
        self.open(document, study)

    # ------------------------------------------------------------------------------------------ which study

    def open(self, document: StudyDocument, study: Study | None) -> None:
        """Edit `document` from now on, and show `study` (a study directory opened to review or resume)."""
        self.document, self.study = document, study
        self._study_key = _objective_key(document) if study else None
        self._code_seen = study is None  # a study directory names the code its runs run: asked first
        if study is not None:
            self._follow_events(study)
        self.run_started = None
        self.status_changed = True

    def code_question(self) -> str | None:
        """Before the first run from a study directory opened here: the code it would run, which the directory
        named (one copied from elsewhere is code like any script), as a question; None once the person said
        yes (`code_seen`), or for a study file opened or a study made here."""
        objective = self.document.raw.get("objective")
        if self._code_seen or is_imported_section(objective):  # an imported study's runs nothing (it says so)
            return None
        where = f" on the dask cluster at {self.study.settings.dask}" if self.study.settings.dask else ""
        return (f"Run {describe(objective, self.document.base_dir)}{where}? The study directory "
                f"{self.study.directory} names this code, and it runs as you.")

    def code_seen(self) -> None:
        self._code_seen = True

    def study_for_run(self) -> tuple[Study, bool]:
        """The current study when its objective is unchanged since it began (an edited space becomes its next
        version, said through `on_notice`), else a new one (then True). InputError when the document has a
        mistake, TunerError when the study cannot be created or its space changed."""
        spec = self.document.spec()
        if self.study is not None and self._study_key == _objective_key(self.document):
            if is_imported(spec.objective):  # its trials ran elsewhere: nothing of ours to run them with
                raise TunerError(f"this study was imported and has no objective of its own: go on with "
                                 f"tui-tuner run STUDY_FILE --resume --study {self.study.directory} (STUDY_FILE "
                                 f"naming your objective)")
            self.study.settings = spec.settings
            self._change_space()
            return self.study, False
        study = Study.create(spec)
        self.study, self._study_key, self._space_reason = study, _objective_key(self.document), "edit"
        self._follow_events(study)
        return study, True

    def space_edited(self, reason: str = "edit") -> None:
        """The document's space changed (the space pane, or "lr-find": the LR finder's range). A running study
        goes on over it at once (said through `on_notice`); an idle one takes it on the next run. A TunerError
        (a space the study refuses, another writer) says why the study's space stays."""
        self._space_reason = reason
        if self.running and self._study_key == _objective_key(self.document):
            self._change_space()

    def _change_space(self) -> None:
        changes = self.study.change_space(self.document.params, self._space_reason)
        self._space_reason = "edit"
        if changes:
            self.status_changed = True
            self._on_notice(f"space version {self.study.log.space_version}: {'; '.join(changes)}")

    def space_history(self) -> list[tuple[SpaceVersion, int]]:
        """Each version of the study's space, oldest first, with how many trials were drawn from it."""
        log = self.study.log if self.study else None
        return [(version, log.drawn_from(version.version)) for version in log.spaces] if log else []

    def _follow_events(self, study: Study) -> None:
        study.subscribe(self._on_study_event)
        self.view, self.ranked_at = None, 0.0

    def read_only_text(self) -> str | None:
        """What to say when another process writes the study: here it is watched, not run."""
        writer = Study.writer(self.study.directory) if self.study else None
        if writer in (None, os.getpid()):
            return None
        return (f"read-only: process {writer} is writing this study; its trials appear here as they come, and it "
                "can run here once that process ends")

    def open_path(self, text: str) -> Opened:
        """Read what the user typed after `o`: a study directory, a best-config file or a study file; the
        InputError names the file when it is none of them."""
        path = Path(text).expanduser()
        if not text or not path.exists():
            raise InputError("no such file or directory", file=text or "''")
        if path.is_dir():
            if not is_study_dir(path):
                raise InputError("not a study directory (no journal.jsonl)", file=str(path))
            study = Study.open(path)
            document = StudyDocument.from_spec(study.spec, Path.cwd() / f"{study.spec.name}.yaml", study.settings)
            return Opened(f"opened study {path}: {len(study.log.records)} trials", document, study)
        if path.suffix == ".json" and _is_best_config(path):
            config = load_config(path, self.document.space())
            return Opened(f"loaded {path}", config=config, source=path.name)
        return Opened(f"opened {path}", StudyDocument.load(path))

    # ------------------------------------------------------------------------------------------ running

    def out_of_budget(self) -> bool:
        """The current study has run all its trials: it runs on only with a bigger budget."""
        study = self.study
        return study.settings.trials is not None and budget_spent(study.log) >= study.settings.trials

    def run(self, study: Study, **run_options) -> Awaitable[None]:
        """Start the clock now and return the run to await (the app hands it to a worker, so `running` is
        already true when the key press returns)."""
        self.running = True
        self.run_started, self.run_ended, self.stopped_by_user = time.monotonic(), None, False
        self.done_at_start = budget_spent(study.log)
        return self._run(study, run_options)

    async def _run(self, study: Study, run_options: dict) -> None:
        try:
            await study.run(**run_options)
        finally:
            self.running = False
            self.run_ended = self.run_ended or time.monotonic()
            self.status_changed = True

    def test_score_text(self) -> str | None:
        """After a run: the best trial's validation value beside its held-out test score, when there is one."""
        best = self.best()
        study = self.study
        if best is None or study.test_score is None:
            return None
        return (f"best trial #{best.number}: {study.spec.objective.metric} {best.value:.6g} (validation), "
                f"{study.test_score:.6g} on the held-out test split")

    def pause(self) -> str | None:
        """Pause, or continue a paused run; None when no run is under way."""
        engine = self.study.engine if self.study else None
        if engine is None or not self.running:
            return None
        if engine.state == "paused":
            engine.resume()
            return "resumed"
        engine.pause()
        return "paused: running trials go on, no new ones start (p to continue)"

    def stop(self) -> str | None:
        """Let running trials finish and start no new ones; None when no run is under way."""
        if not (self.study and self.running):
            return None
        self.stopped_by_user = True
        self.study.stop()
        return "stopping: running trials finish"

    def cancel(self) -> None:
        """Quitting mid-run: the running trials are ended and recorded interrupted."""
        self.stopped_by_user = True
        self.study.cancel()

    def queue_manual(self, params: dict, seed: int | None) -> bool:
        """Hand a config to the running engine (TunerError when it refuses it); False when no run is under
        way, and the caller starts one with `manual=[(params, seed)]`."""
        if not (self.running and self.study and self.study.engine):
            return False
        self.study.run_config(params, seed)
        return True

    def note(self, text: str, number: int | None) -> str:
        """Keep (or clear, with empty text) a note on trial `number`, or on the study when None."""
        self.study.note(text, number)  # StudyLocked or a write error: the caller shows it
        if number is not None:
            self.changed.add(number)
        about = f"trial #{number}" if number is not None else "the study"
        return f"note on {about} kept in the journal" if text else f"note on {about} cleared"

    def export(self, path: str) -> str:
        """Write the best config to `path`: a regular file or a new one, never a file of a study directory
        (a TunerError the prompt shows says why not)."""
        with writing(Path(path), None, study=self.study.directory):
            return f"best config written to {self.study.export(path)}"

    # ------------------------------------------------------------------------------------------ events

    def _on_study_event(self, record: Record) -> None:
        if isinstance(record, Notice):  # e.g. fewer workers than asked: said once, not kept in the journal
            self._on_notice(record.text)
            return
        if isinstance(record, StateChanged) and record.state == "finished":
            self.run_ended = time.monotonic()
        number = trial_number(record)
        if number is not None:
            self.changed.add(number)
        self.status_changed = True

    def follow(self) -> None:
        """Take in what another process appended to the study's journal since the last look (read-only), and
        notice when that process stops writing (the status line says read-only until then, not after)."""
        writer = Study.writer(self.study.directory)
        if writer != self._writer:
            self._writer, self.status_changed = writer, True
        try:
            new = self.study.catch_up()
        except TunerError:  # a damaged line: the screen keeps what it has; opening the study names the line
            return
        self.changed.update(n for n in map(trial_number, new) if n is not None)
        self.status_changed = self.status_changed or bool(new)

    def take_changed(self) -> set[int]:
        """The trial numbers changed since the last call."""
        changed, self.changed = self.changed, set()
        return changed

    def take_status_changed(self) -> bool:
        """Whether the status line changed since the last call."""
        changed, self.status_changed = self.status_changed, False
        return changed

    # ------------------------------------------------------------------------------------------ several metrics

    def ranking_due(self) -> StudyLog | None:
        """Several metrics: a copy of the finished trials to rank again (in a thread, `rank`) when some
        finished since the last ranking, at most every RANK_SECONDS; None when not due."""
        log = self.study.log
        current = self.view is not None and len(self.view.records) == log.count("finished")
        if self.ranking or current or time.monotonic() < self.ranked_at + RANK_SECONDS:
            return None
        self.ranking = True
        return finished_copy(log)

    async def rank(self, study: Study, copy: StudyLog) -> bool:
        """Rank `copy` off the event loop (about a second at 10,000 trials of three metrics); True when it
        became the view, False when another study was opened meanwhile."""
        try:
            view = await asyncio.to_thread(ranked, copy)
        finally:
            self.ranking = False
            self.ranked_at = time.monotonic()
        if study is not self.study:
            return False
        self.view = view
        self.status_changed = True
        return True

    def best(self) -> TrialRecord | None:
        """The best trial; with several metrics the balance's pick in the latest ranking (never made here)."""
        log = self.study.log
        if log.multi:
            return self.view.best() if self.view is not None else None
        return log.best()

    # ------------------------------------------------------------------------------------------ status

    def state_word(self) -> str:
        """running / paused / stopping while the engine runs; after it, or for a study directory opened to
        review: finished when its budget is spent (or its run ended on its own), else stopped."""
        study = self.study
        if self.running and study.state != "finished":
            return study.state
        writer = Study.writer(study.directory)
        if writer not in (None, os.getpid()):
            return f"read-only: pid {writer} writes it" if writer else "read-only: another process writes it"
        if self.out_of_budget() or (study.state == "finished" and not self.stopped_by_user):
            return "finished"
        return "stopped"

    def elapsed(self) -> float | None:
        """Seconds the current run has taken, frozen once it ends; None before the first run."""
        if self.run_started is None:
            return None
        return (self.run_ended or time.monotonic()) - self.run_started

    def timing_text(self) -> list[str]:
        """Median ask time beside median trial time (a searcher should cost little next to a trial), when the
        bayes model was capped to a subsample of the trials, and first what the overhead governor did (the
        searcher held to less effort); each piece shown if the line has room."""
        engine = self.study.engine
        if engine is None or not engine.ask_seconds:
            return []
        log = self.study.log
        key = (id(engine), log.count("finished"), len(engine.ask_seconds))
        if self._timing is None or self._timing[0] != key:  # medians of 10,000 trials: not every 0.25 s
            durations = [r.duration for r in log.finished() if r.duration is not None]
            self._timing = (key, statistics.median(engine.ask_seconds),
                            statistics.median(durations) if durations else None)
        _, ask, trial = self._timing
        pieces = [f"ask {ask * 1000:.2g} ms"]
        if trial is not None:
            pieces.append(f"trial {trial:.2g} s")
        used, known = getattr(engine.searcher, "points_used", 0), getattr(engine.searcher, "points_known", 0)
        if used and used < known:  # the last fit left trials out (past max_points, or held by the governor)
            pieces.insert(0, f"GP on {used} of {known}")
        if engine.governor_note:
            pieces.insert(0, engine.governor_note)
        return pieces

    def file_budget(self) -> int | None:
        """The trial budget of the file being edited; None while it has a mistake (the pane shows which)."""
        try:
            return self.document.spec().settings.trials
        except InputError:
            return None

    # ------------------------------------------------------------------------------------------ predictions

    def predictor(self) -> Callable[[dict], tuple[float, float]] | None:
        """`config -> (mean, std)` from the study's model: the running searcher's, or one fitted to the
        journal's trials when the study is idle and its strategy predicts (bayes), refitted only when the
        study or its finished count changed; None otherwise."""
        study = self.study
        if study is None:
            return None
        searcher = study.engine.searcher if study.engine else None
        if not isinstance(searcher, Predictor):
            if not issubclass(SEARCHERS.get(study.settings.strategy, object), Predictor):
                return None
            finished = study.log.finished()
            key = (study, len(finished), study.log.space_version)
            if self._predictor_cache is None or self._predictor_cache[:3] != key:
                searcher = study.new_searcher()
                for record in finished:
                    fitted = searcher.space.fit(record.params)  # a trial of another version of the space
                    if fitted is not None:
                        searcher.tell(fitted, record.value)
                self._predictor_cache = (*key, searcher)
            searcher = self._predictor_cache[3]

        def predict(config: dict) -> tuple[float, float]:
            mean, std = searcher.predict([config])
            return float(mean[0]), float(std[0])
        return predict


def _objective_key(document: StudyDocument) -> str:
    """What makes a study the same study: its objective (its space may change, version by version)."""
    return json.dumps(document.raw.get("objective"), sort_keys=True, default=str)


def _is_best_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "params" in data and "metric" in data
