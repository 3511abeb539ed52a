"""The tuner app: edit a space, pick a strategy, run the study, watch the leaderboard and curves, tune by
hand, export the best config.

The app drives a `Study` (the same class `tui-tuner run` uses) on its event loop through a `StudySession`
(session.py: which study runs, its state, what changed), and keeps only widgets, keys and dialogs here;
trials run in worker processes. Study events are collected as they come and shown in batches
(`FLUSH_SECONDS`), so thousands of trials never flood the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from .. import lr_finder
from ..errors import InputError, TunerError
from ..executors.pool import ProcessExecutor, start_process_machinery
from ..objectives import study_metric
from ..options import whole_from_text
from ..storage import StudyLog, trial_log_path
from ..study import Study
from ..terminal import safe_text
from .document import StudyDocument
from .screens.help import HelpScreen
from .screens.lr_finder import LrFinderScreen
from .screens.manual import ManualTrial
from .screens.param_form import ParamForm
from .screens.prompt import Confirm, PathPrompt
from .screens.review import ReviewSuggestion
from .screens.space_history import SpaceHistory
from .screens.trial_detail import TrialDetail
from .session import StudySession
from .widgets.curves import STUDY_TABS, Curves
from .widgets.leaderboard import Leaderboard
from .widgets.row_table import RowTable
from .widgets.space_pane import SpacePane, SpaceTable
from .widgets.status import StudyStatus
from .widgets.strategy_pane import StrategyPane

FLUSH_SECONDS = 0.25  # how often study events reach the screen
CURVE_SECONDS = 0.5  # the plots redraw at most this often
STUDY_PLOT_SECONDS = 5.0  # plots of every trial (history, parallel, contour...): at most this seldom, reached
# at 10,000 trials (a redraw there takes 50-100 ms of the event loop)
PANES = ("space", "strategy", "board", "curves")
NARROW = (100, 30)  # below this width or height, one pane at a time


class TunerApp(App):
    CSS_PATH = "tuner.tcss"
    TITLE = "tui-tuner"
    BINDINGS = [  # help and quit first: an 80-column footer cuts off the end of the list
        Binding("question_mark", "help", "help", tooltip="Show every key"),
        Binding("q", "quit_app", "quit", tooltip="Quit (asks first while trials run)"),
        Binding("r", "run", "run/resume", tooltip="Run the study, or resume it"),
        Binding("p", "pause", "pause", tooltip="Pause or continue: running trials go on, no new ones start"),
        Binding("s", "stop", "stop", tooltip="Stop: running trials finish, no new ones start"),
        Binding("m", "manual", "manual trial", tooltip="Run a config of your own (pre-filled from the selected trial)"),
        Binding("x", "rerun", "re-run", tooltip="Re-run the selected trial with the same params and seed"),
        Binding("R", "toggle_review", "review", tooltip="Review mode: hold each suggestion until you run, edit or skip it"),
        Binding("l", "lr_find", "LR finder", tooltip="LR range test: where to search learning_rate (built-in models)"),
        Binding("e", "export", "export", tooltip="Export the best config to a JSON file"),
        Binding("n", "note", "note", tooltip="A note on the selected trial (or the study), in the journal"),
        Binding("h", "space_history", "space history",
                tooltip="Each version of the study's search space: when, why, what changed, its trials"),
        Binding("o", "open", "open", tooltip="Open a study file, a study directory or a best-config file"),
        Binding("ctrl+s", "save", "save", tooltip="Save the study file (space and strategy)"),
        Binding("tab", "next_pane", "next pane", show=False, priority=True),
        Binding("shift+tab", "previous_pane", "previous pane", show=False, priority=True),
    ]

    def __init__(self, document: StudyDocument, study: Study | None = None) -> None:
        start_process_machinery()  # now, while stderr is still a real file (see its docstring)
        super().__init__()
        self.session = StudySession(document, study, on_notice=lambda text: self.notify(text, timeout=10))
        self._curves_due = 0.0
        self._curves_drawn = 0.0  # when the plots were last drawn (as trials end: at most every CURVE_SECONDS)
        self._selected: int | None = None
        self._best_shown: int | None = None
        self.review_mode = False

    @property
    def document(self) -> StudyDocument:
        return self.session.document

    @property
    def study(self) -> Study | None:
        return self.session.study

    # ------------------------------------------------------------------------------------------ layout

    @property
    def main_screen(self) -> Screen:
        """The screen with the panes (`query_one` on the app searches whichever screen is on top)."""
        return self.screen_stack[0]

    @property
    def board(self) -> Leaderboard:
        return self.main_screen.query_one(Leaderboard)

    @property
    def curves(self) -> Curves:
        return self.main_screen.query_one(Curves)

    @property
    def space_pane(self) -> SpacePane:
        return self.main_screen.query_one(SpacePane)

    @property
    def strategy_pane(self) -> StrategyPane:
        return self.main_screen.query_one(StrategyPane)

    @property
    def status_bar(self) -> StudyStatus:
        return self.main_screen.query_one(StudyStatus)

    def compose(self) -> ComposeResult:
        yield StudyStatus(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SpacePane(id="space", classes="pane")
                yield StrategyPane(id="strategy", classes="pane")
            with Vertical(id="right"):
                yield Leaderboard(id="board", classes="pane")
                yield Curves(id="curves", classes="pane")
        yield Footer()

    async def on_mount(self) -> None:
        gc.freeze()  # what was loaded before the first frame (a study of 100,000 trials) lives as long as the
        # app: the collector's full passes need not walk it again and again (they made sorting 100,000 trials'
        # keys for the leaderboard four times slower)
        titles = {"space": "search space", "strategy": "strategy", "board": "leaderboard", "curves": "curves"}
        for pane, title in titles.items():
            self.main_screen.query_one(f"#{pane}").border_title = title
        await self._load_document()
        if self.study is not None:
            self._show_study(self.study)
            self.board.show(self.study.log, live=False)
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.space_pane.query_one(SpaceTable).focus()
        self._set_current("space")
        self._apply_size(self.size.width, self.size.height)
        self.flush()

    async def _load_document(self) -> None:
        await self.strategy_pane.load(self.document.search)
        self._check_strategy()  # the error line speaks of this document, not the one before
        self._show_space()
        self.sub_title = str(self.document.save_path)

    def _show_space(self, select: str | None = None) -> None:
        grid = None
        if self.strategy_pane.strategy == "grid":
            try:
                grid = self.document.space().grid_size(self.document.search.get("default_num") or 5)
            except (InputError, TypeError):
                grid = None
        self.space_pane.show(self.document.space(), grid_size=grid, select=select)

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.screen.set_class(width < NARROW[0] or height < NARROW[1], "narrow")

    # ------------------------------------------------------------------------------------------ study events

    def _show_study(self, study: Study) -> None:
        metric = study_metric(study.spec.objective)
        self.curves.set_study(study.spec.space, metric)
        self.board.set_metrics(list(metric) if isinstance(metric, list) else None)
        read_only = self.session.read_only_text()
        if read_only:
            self.notify(read_only, title="study in use", timeout=10)

    def flush(self) -> None:
        """Show what happened since the last flush: changed rows, the status line, the plots."""
        if not self.screen_stack or not self.main_screen.query(StudyStatus):  # closing: its panes (or screens) gone
            return
        session = self.session
        if session.study is None:
            self._show_status()
            return
        if not session.running:
            session.follow()
        log = session.study.log
        if log.multi:
            self._rank_if_due()
        dirty = session.take_changed()
        if dirty:
            self.board.show(log, dirty)
            best = session.best()
            best_number = best.number if best else None
            if self._selected in dirty or best_number != self._best_shown:
                self._curves_due = self._curves_due or max(time.monotonic(), self._curves_drawn + CURVE_SECONDS)
            elif self.curves.active_tab in STUDY_TABS:  # a plot of every trial: one more changes it little
                wait = min(STUDY_PLOT_SECONDS, CURVE_SECONDS * max(1.0, log.count("finished") / 1000))
                self._curves_due = self._curves_due or max(time.monotonic(), self._curves_drawn + wait)
            self._best_shown = best_number
        if session.take_status_changed() or session.running:
            self._show_status()
        if self._curves_due and time.monotonic() >= self._curves_due:
            self._curves_due, self._curves_drawn = 0.0, time.monotonic()
            engine = session.study.engine
            self.curves.show(log, self._selected, engine.pruner if engine else None, session.view)

    def _rank_if_due(self) -> None:
        copy = self.session.ranking_due()
        if copy is not None:
            self.run_worker(self._rank(self.study, copy), group="rank", exit_on_error=False)

    async def _rank(self, study: Study, copy: StudyLog) -> None:
        if await self.session.rank(study, copy):
            self.board.show(study.log, set(), view=self.session.view)
            self._curves_due = self._curves_due or time.monotonic()

    def _show_status(self) -> None:
        session, study = self.session, self.study
        if study is None:
            self.status_bar.show(self.document.name, "not started", None, budget=session.file_budget(), metric="")
            return
        self.status_bar.show(
            study.spec.name, session.state_word(), study.log, budget=study.settings.trials,
            metric=study_metric(study.spec.objective), best=session.best(), elapsed=session.elapsed(),
            done_at_start=session.done_at_start, directory=str(study.directory), timing=session.timing_text())

    def on_leaderboard_trial_opened(self, message: Leaderboard.TrialOpened) -> None:
        record = self.study.log.records.get(message.number) if self.study else None
        if record is not None:
            self.push_screen(TrialDetail(record, self.study.spec.objective.metric,
                                         trial_log_path(self.study.directory, record.number)))

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """A toast. Its text (an error's words, a path, a trial's reason) is shown as written: never read as
        markup (`markup`, which widgets pass on, is ignored) nor obeyed as escape sequences."""
        super().notify(safe_text(message, lines=True), title=safe_text(title), severity=severity, timeout=timeout,
                       markup=False)

    def refresh_bindings(self) -> None:
        """Nothing to refresh once the app has closed its screens: a selection message or a study worker that
        ends while the app exits came here and raised ScreenStackError (seen once in CI)."""
        if self.screen_stack:
            super().refresh_bindings()

    def on_leaderboard_trial_selected(self, message: Leaderboard.TrialSelected) -> None:
        if message.number != self._selected:
            self._selected = message.number
            self._curves_due = time.monotonic() + 0.05
            self.refresh_bindings()

    # ------------------------------------------------------------------------------------------ running

    async def action_run(self) -> None:
        if self.session.running:
            self.notify("the study is already running", severity="warning")
            return
        if not self._code_seen_first(self.action_run):
            return
        study = self._study_for_run()
        if study is None:
            return
        if self.session.out_of_budget():
            self._ask_more_trials(study)
            return
        self._drive(study)

    def _code_seen_first(self, then: Callable[[], Any]) -> bool:
        """True when what runs may run; else False, and the person is first shown the code the opened study
        directory names (`then` is called when they say yes, and nothing is asked again)."""
        question = self.session.code_question()
        if question is None:
            return True

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.code_seen()
                self.call_later(then)

        self.push_screen(Confirm(question), answered)
        return False

    def _ask_more_trials(self, study: Study) -> None:
        """A study whose budget is spent runs on only with a bigger one: ask how many more trials."""
        budget = study.settings.trials

        def accept(text: str) -> str:
            more = whole_from_text(text.strip(), 1, field="more trials")
            self.call_later(self._run_more, more)
            return f"running {more} more trials (budget {budget + more})"

        self.push_screen(PathPrompt(f"all {budget} trials done: how many more?", "10", accept,
                                    hint="the budget grows by this many and the study runs on (ctrl+s saves it)"),
                         self._notify_result)

    async def _run_more(self, more: int) -> None:
        trials = (self.study.settings.trials or 0) + more
        self.strategy_pane.query_one("#field-trials").value = str(trials)
        self.document.set_search({**self.document.search, "trials": trials})
        study = self._study_for_run()
        if study is not None:
            self._drive(study)

    def _study_for_run(self) -> Study | None:
        """The session's study to run (a new one shown on the panes), or None after saying why not."""
        try:
            study, created = self.session.study_for_run()
        except TunerError as err:
            self.notify(str(err), title="cannot run", severity="error", timeout=10)
            return None
        if created:
            self._show_study(study)
            self._selected = None
            self.board.show(study.log)
            self.notify(f"study directory: {study.directory}")
        else:
            self._follow_space(study)
        return study

    def _space_edited(self, reason: str = "edit") -> None:
        """The document's space changed: a running study goes on over it at once (the session says so)."""
        try:
            self.session.space_edited(reason)
        except TunerError as err:
            self.notify(f"the study's space stays as it was: {err}", severity="error", timeout=10)
        if self.study is not None:
            self._follow_space(self.study)

    def _follow_space(self, study: Study) -> None:
        """The plots draw the study's space as it is now."""
        if self.curves.space != study.spec.space:
            self.curves.set_study(study.spec.space, study_metric(study.spec.objective))
            self._curves_due = self._curves_due or time.monotonic()

    def action_space_history(self) -> None:
        if self.study is None:
            self.notify("no study yet: its space gets versions once it runs", severity="warning")
            return
        self.push_screen(SpaceHistory(self.session.space_history()))

    def _drive(self, study: Study, **run_options) -> None:
        run_options.setdefault("review", self._review_suggestion if self.review_mode else None)
        self.run_worker(self._run_study(self.session.run(study, **run_options)), group="study", exclusive=True,
                        exit_on_error=False)
        self.refresh_bindings()

    async def _run_study(self, run: Awaitable[None]) -> None:
        try:
            await run
        except TunerError as err:
            self.notify(str(err), title="study stopped", severity="error", timeout=10)
        except Exception as err:  # noqa: BLE001 - the app stays up; the journal has every trial so far
            self.notify(f"{type(err).__name__}: {err}", title="study stopped", severity="error", timeout=10)
            self.log.error(err)
        finally:
            self.refresh_bindings()
            self._notify_result(self.session.test_score_text())

    def action_pause(self) -> None:
        self._notify_result(self.session.pause())

    def action_stop(self) -> None:
        self._notify_result(self.session.stop())

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Grey out in the footer what cannot run now."""
        if action in ("pause", "stop"):
            return self.session.running
        if action == "rerun":
            return self._selected_record() is not None
        if action == "export":
            return self.study is not None and self.study.log.count("finished") > 0
        if action == "note":
            return self.study is not None
        return True

    # ------------------------------------------------------------------------------------------ manual trials

    def _selected_record(self):
        if self.study is None or self._selected is None:
            return None
        return self.study.log.records.get(self._selected)

    def action_manual(self) -> None:
        try:
            space = self.document.space()
        except InputError as err:
            self.notify(str(err), severity="error")
            return
        record = self._selected_record() or (self.study.log.best() if self.study else None)
        config, source = {}, "a config of your own"
        if record is not None:
            config, source = record.params, f"pre-filled from trial #{record.number}"
        else:
            config = space.sample(np.random.default_rng(0))
        self._ask_manual(space, config, f"manual trial ({source})")

    def _ask_manual(self, space, config: dict, title: str) -> None:
        def run(result: dict | None) -> None:
            if result is not None:
                self._run_manual(result, None)

        self.push_screen(ManualTrial(space, config, title=title, predict=self.session.predictor(),
                                     metric=self.study.spec.objective.metric if self.study else "value"), run)

    def action_rerun(self) -> None:
        record = self._selected_record()
        if record is not None:
            self._run_manual(record.params, record.seed)

    def _run_manual(self, params: dict, seed: int | None) -> None:
        try:
            queued = self.session.queue_manual(params, seed)
        except TunerError as err:
            self.notify(str(err), severity="error")
            return
        if not queued:
            if not self._code_seen_first(lambda: self._run_manual(params, seed)):
                return
            study = self._study_for_run()
            if study is None:
                return
            self._drive(study, search=False, manual=[(params, seed)])
        self.notify("manual trial queued" + (" (same params and seed)" if seed is not None else ""))

    # ------------------------------------------------------------------------------------------ predictions, review

    def action_toggle_review(self) -> None:
        self.review_mode = not self.review_mode
        engine = self.study.engine if self.study else None
        if engine is not None and self.session.running:
            engine.review = self._review_suggestion if self.review_mode else None
        self.notify("review mode on: each suggestion waits for enter (run), m (edit) or x (skip)"
                    if self.review_mode else "review mode off: suggestions run as they come")

    async def _review_suggestion(self, params: dict, predicted: list | None) -> dict | None:
        """The engine's review hook: show the suggestion, wait for the user's answer."""
        loop = asyncio.get_running_loop()
        answered = loop.create_future()
        study = self.study
        self.push_screen(ReviewSuggestion(params, predicted, strategy=study.settings.strategy,
                                          metric=study.spec.objective.metric), answered.set_result)
        answer = await answered
        if answer == "end":
            self.action_toggle_review()
        if answer in ("accept", "end"):
            return params
        if answer == "skip":
            return None
        edited = loop.create_future()
        self.push_screen(ManualTrial(study.spec.space, params, title="edit the suggestion, enter runs it",
                                     predict=self.session.predictor(), metric=study.spec.objective.metric),
                         edited.set_result)
        return await edited

    # ------------------------------------------------------------------------------------------ LR finder

    def action_lr_find(self) -> None:
        try:
            spec = self.document.spec()
            lr_finder.check_objective(spec.objective, file=str(self.document.save_path))
        except InputError as err:
            self.notify(str(err), title="no LR range test", severity="error", timeout=10)
            return
        record = self._selected_record() or (self.study.log.best() if self.study else None)
        config = lr_finder.start_config(spec.space, record.params if record else None)
        source = f"trial #{record.number}'s config" if record else "the middle of the search space"
        self.notify(f"LR range test running in a worker process ({source})")
        self.run_worker(self._lr_find(spec, config, source), group="lr-find", exclusive=True, exit_on_error=False)

    async def _lr_find(self, spec, config: dict, source: str) -> None:
        executor = ProcessExecutor(1)
        try:
            outcome = await executor.run(lr_finder.RangeTestRun(spec.objective), config, number=0,
                                         seed=spec.settings.seed, timeout=spec.settings.trial_timeout)
        finally:
            await executor.close()
        try:
            if outcome.state != "finished":
                raise ValueError(outcome.reason)
            test = lr_finder.analyse(outcome.result["rates"], outcome.result["losses"])
        except ValueError as err:
            self.notify(str(err), title="LR range test failed", severity="error", timeout=10)
            return
        param = self.document.params.get(lr_finder.LR_PARAM)
        ranges = {}  # what `a` (within the current bounds) and `w` (past them, only if asked) would set
        if isinstance(param, dict) and param.get("type") == "float":
            with contextlib.suppress(InputError):  # the range lies wholly outside the bounds: only `w` applies
                ranges["apply"] = lr_finder.narrowed(param, test)
            whole = lr_finder.narrowed(param, test, widen=True)
            if whole != ranges.get("apply"):
                ranges["widen"] = whole

        def apply(choice: str | None) -> None:
            if choice not in ranges:
                return
            new = ranges[choice]
            try:
                self.document.put_param(lr_finder.LR_PARAM, lr_finder.LR_PARAM, new)
            except InputError as err:
                self.notify(str(err), severity="error")
                return
            self._show_space(select=lr_finder.LR_PARAM)
            self.notify(f"learning_rate {lr_finder.change(param, new)}: it now searches {new['low']:.3g} to "
                        f"{new['high']:.3g} (ctrl+s saves the file)")
            self._space_edited("lr-find")

        self.push_screen(LrFinderScreen(test, source, ranges), apply)

    # ------------------------------------------------------------------------------------------ files

    def action_export(self) -> None:
        study = self.study
        if study is None or study.log.best() is None:
            self.notify("no finished trial yet: nothing to export", severity="warning")
            return

        self.push_screen(PathPrompt("export the best config", "./best.json", self.session.export,
                                    hint=f"trial #{study.log.best().number}; JSON your training code reads"),
                         self._notify_result)

    def action_note(self) -> None:
        study = self.study
        if study is None:
            self.notify("no study yet: a note belongs to a trial or a study in the journal", severity="warning")
            return
        record = self._selected_record()
        about = f"trial #{record.number}" if record else "the study"
        current = safe_text((record.note if record else study.log.note) or "")  # an Input shows text raw

        def accept(text: str) -> str:  # StudyLocked or a write error: shown inline
            return self.session.note(text, record.number if record else None)

        self.push_screen(PathPrompt(f"a note on {about}", current, accept,
                                    hint="kept in the journal, shown by 'tui-tuner trials'"), self._notify_result)

    def action_save(self) -> None:
        self._sync_strategy()
        try:
            path = self.document.save()
        except (TunerError, OSError) as err:
            self.notify(str(err), title="not saved", severity="error", timeout=10)
            return
        self.sub_title = str(path)
        self.notify(f"saved {path}")

    def action_open(self) -> None:
        if self.session.running:
            self.notify("stop the study before opening another", severity="warning")
            return
        self.push_screen(PathPrompt("open", "", self._open_path,
                                    hint="a study file (.yaml/.json), a study directory, or a best-config file"),
                         self._notify_result)

    def _open_path(self, text: str) -> str:
        opened = self.session.open_path(text)
        if opened.config is not None:
            self.call_later(self._ask_manual, self.document.space(), opened.config["params"],
                            f"manual trial (from {opened.source})")
        else:
            self.call_later(self._show_opened, opened.document, opened.study)
        return opened.message

    async def _show_opened(self, document: StudyDocument, study: Study | None) -> None:
        self.session.open(document, study)
        self._selected = None
        await self._load_document()
        board = self.board
        board.clear()
        self.curves.clear()  # the previous study's plots go; this one's come with the next flush
        if study is not None:
            self._show_study(study)
            board.show(study.log, live=False)
        self._curves_due = time.monotonic()
        self.flush()

    def _notify_result(self, message: str | None) -> None:
        if message:
            self.notify(message)

    # ------------------------------------------------------------------------------------------ editing

    def on_space_table_edit_param(self, message: SpaceTable.EditParam) -> None:
        params = self.document.params
        if message.name is None:
            old, name, definition, title = None, _fresh_name(params, "param"), {"type": "float", "low": 0.0,
                                                                               "high": 1.0}, "add a parameter"
        elif message.duplicate:
            old, name, definition = None, _fresh_name(params, message.name), dict(params[message.name])
            title = f"copy of {message.name}"
        else:
            old, name, definition, title = message.name, message.name, params[message.name], f"edit {message.name}"

        def check(new_name: str, new_definition: dict) -> None:
            self.document.put_param(old, new_name, new_definition, dry_run=True)

        def done(result) -> None:
            if result is not None:
                self.document.put_param(old, *result)
                self._show_space(select=result[0])
                self.session.status_changed = True
                self._space_edited()

        self.push_screen(ParamForm(name, definition, check, title=title), done)

    def on_space_table_delete_param(self, message: SpaceTable.DeleteParam) -> None:
        name = message.name

        def delete(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.document.remove_param(name)
            except InputError as err:
                self.notify(f"cannot delete {name}: {err.message}", severity="error")
                return
            self._show_space()
            self.notify(f"deleted {name} (ctrl+s saves the study file)")
            self._space_edited()

        self.push_screen(Confirm(f"Delete the parameter {name}? (the study file changes on ctrl+s)"), delete)

    def on_strategy_pane_changed(self, message: StrategyPane.Changed) -> None:
        self._sync_strategy(message.search)

    def _sync_strategy(self, search: dict | None = None) -> None:
        self.document.set_search(search if search is not None else self.strategy_pane.values())
        self._check_strategy()
        self._show_space()
        self.session.status_changed = True

    def _check_strategy(self) -> None:
        """The strategy pane's error line: the document's mistake in its `search:` section, or nothing."""
        try:
            self.document.spec()
        except InputError as err:
            field = err.field or ""
            self.strategy_pane.show_error(f"{field}: {err.message}" if field.startswith("search") else None)
        else:
            self.strategy_pane.show_error(None)

    # ------------------------------------------------------------------------------------------ navigation

    def _pane_of_focus(self) -> str:
        node = self.focused
        while node is not None:
            if node.id in PANES:
                return node.id
            node = node.parent
        return PANES[0]

    def _set_current(self, pane: str) -> None:
        for name in PANES:
            self.main_screen.query_one(f"#{name}").set_class(name == pane, "-current")
        column = "left" if pane in ("space", "strategy") else "right"
        self.main_screen.query_one("#left").set_class(column == "left", "-current")
        self.main_screen.query_one("#right").set_class(column == "right", "-current")

    def _focus_pane(self, pane: str) -> None:
        self._set_current(pane)
        target = {"space": "#space-table", "strategy": "#field-trials", "board": "#board",
                  "curves": "#curves Tabs"}[pane]
        self.main_screen.query_one(target).focus()

    def action_focus_board(self) -> None:
        """escape in a strategy field: back to the leaderboard, where the app's keys work again."""
        self._focus_pane("board")

    def action_next_pane(self) -> None:
        if self.screen is not self.main_screen:  # in a dialog: tab moves between its fields
            self.screen.focus_next()
            return
        self._focus_pane(PANES[(PANES.index(self._pane_of_focus()) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        if self.screen is not self.main_screen:
            self.screen.focus_previous()
            return
        self._focus_pane(PANES[(PANES.index(self._pane_of_focus()) - 1) % len(PANES)])

    def on_descendant_focus(self, event) -> None:
        if self.screen is self.main_screen:
            self._set_current(self._pane_of_focus())

    # ------------------------------------------------------------------------------------------ help, quit

    def action_help(self) -> None:
        self.push_screen(HelpScreen([
            ("anywhere", self.BINDINGS), ("search space", [*SpaceTable.BINDINGS, *RowTable.BINDINGS]),
            ("leaderboard", [*Leaderboard.BINDINGS, *RowTable.BINDINGS]), ("curves", Curves.BINDINGS),
        ]))

    def get_system_commands(self, screen: Screen):
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.show:
                group = "study" if binding.action in ("run", "pause", "stop", "manual", "rerun", "lr_find",
                                                        "space_history") else "file"
                yield SystemCommand(f"{group}: {binding.description}", binding.tooltip,
                                    lambda action=binding.action: self.run_action(action))

    def action_quit_app(self) -> None:
        if not self.session.running:
            self.exit()
            return

        async def answer(yes: bool | None) -> None:
            if yes:
                self.session.cancel()
                await self.workers.wait_for_complete()
                self.exit()

        self.push_screen(Confirm("Trials are running. Quit and stop them? (they are recorded interrupted; "
                                 "r on this study directory runs them again)"), answer)


def _fresh_name(params: dict, base: str) -> str:
    n = 2
    while f"{base}_{n}" in params:
        n += 1
    return f"{base}_{n}"
