"""What `tui-tuner run` shows (a live progress bar while the study runs, a summary table when it ends) and
what `tui-tuner analyze` prints."""

from __future__ import annotations

import math
from typing import Any

from rich.bar import Bar
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
    TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from .analysis.importance import MIN_TRIALS, Importance, importance_by_metric
from .records import Failed, Finished, Interrupted, Notice, Pruned, Record, Started
from .storage import StudyLog
from .terminal import safe_text

TOP_TRIALS = 5
FRONT_ROWS = 15  # trials of the Pareto front listed in the summary of a multi-metric study
KEY_PARAMS = 4
BAR_WIDTH = 24


def format_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.6g}"


def format_params(params: dict, limit: int = KEY_PARAMS) -> str:
    """`lr=0.01, units=64 (+2)`, safe on a terminal whatever strings the params hold (not markup-escaped)."""
    items = [f"{k}={format_value(v) if isinstance(v, float) else v}" for k, v in params.items()]
    more = f" (+{len(items) - limit})" if len(items) > limit else ""
    return safe_text(", ".join(items[:limit]) + more)


def plain(text: object, *, lines: bool = False) -> Text:
    """Text from a study (a name, a reason, a param's value) as rich shows it: no markup read in it
    ("[red]x" stays as written), no escape sequence obeyed."""
    return Text(safe_text(text, lines=lines))


def print_importance(result: Importance, metric: str | list[str], direction: str | list[str],
                     console: Console | None = None) -> None:
    """`tui-tuner analyze`: a bar a param with its share, its share near the best trials, how far it moves
    the value, and its best and worst region; then what the numbers rest on. With several metrics: the
    first one's (as `param_importance` computes)."""
    out = console or Console()
    metric = metric[0] if isinstance(metric, list) else metric
    direction = direction[0] if isinstance(direction, list) else direction
    if result.importance:
        table = Table(title=plain(f"param importance: share of the variance of {metric} (fANOVA, {result.trials} "
                                  f"finished trials)"))
        for col in ("param", "share", "", "near best", f"spread of {metric}", f"best ({direction})", "worst"):
            table.add_column(plain(col),
                             justify="left" if col in ("param", "", f"best ({direction})", "worst") else "right")
        for name, share in result.importance.items():
            near = f"{result.near_best[name]:.0%}" if result.near_best else "-"
            sens = result.sensitivity.get(name)
            table.add_row(plain(name), f"{share:.1%}", Bar(1.0, 0.0, share, width=BAR_WIDTH), near,
                          format_value(sens.spread) if sens else "-", plain(sens.best) if sens else "-",
                          plain(sens.worst) if sens else "-")
        out.print(table)
        out.print(f"single params explain {result.main_effects:.0%} of the variance the forest sees; the rest "
                  "is interactions. Spread: how far the predicted value moves across the param's range, "
                  "the others averaged out.", markup=False, highlight=False)
    if result.note:
        out.print(plain(f"note: {result.note}"))


