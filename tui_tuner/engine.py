"""The study runner: asks the searcher, runs trials on an executor, tells results back, emits events.

It knows nothing of files or screens: the journal, the app and the progress bar subscribe to its events
and send it commands (pause, resume, stop, cancel, run this config).

Reproducibility rule: an adaptive searcher is asked for the i-th trial only after exactly the first
i - workers trials (in start order) have been told, so the same seed and worker count give the same trials
whatever the timing. Non-adaptive searchers (grid, random) never wait. The overhead governor (governor.py)
bends that rule only when it cuts a searcher's effort, which depends on timing; with `ask_share=None` it is off.

A pruned trial is told with what is known of it (`Searcher.tell_pruned`: its step and last reported value of
the study's metric), in start order like every other result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Protocol

import numpy as np

from . import records
from .errors import SearchExhausted
from .executors.base import LOST, Executor, ExecutorLost, Outcome
from .governor import Governor
from .results import ALLOWED, as_number, checked_metrics, describe, shorten
from .searchers.base import Predictor, Searcher

LOSSES_BEFORE_FAILED = 3  # a trial whose worker is lost this many times fails (dask's allowed-failures is 3)


class Objective(Protocol):
    """What a trial runs, in a worker process: `objective(params, trial)` returns the value, or a dict of
    metrics holding `metric` (default "value"), or each of `metrics` when the study has several."""

    def __call__(self, params: dict, trial: Any) -> Any: ...


class Pruner(Protocol):
    ordered: bool  # judge a trial only once the trials numbered before it have reached the step

    def take(self, number: int, step: int, values: dict) -> float | None: ...

    def judge(self, number: int, step: int, value: float) -> bool: ...

    def on_finish(self, number: int, state: str) -> None: ...


@dataclass(frozen=True)
class PastTrial:
    """A trial from an earlier run of the study (resume): told to the searcher, never run again."""

    number: int
    params: dict
    value: float | list[float] | PrunedAt | None  # a list with several metrics, one value each
    manual: bool = False
    space: int = 1  # the version of the search space it was drawn from


@dataclass(frozen=True)
class PrunedAt:
    """What is known of a pruned trial: the step it was stopped at and its last value of the study's metric."""

    step: int | None
    last_value: float | None


def reported_value(values: dict, metric: str) -> float | None:
    """`metric`'s value in one report, None when the report has none or not a finite number."""
    value = values.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def pruned_at(step: int | None, reports: Iterable[tuple[int, dict]], metric: str) -> PrunedAt:
    """What a pruned trial's record tells (a resumed study): its step and latest report of `metric`."""
    values = [v for v in (reported_value(r, metric) for _, r in reports) if v is not None]
    return PrunedAt(step, values[-1] if values else None)


def trial_seed(study_seed: int, number: int) -> int:
    """Each trial's seed depends on the study seed and its number only, never on timing or worker."""
    return int(np.random.SeedSequence([study_seed, number]).generate_state(1)[0])


def value_of(result: Any, metric: str) -> tuple[float, dict]:
    """The study's value and the metrics dict from what an objective returned; ValueError says what is wrong."""
    if isinstance(result, dict):
        try:
            metrics = checked_metrics(result, "the objective's dict")
        except ValueError as err:
            raise ValueError(f"{err}; allowed: {ALLOWED}") from None
        if metric not in metrics:
            raise ValueError(f"the objective returned metrics {shorten(str(sorted(metrics)), 200)} without the "
                             f"study's metric {metric!r}")
        value = metrics[metric]
    else:
        value = as_number(result)
        if value is None:
            raise ValueError(f"the objective returned {describe(result)}; allowed: {ALLOWED}")
        metrics = {metric: value}
    if math.isnan(value):
        raise ValueError(f"the objective returned NaN for {metric!r}")
    if math.isinf(value):
        raise ValueError(f"the objective returned {value} for {metric!r}")
    return float(value), metrics