class Progress:
    """A rich progress bar fed by the study's events: trials done of the budget, best so far, ETA."""

    def __init__(self, study: Any, console: Console | None = None) -> None:
        self.study = study
        self.console = console or Console(stderr=True)
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TextColumn("{task.fields[running]} running"),
            TextColumn("{task.fields[failed]}"), TextColumn("{task.fields[governor]}"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        log = study.log
        done = sum(1 for r in log.records.values() if r.state in ("finished", "failed", "pruned"))
        self._task = self._bar.add_task(escape(safe_text(study.spec.name)), total=study.settings.trials,
                                        completed=done, best="-", running=0, failed="", governor="")
        study.subscribe(self._on_event)
        self._refresh_fields()

    def __enter__(self) -> "Progress":
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def _on_event(self, record: Record) -> None:
        if isinstance(record, Notice):
            self.console.print(plain(f"tui-tuner: {record.text}"), soft_wrap=True)  # one line
        if isinstance(record, (Finished, Failed, Pruned)):
            self._bar.advance(self._task)
        if isinstance(record, (Started, Finished, Failed, Pruned, Interrupted)):
            self._refresh_fields()

    def _refresh_fields(self) -> None:
        log = self.study.log
        best = log.best()
        failed = log.count("failed")
        shown = "/".join(map(format_value, best.values)) if best and best.values else format_value(best and best.value)
        note = self._governor_note()
        self._bar.update(self._task, best=shown, running=log.count("running"),
                         failed=f"[red]{failed} failed[/]" if failed else "",
                         governor=f"[yellow]{escape(note)}[/]" if note else "")

    def _governor_note(self) -> str | None:
        """What the overhead governor did in the run under way (the searcher held to less effort), if anything."""
        engine = getattr(self.study, "engine", None)
        return engine.governor_note if engine is not None else None

    def _print_importance(self, out: Console) -> None:
        """One line: the params ranked by their share, when there are enough finished trials to say."""
        study, log = self.study, self.study.log
        if log.count("finished") < MIN_TRIALS:
            return
        found = importance_by_metric(log.records.values(), study.spec.space, log.metrics, log.direction,
                                     seed=study.settings.seed)  # one line a metric
        for metric, result in found.items():
            if result.importance:
                out.print(plain(f"importance{f' for {metric}' if log.multi else ''} (fANOVA, {result.trials} "
                                f"trials): {result.ranking()}; more: tui-tuner analyze {study.directory}"),
                          soft_wrap=True)

    def print_summary(self) -> None:
        """Top trials, failures with their reasons, and the test score of the best, apart."""
        study, log, out = self.study, self.study.log, Console()
        metric = study.spec.objective.metric
        if log.multi:
            out.print(front_table(log, study.spec.name))
        else:
            ranked = log.ranked()
            table = Table(title=plain(f"{study.spec.name}: top trials ({metric}, {log.direction})"))
            for col in ("#", metric, "duration", "params"):
                table.add_column(plain(col), justify="right" if col != "params" else "left")
            for rec in ranked[:TOP_TRIALS]:
                table.add_row(str(rec.number), format_value(rec.value), f"{rec.duration or 0:.1f}s",
                              Text(format_params(rec.params)))
            out.print(table)
        failed = [r for r in log.records.values() if r.state in ("failed", "interrupted")]
        if failed:
            ftable = Table(title=f"failed trials ({len(failed)})")
            ftable.add_column("#", justify="right")
            ftable.add_column("reason")
            ftable.add_column("params")
            for rec in failed[:10]:
                ftable.add_row(str(rec.number), plain(rec.reason or rec.state, lines=True),
                               Text(format_params(rec.params)))
            out.print(ftable)
        counts = {s: log.count(s) for s in ("finished", "failed", "pruned", "interrupted")}
        out.print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no trials ran")
        note = self._governor_note()
        if note:
            out.print(plain(f"overhead governor: {note} (asks over search.ask_share of the study's time)"),
                      soft_wrap=True)
        self._print_importance(out)
        best = log.best()
        if best is not None and log.multi:
            values = ", ".join(f"{m} = {format_value(v)}" for m, v in zip(log.metrics, best.values))
            out.print(plain(f"picked by the balance ({log.balance.to_json()['rule']}): trial {best.number}, "
                            f"{values} (validation)"))
        elif best is not None:
            out.print(plain(f"best: trial {best.number}, {metric} = {format_value(best.value)} (validation)"))
            if study.test_score is not None:
                out.print(plain(f"test {metric} of the best config (held out, scored once): "
                                f"{format_value(study.test_score)}"))
        out.print(plain(f"study directory: {study.directory}"))


def front_table(log: StudyLog, name: str) -> Table:
    """The Pareto front of a multi-metric study: the trials no other trial beats on every metric."""
    front = log.front()
    more = f", {FRONT_ROWS} of {len(front)} shown, most spread out first" if len(front) > FRONT_ROWS else ""
    arrows = {"minimize": "↓", "maximize": "↑"}
    table = Table(title=plain(f"{name}: Pareto front ({len(front)} trials{more})"))
    table.add_column("#", justify="right")
    for metric, direction in zip(log.metrics, log.direction):
        table.add_column(plain(f"{metric} {arrows[direction]}"), justify="right")
    table.add_column("duration", justify="right")
    table.add_column("params")
    for rec in sorted(front[:FRONT_ROWS], key=lambda r: r.values):
        table.add_row(str(rec.number), *map(format_value, rec.values), f"{rec.duration or 0:.1f}s",
                      Text(format_params(rec.params)))
    return table


def print_comparison(summaries: list, note: str | None, *, color: bool = True, console: Console | None = None) -> None:
    """`tui-tuner compare`: a row a study (trials, its best, its top params), then the best-so-far histories
    on one plot (trial number across, best value up), then the note when their values do not compare."""
    import shutil

    import plotext as plt

    out = console or Console()
    table = Table(title="studies side by side")
    for col in ("study", "metric", "finished", "failed", "pruned", "best", "trial", "what mattered"):
        table.add_column(col, justify="right" if col in ("finished", "failed", "pruned", "best", "trial") else "left")
    for label, s in zip(_labels(summaries), summaries):
        log, best = s.log, s.best
        metric = log.header.metric
        table.add_row(plain(label), plain(f"{', '.join(metric) if isinstance(metric, list) else metric} "
                                          f"({'/'.join(log.direction) if log.multi else log.direction})"),
                      *(str(log.count(state)) for state in ("finished", "failed", "pruned")),
                      format_value(best.value) if best else "-", str(best.number) if best else "-",
                      plain(s.importance.ranking(3) or (s.importance.note or "-")))
    out.print(table)
    labels = _labels(summaries)
    curves = [(label, s) for label, s in zip(labels, summaries) if s.history]
    if curves:
        plt.clear_figure()
        plt.plotsize(min(shutil.get_terminal_size((100, 24)).columns, 120), 18)
        plt.theme("clear")
        last = 0
        for i, (_, s) in enumerate(curves):  # each study drawn with its own digit, so it reads without colour
            numbers, values = zip(*s.history)
            plt.plot(list(numbers), list(values), marker=str(i + 1))
            last = max(last, numbers[-1])
        step = max(1, math.ceil(last / 8))
        plt.xticks(list(range(0, last + 1, step)))
        plt.title("best so far")
        plt.xlabel("trial")
        text = plt.build()
        print(text if color else plt.uncolorize(text))
        out.print(plain("   ".join(f"{i + 1}: {label}" for i, (label, _) in enumerate(curves))), soft_wrap=True)
    if note:
        out.print(plain(f"note: {note}"))


def _labels(summaries: list) -> list[str]:
    """Each study's name, or its directory where two studies share a name (two runs of one study file)."""
    names = [s.name for s in summaries]
    return [s.name if names.count(s.name) == 1 else str(s.directory) for s in summaries]