def values_of(result: Any, metrics: tuple[str, ...]) -> tuple[list[float], dict]:
    """Each of several metrics' values and the metrics dict; ValueError names a metric that is missing."""
    if not isinstance(result, dict):
        raise ValueError(f"the objective returned {describe(result)}; a study of the metrics {list(metrics)} needs "
                         "a dict holding each of them")
    missing = [m for m in metrics if m not in result]
    if missing:
        raise ValueError(f"the objective's dict has no {missing[0]!r}, one of the study's metrics {list(metrics)} "
                         f"(it returned {shorten(str(sorted(map(str, result))), 200)})")
    values = [value_of(result, metric)[0] for metric in metrics]
    return values, value_of(result, metrics[0])[1]


class Engine:
    """Runs one study until its budget is spent, its searcher is exhausted, or it is stopped."""

    def __init__(self, objective: Objective, searcher: Searcher, executor: Executor, *, trials: int | None = None,
                 time_budget: float | None = None, trial_timeout: float | None = None, seed: int = 0,
                 pruner: Pruner | None = None, history: Iterable[PastTrial] = (),
                 rerun: Iterable[PastTrial] = (), replay_draws: bool = True, space_version: int = 1,
                 review: Callable[[dict, list | None], Awaitable[dict | None]] | None = None,
                 ask_share: float | None = None) -> None:
        self.objective = objective
        self.metric = getattr(objective, "metric", "value")
        self.metrics = tuple(getattr(objective, "metrics", (self.metric,)))  # several: each trial gets them all
        self.searcher = searcher
        self.space_version = space_version  # of the searcher's space: what each new trial records
        self.executor = executor
        self.trials = trials
        self.time_budget = time_budget
        self.trial_timeout = trial_timeout
        self.seed = seed
        self.pruner = pruner
        self.review = review  # awaited for each suggestion: the config to run (maybe edited), or None to skip
        self.ask_seconds: list[float] = []  # how long each searcher.ask() took
        # holds the searcher to less effort when asks cost more than `ask_share` of the study's time
        self.governor = None if ask_share is None else Governor(ask_share, executor.capacity)
        self._last_reported: dict[int, float] = {}  # running trial -> its latest value of the study's metric
        self._reached: dict[int, int] = {}  # running trial -> the last step it reported
        self._judging: list[tuple[int, int, float, asyncio.Future]] = []  # ordered pruning: judgements held
        # until the trials numbered before theirs have reached the step (number, step, value, the answer)
        self.state = "idle"
        self._subscribers: list[Callable[[records.EngineEvent], None]] = []
        self._manual: deque[tuple[dict, int | None]] = deque()  # (params, seed or None)
        self._rerun: deque[PastTrial] = deque(sorted(rerun, key=lambda t: t.number))
        history = sorted(history, key=lambda t: t.number)
        self._history = history
        self._next_number = 1 + max([t.number for t in (*history, *self._rerun)], default=-1)
        self._launched = 0  # trials started by this run, manual ones excepted (they do not spend the budget)
        self._exhausted = False
        self._order: list[int] = []  # numbers in start order
        self._params: dict[int, dict] = {}
        self._results: dict[int, float | list[float] | None] = {}
        self._told = 0
        self._running: dict[int, asyncio.Task] = {}
        self._wake: asyncio.Event | None = None
        self._deadline: float | None = None
        self._reviewing: asyncio.Task | None = None
        self._lost: ExecutorLost | None = None  # the executor went away: the run stops and raises it
        self._replay(history, replay_draws)

    def _replay(self, history: list[PastTrial], draws: bool) -> None:
        """Bring the searcher to where the earlier run left it: replay its draws (when the same strategy made
        them from this version of the space: a grid that follows a random search must not skip points it
        never ran), then tell the results of the trials that fit the space."""
        if draws and not self.searcher.adaptive:
            for _ in [t for t in (*history, *self._rerun) if not t.manual and t.space == self.space_version]:
                try:
                    self.searcher.ask()
                except SearchExhausted:
                    break
        for past in history:
            self._tell(past.params, past.value)

    def _tell(self, params: dict, value: Any) -> None:
        """Tell the searcher a result if the trial fits its space (a searcher encodes configs in its space:
        a value outside it, or a param it lacks, means nothing to it)."""
        fitted = self.searcher.space.fit(params)
        if fitted is None:
            return
        if isinstance(value, PrunedAt):
            self.searcher.tell_pruned(fitted, value.step, value.last_value)
        else:
            self.searcher.tell(fitted, value)

    # ------------------------------------------------------------------------------------------ commands

    def subscribe(self, callback: Callable[[records.EngineEvent], None]) -> None:
        """`callback(event)` runs on the engine's loop, in event order."""
        self._subscribers.append(callback)

    def pause(self) -> None:
        """Start no new trial until `resume()`; running trials go on."""
        if self.state == "running":
            self._set_state("paused")

    def resume(self) -> None:
        if self.state == "paused":
            self._set_state("running")

    def stop(self) -> None:
        """Let running trials finish, start none."""
        if self.state in ("running", "paused"):
            self._set_state("stopping")

    def cancel(self) -> None:
        """Stop now: running trials are killed and recorded interrupted (a resume runs them again)."""
        self.stop()
        for task in list(self._running.values()):
            task.cancel()

    def run_config(self, params: dict, seed: int | None = None) -> None:
        """A manual trial: validated now, run ahead of the searcher's next suggestion. `seed` repeats a
        trial exactly (re-running a failed one); by default the new trial's number decides its seed."""
        self._manual.append((self.searcher.space.validate_config(params), seed))
        self._poke()

    def change_space(self, searcher: Searcher, version: int) -> None:
        """Go on over a new version of the search space: `searcher`, a fresh one over it, is told every trial
        told so far that fits it, in trial order (trials still running are told as they end, if they fit);
        trials started from now on record `version`."""
        self.searcher, self.space_version, self._exhausted = searcher, version, False
        told = [(t.number, t.params, t.value) for t in self._history]
        told += [(n, self._params[n], self._results[n]) for n in self._order[:self._told]]
        for _, params, value in sorted(told, key=lambda t: t[0]):
            self._tell(params, value)
        self._poke()

    @property
    def governor_note(self) -> str | None:
        """What the overhead governor did ("searcher held to 25% effort: ask 12 ms vs trial 50 ms, 2 workers"),
        None while the searcher has all the effort it likes."""
        return self.governor.note if self.governor is not None else None

    @property
    def running(self) -> list[int]:
        return sorted(self._running)

    # ------------------------------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Run until done; ExecutorLost, after every running trial is recorded interrupted, when the executor
        went away."""
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        if self.time_budget is not None:
            self._deadline = time.monotonic() + self.time_budget
            loop.call_later(self.time_budget, self._poke)
        await self.executor.open()
        if self.state in ("idle", "finished"):
            self._set_state("running")
        try:
            while True:
                self._launch()
                if not self._running and not self._more_to_start():
                    break
                await self._wake.wait()
                self._wake.clear()
        finally:
            if self._reviewing is not None:
                self._reviewing.cancel()
            for task in list(self._running.values()):
                task.cancel()
            if self._running:
                await asyncio.gather(*self._running.values(), return_exceptions=True)
            self._tell_in_order(upto=len(self._order))
            self._set_state("finished")
        if self._lost is not None:
            raise self._lost

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit(records.StateChanged(state))
            self._poke()

    def _emit(self, event: records.EngineEvent) -> None:
        for callback in self._subscribers:
            callback(event)

    def _budget_left(self) -> bool:
        if self.trials is not None and self._launched >= self.trials:
            return False
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        return not self._exhausted

    def _more_to_start(self) -> bool:
        if self.state == "stopping":
            return False
        if self.state == "paused":
            return True
        return bool(self._manual) or self._budget_left()

    def _launch(self) -> None:
        while self.state == "running" and len(self._running) + (self._reviewing is not None) < self.executor.capacity:
            if self._manual:
                params, seed = self._manual.popleft()
                self._start(self._next(), params, manual=True, seed=seed)
            elif not self._budget_left():
                return
            elif self._rerun:
                past = self._rerun.popleft()
                self._launched += 1
                self._start(past.number, past.params, manual=False, space=past.space)
            elif self._reviewing is not None:
                return  # one suggestion under review at a time
            else:
                params = self._ask()
                if params is None:
                    return
                if self.review is not None:
                    self._reviewing = asyncio.create_task(self._review(params))
                    return
                self._launched += 1
                self._start(self._next(), params, manual=False)

    async def _review(self, params: dict) -> None:
        """Hold a suggestion until the reviewer answers: run it (as suggested or edited) or skip it."""
        try:
            answer = await self.review(params, self._predict(params))
        finally:
            self._reviewing = None
            self._poke()
        if answer is None:
            self._tell(params, None)  # skipped: a model-based searcher will not suggest it again
            return
        config = self.searcher.space.fit(answer)  # None: the space changed under review and it no longer fits
        if config is not None and self.state in ("running", "paused"):
            self._launched += 1
            self._start(self._next(), config, manual=False)

    def _predict(self, params: dict) -> list | None:
        """[mean, std] of a model-based searcher for `params`, None when it has no model (yet) or `params` do
        not fit its space (an interrupted trial of an earlier version, run again)."""
        params = self.searcher.space.fit(params)
        if not isinstance(self.searcher, Predictor) or params is None:
            return None
        try:
            mean, std = self.searcher.predict([params])
        except ValueError:
            return None
        pair = [float(mean[0]), float(std[0])]
        return pair if all(map(math.isfinite, pair)) else None  # a band past what floats hold says nothing

    def _next(self) -> int:
        number, self._next_number = self._next_number, self._next_number + 1
        return number

    def _ask(self) -> dict | None:
        """The searcher's next config, or None when it must wait for results (adaptive) or has none left."""
        if self.searcher.adaptive:
            needed = len(self._order) - self.executor.capacity
            if needed > 0 and not all(n in self._results for n in self._order[:needed]):
                return None
            self._tell_in_order(upto=max(0, needed))
            if self._governed():
                effort = self.governor.effort()
                if effort != self.searcher.effort:
                    self.searcher.spend(effort)
        started = time.perf_counter()
        try:
            return self.searcher.ask()
        except SearchExhausted:
            self._exhausted = True
            return None
        finally:
            seconds = time.perf_counter() - started
            self.ask_seconds.append(seconds)
            if self._governed():
                self.governor.asked(seconds)

    def _governed(self) -> bool:
        """Whether the governor holds this searcher: one that waits for results and whose effort changes
        what an ask costs (a note saying random search was held back would only mislead)."""
        return self.governor is not None and self.searcher.adaptive and self.searcher.spends_effort

    def _tell_in_order(self, upto: int) -> None:
        while self._told < min(upto, len(self._order)):
            number = self._order[self._told]
            if number not in self._results:
                return
            self._tell(self._params[number], self._results[number])
            self._told += 1

    def _start(self, number: int, params: dict, *, manual: bool, seed: int | None = None,
               space: int | None = None) -> None:
        """Start trial `number`; `space`: the version its params were drawn from (a re-run's own), else now's."""
        seed = trial_seed(self.seed, number) if seed is None else seed
        self._order.append(number)
        self._params[number] = params
        started = records.Started(number, params, seed, manual, None if manual else self._predict(params),
                                  proposer=records.MANUAL if manual else self.searcher.name,
                                  space=self.space_version if space is None else space)
        self._emit(started)
        task = asyncio.create_task(self._run_trial(started))
        task.add_done_callback(functools.partial(self._trial_done, number))
        self._running[number] = task

    def _on_report(self, number: int) -> Callable[[int, dict], bool | asyncio.Future]:
        """The answer to a trial's report: prune it or not; ordered, maybe later (a future), once the trials
        numbered before it have reached the step, so timing never changes what is decided."""
        def handle(step: int, values: dict) -> bool | asyncio.Future:
            self._emit(records.Reported(number, step, values))
            value = reported_value(values, self.metric)
            if value is not None:
                self._last_reported[number] = value
            if self.pruner is None:
                return False
            self._reached[number] = step
            taken = self.pruner.take(number, step, values)
            self._judge_held()  # this report may be what an earlier-held judgement waited for
            if taken is None:
                return False
            if not self.pruner.ordered or self._caught_up(number, step):
                return self.pruner.judge(number, step, taken)
            answer = asyncio.get_running_loop().create_future()
            self._judging.append((number, step, taken, answer))
            return answer
        return handle

    def _caught_up(self, number: int, step: int) -> bool:
        """Every running trial numbered before `number` has reported `step` or later (ended ones have all
        they will ever report)."""
        return all(self._reached.get(other, -1) >= step for other in self._running if other < number)

    def _judge_held(self) -> None:
        """Answer the held judgements whose trials' predecessors have caught up (or that nobody awaits)."""
        held = []
        for number, step, value, answer in self._judging:
            if answer.done():
                continue
            if self._caught_up(number, step):
                answer.set_result(self.pruner.judge(number, step, value))
            else:
                held.append((number, step, value, answer))
        self._judging = held

    async def _run_trial(self, started: records.Started) -> tuple[str, float | list[float] | PrunedAt | None]:
        """Run one trial and emit how it ended; returns (state, value). Cancellation is `_trial_done`'s.
        A trial whose worker was lost is recorded interrupted and run again at once, in its own slot, under
        its number, params and seed: it is told to the searcher once, when it ends."""
        number, losses = started.number, 0
        while True:
            begun = time.monotonic()
            try:
                outcome = await self.executor.run(self.objective, started.params, number=number, seed=started.seed,
                                                  timeout=self.trial_timeout, on_report=self._on_report(number))
            except (OSError, RuntimeError) as err:  # the executor itself failed: this trial fails, the study goes on
                outcome = Outcome("failed", reason=f"could not run the trial: {err}")
            if outcome.state == LOST:
                losses += 1
                if losses == LOSSES_BEFORE_FAILED:  # a trial that takes its machine down each time
                    outcome = Outcome("failed", reason=f"{outcome.reason}; lost {losses} times, so failed")
            if outcome.state != LOST:
                break
            self._last_reported.pop(number, None)
            self._reached.pop(number, None)  # the trials after it wait for the new run to reach their step
            if self.pruner:
                self.pruner.on_finish(number, "interrupted")  # its curve starts again
            self._emit(records.Interrupted(number))
            self._emit(records.Notice(f"trial {number}: {outcome.reason}; running it again"))
            self._emit(dataclasses.replace(started, time=time.time()))
        duration = time.monotonic() - begun
        if self.governor is not None:
            self.governor.trial_ended(duration)
        last = self._last_reported.pop(number, None)
        several = len(self.metrics) > 1
        if outcome.state == "pruned":
            self._emit(records.Pruned(number, outcome.step, duration))
            return "pruned", PrunedAt(outcome.step, None if several else last)  # several metrics: a failure
        if outcome.state == "finished":
            try:
                values, metrics = (values_of(outcome.result, self.metrics) if several
                                   else value_of(outcome.result, self.metric))
            except ValueError as err:
                outcome = Outcome("failed", reason=str(err))
            else:
                value = values[0] if several else values
                self._emit(records.Finished(number, value, metrics, duration, values=values if several else None))
                return "finished", values
        self._emit(records.Failed(number, outcome.reason or "unknown failure", duration))
        return "failed", None

    def _trial_done(self, number: int, task: asyncio.Task) -> None:
        """Book-keeping once a trial's task ends, also when it was cancelled before it began."""
        del self._running[number]
        self._last_reported.pop(number, None)  # a cancelled trial's
        self._reached.pop(number, None)
        lost = not task.cancelled() and isinstance(task.exception(), ExecutorLost)
        if lost and self._lost is None:
            self._lost = task.exception()
            self.cancel()  # no trial can go on: the running ones are interrupted too, a resume runs them
        if task.cancelled() or lost:
            self._emit(records.Interrupted(number))
            state, value = "interrupted", None
        else:
            state, value = task.result()
        self._results[number] = value
        if self.pruner and state != "interrupted":
            self.pruner.on_finish(number, state)
        if self._judging:
            self._judge_held()  # this trial will report no more: the ones after it need not wait for it
        if not self.searcher.adaptive:
            self._tell_in_order(upto=len(self._order))
        self._poke()
