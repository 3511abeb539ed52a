"""Plots of the study (plotext through textual-plotext): the selected trial's curves against the best
trial's (and, with a pruner, the value it must beat at each epoch to go on), its learning rate per epoch,
the optimization history, value-versus-parameter slices, and the plots that help decide (study_plots.py):
parameter importance, parallel coordinates, a contour of two params, the Pareto front of several metrics.

Only the visible tab is drawn, and each curve is cut to a few hundred points: textual-plotext redraws the
whole figure on the UI thread, so drawing less is what keeps the app responsive.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ...analysis.importance import Importance, param_importance
from ...space import SearchSpace
from ...storage import StudyLog, TrialRecord
from ...terminal import markup_escape, safe_text
from . import study_plots

MAX_POINTS = 300
MAX_TICKS = 8
LR_KEYS = ("lr", "learning_rate")
TABS = ("curves", "lr", "history", "slice", "importance", "parallel", "contour", "front")
STUDY_TABS = ("history", "slice", "importance", "parallel", "contour", "front")  # redrawn as trials end
IMPORTANCE_SECONDS = 3.0  # importance is recomputed at most this often (a forest fit: up to seconds)
SCORE_WORDS = ("acc", "auc", "f1", "precision", "recall", "r2", "score", "iou", "dice")  # bounded, higher is better
COLORS = ("blue", "green", "magenta", "cyan", "yellow", "white", "bright_blue", "bright_green")  # red: the pruner
DECADES = 100.0  # a positive series whose max / min reaches this is drawn on a log scale


def thin(xs: list, ys: list, limit: int = MAX_POINTS) -> tuple[list, list]:
    """At most `limit` evenly spaced points, always keeping the last one."""
    if len(xs) <= limit:
        return xs, ys
    step = len(xs) / limit
    picks = sorted({int(i * step) for i in range(limit)} | {len(xs) - 1})
    return [xs[i] for i in picks], [ys[i] for i in picks]


def is_score(key: str) -> bool:
    """Accuracy-like metrics (bounded, higher is better) get their own axis, apart from losses."""
    return any(word in key.lower() for word in SCORE_WORDS)


def integer_ticks(xs: list) -> list[int]:
    """Whole-number ticks over `xs` (epochs, trial numbers): at most `MAX_TICKS`, never 0.5."""
    low, high = int(math.floor(min(xs))), int(math.ceil(max(xs)))
    step = max(1, math.ceil((high - low) / (MAX_TICKS - 1)))
    return list(range(low, high + 1, step))


def spans_decades(values: list[float]) -> bool:
    return bool(values) and min(values) > 0 and max(values) / min(values) >= DECADES


def series(record: TrialRecord, key: str) -> tuple[list, list]:
    points = [(step, values[key]) for step, values in record.reports
              if key in values and math.isfinite(values[key])]
    return thin([p[0] for p in points], [p[1] for p in points])


class Curves(Vertical):
    """Tabs of plots; `show()` redraws the visible one."""

    BINDINGS = [
        Binding("v", "next_param", "slice param", tooltip="Plot the value against the next parameter"),
        Binding("c", "contour_x", "contour x", tooltip="Contour: the next parameter across"),
        Binding("C", "contour_y", "contour y", tooltip="Contour: the next parameter up"),
        Binding("M", "next_metric", "next metric",
                tooltip="Several metrics: history, slice, importance, parallel and contour of the next one"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._study_log: StudyLog | None = None
        self._selected: int | None = None
        self._pruner = None
        self._param_index = 0
        self._legend: list[str] = []  # what the plot being drawn shows, as markup for the line under it
        self._view: StudyLog | None = None  # several metrics: the finished trials ranked (off the event loop)
        self._contour = [0, 0]  # the contour's x param (an index into the space), its y (into the others)
        self._importance: Importance | None = None
        self._importance_of = -1  # finished trials it was computed on
        self._importance_busy = False  # computing, or waiting to (at most one of each at a time)
        self._importance_last = 0.0  # monotonic time the last computation ended
        self.metric = "value"  # the metric the study plots show (several metrics: M picks which)
        self._metrics: list[str] = ["value"]
        self._metric_index = 0
        self.space: SearchSpace | None = None

    def on_mount(self) -> None:
        self.query_one(TabbedContent).hide_tab("tab-front")  # until a study of several metrics comes

    def set_study(self, space: SearchSpace, metric: str | list[str]) -> None:
        """The study the plots are about: its space and metric(s); the front tab only with several metrics."""
        self.space, self._metrics = space, list(metric) if isinstance(metric, list) else [metric]
        self._metric_index, self.metric = 0, self._metrics[0]
        self._importance, self._importance_of, self._view = None, -1, None
        tabs = self.query_one(TabbedContent)
        if isinstance(metric, list):
            tabs.show_tab("tab-front")
        else:
            tabs.hide_tab("tab-front")

    def compose(self) -> ComposeResult:
        with TabbedContent(id="curve-tabs"):
            for tab in TABS:
                with TabPane(tab, id=f"tab-{tab}"):
                    yield PlotextPlot(id=f"plot-{tab}")
        yield Static(id="curve-legend")  # below the plot, never over its data

    def show(self, log: StudyLog, selected: int | None, pruner=None, view: StudyLog | None = None) -> None:
        """Draw `log` with trial `selected` in front; `pruner` (the running study's) adds its thresholds;
        `view`, with several metrics, is the latest ranking of the finished trials (see app/ranking.py)."""
        self._study_log, self._selected, self._pruner, self._view = log, selected, pruner, view
        self.redraw()

    def clear(self) -> None:
        """Nothing to draw (a study file that has not run): the previous study's plots go."""
        self.show(None, None)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self.redraw()

    def action_next_param(self) -> None:
        self._param_index += 1
        self.query_one(TabbedContent).active = "tab-slice"
        self.redraw()

    def action_contour_x(self) -> None:
        self._contour[0] += 1
        self.query_one(TabbedContent).active = "tab-contour"
        self.redraw()

    def action_contour_y(self) -> None:
        self._contour[1] += 1
        self.query_one(TabbedContent).active = "tab-contour"
        self.redraw()

    def action_next_metric(self) -> None:
        if len(self._metrics) < 2:
            self.notify("this study has one metric", severity="warning")
            return
        self._metric_index = (self._metric_index + 1) % len(self._metrics)
        self.metric = self._metrics[self._metric_index]
        self._importance, self._importance_of = None, -1
        self.redraw()

    def _direction(self, log: StudyLog) -> str:
        """The direction of the metric the plots show."""
        return log.direction[self._metric_index] if log.multi else log.direction

    def _finished(self, log: StudyLog) -> list[TrialRecord]:
        """The finished trials, each with the value of the metric the plots show."""
        if self._metric_index == 0:
            return log.finished()
        return [replace(r, value=r.values[self._metric_index]) for r in log.finished() if r.values]

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("tab-") or "curves"

    def redraw(self) -> None:
        tab = self.active_tab
        plot = self.query_one(f"#plot-{tab}", PlotextPlot)
        plt = ShownText(plot.plt)
        plt.clear_data()
        plt.clear_figure()
        self._legend = []
        if self._study_log is not None:
            getattr(self, f"_draw_{tab}")(plt, self._study_log)
        self.query_one("#curve-legend", Static).update("   ".join(self._legend))
        plot.refresh()

    def _draw(self, plt, lines: list[tuple], axes: dict[str, str]) -> None:
        """Draw `lines` (legend text, xs, ys, y side, marker) with each y axis labelled from `axes` and
        named in the legend line under the plot (plotext's own legend would sit on the data). An axis whose
        values span decades (a loss from 10 to 0.01) is drawn in log10 with ticks at the decades: plotext's
        own log scale rescales the data again on every repaint."""
        for side, label in axes.items():
            values = [y for _, _, ys, line_side, _ in lines if line_side == side for y in ys]
            if not values:
                continue
            log = spans_decades(values)
            if log:
                low, high = math.ceil(math.log10(min(values))), math.floor(math.log10(max(values)))
                decades = range(low, high + 1, max(1, math.ceil((high - low) / (MAX_TICKS - 1))))
                plt.yticks(list(decades), [f"{10.0 ** k:g}" for k in decades], yside=side)
                label += " (log)"
            plt.ylabel(label, yside=side)
            for legend, xs, ys, _, marker in (line for line in lines if line[3] == side):
                ys = [math.log10(y) for y in ys] if log else ys
                color = "red" if marker == "x" else COLORS[len(self._legend) % len(COLORS)]
                draw = plt.plot if marker == "braille" else plt.scatter
                draw(xs, ys, marker=marker, color=color, yside=side)
                self._legend.append(f"[{color}]{ {'braille': '━━', 'dot': '•'}.get(marker, marker)}[/] "
                                    f"{markup_escape(legend)}")
        steps = [x for _, xs, _, _, _ in lines for x in xs]
        if steps:
            plt.xticks(integer_ticks(steps))

    def _pair(self, log: StudyLog) -> list[tuple[str, TrialRecord]]:
        """The selected trial and the best one (once if they are the same)."""
        chosen = []
        record = log.records.get(self._selected) if self._selected is not None else None
        if record is not None:
            chosen.append((f"#{record.number}", record))
        best = self._best(log)
        if best is not None and (record is None or best.number != record.number):
            chosen.append((f"best #{best.number}", best))
        return chosen

    def _draw_curves(self, plt, log: StudyLog) -> None:
        """Scores (accuracy) on the left axis, losses on the right one, each scaled to itself."""
        pair = self._pair(log)
        keys = sorted({k for _, record in pair for _, values in record.reports for k in values if k not in LR_KEYS})
        scores = [k for k in keys if is_score(k)]
        sides = {k: "left" if k in scores or not scores else "right" for k in keys}
        lines = []
        for label, record in pair:
            for key in keys:
                xs, ys = series(record, key)
                if xs:
                    lines.append((f"{label} {key}", xs, ys, sides[key], "braille"))
        title = " vs ".join(label for label, _ in pair) or "no trial selected"
        if lines and self._pruner is not None:
            lines += self._threshold(log, pair[0][1], sides.get(self.metric, "left"))
        self._draw(plt, lines, {side: _axis_name([k for k in keys if sides[k] == side]) for side in ("left", "right")})
        plt.title(title if lines else f"{title}: no reports yet (objectives report with trial.report)")
        plt.xlabel("epoch")

    def _threshold(self, log: StudyLog, record: TrialRecord, side: str) -> list[tuple]:
        """Where the pruner would stop `record`: at each epoch, the value it has to beat."""
        last = max((step for r in log.records.values() for step, _ in r.reports[-1:]), default=-1)
        points = [(step, self._pruner.threshold(step, record.number)) for step in range(last + 1)]
        points = [(x, y) for x, y in points if y is not None and math.isfinite(y)]
        if not points:
            return []
        xs, ys = thin([p[0] for p in points], [p[1] for p in points])
        where = "below" if study_plots.first_direction(log.direction) == "maximize" else "above"
        return [(f"pruned {where} ({self.metric})", xs, ys, side, "x")]

    def _draw_lr(self, plt, log: StudyLog) -> None:
        lines = []
        for label, record in self._pair(log):
            for key in LR_KEYS:
                xs, ys = series(record, key)
                if xs:
                    lines.append((f"{label} {key}", xs, ys, "left", "braille"))
        self._draw(plt, lines, {"left": "learning rate"})
        plt.title("learning rate per epoch" if lines else "no learning rate reported (trial.report(epoch, lr=...))")
        plt.xlabel("epoch")

    def _draw_history(self, plt, log: StudyLog) -> None:
        done = sorted(self._finished(log), key=lambda r: r.number)
        if not done:
            plt.title("optimization history: no finished trial yet")
            return
        xs, ys = thin([r.number for r in done], [r.value for r in done], MAX_POINTS * 2)
        pick = max if self._direction(log) == "maximize" else min
        best, bx, by = None, [], []
        for r in done:
            best = r.value if best is None else pick(best, r.value)
            bx.append(r.number)
            by.append(best)
        bx, by = thin(bx, by)
        self._draw(plt, [(f"{self.metric} of each trial", xs, ys, "left", "dot"),
                         ("best so far", bx, by, "left", "braille")], {"left": self.metric})
        plt.title(f"optimization history ({self._direction(log)}){self._metric_hint()}")
        plt.xlabel("trial")

    def _metric_hint(self) -> str:
        return "  (M: next metric)" if len(self._metrics) > 1 else ""

    def _draw_slice(self, plt, log: StudyLog) -> None:
        done = self._finished(log)
        names = list(dict.fromkeys(k for r in done for k in r.params))
        if not names:
            plt.title("value vs parameter: no finished trial yet")
            return
        name = names[self._param_index % len(names)]
        points = [(r.params[name], r.value) for r in done if name in r.params]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in points)
        if numeric:
            xs, ys = thin([p[0] for p in points], [p[1] for p in points], MAX_POINTS * 2)
            plt.scatter(xs, ys, marker="dot")
            values = [x for x, _ in points]
            if min(values) > 0 and max(values) / min(values) > 100:
                plt.xscale("log")
            elif all(isinstance(x, int) for x in values):
                plt.xticks(integer_ticks(values))
        else:
            labels = sorted({str(x) for x, _ in points})
            xs = [labels.index(str(x)) for x, _ in points]
            plt.scatter(xs, [y for _, y in points], marker="dot")
            plt.xticks(list(range(len(labels))), labels)
        plt.title(f"{self.metric} vs {name}  (v: next parameter){self._metric_hint()}")
        plt.ylabel(self.metric)
        plt.xlabel(name)

    def _best(self, log: StudyLog) -> TrialRecord | None:
        """The best trial; with several metrics the balance's pick of the latest ranking (never ranked here)."""
        if log.multi:
            return self._view.best() if self._view is not None else None
        return log.best()

    def _draw_importance(self, plt, log: StudyLog) -> None:
        finished = log.count("finished")
        self._legend = study_plots.draw_importance(plt, self._importance, self.metric, finished)
        if len(self._metrics) > 1:
            self._legend.append("M: next metric")
        if finished != self._importance_of and self.space is not None and not self._importance_busy:
            self._importance_busy = True
            wait = self._importance_last + IMPORTANCE_SECONDS - time.monotonic() if self._importance_of >= 0 else 0
            if wait > 0:
                self.set_timer(wait, self._importance_waited)
            else:
                self.run_worker(self._compute_importance(log.finished(), log.direction, finished,
                                                         self._metric_index), group="importance", exit_on_error=False)

    def _importance_waited(self) -> None:
        self._importance_busy = False
        self._refresh_importance()

    def _refresh_importance(self) -> None:
        if self.active_tab == "importance":
            self.redraw()

    async def _compute_importance(self, records: list[TrialRecord], direction, finished: int, metric: int) -> None:
        """fANOVA in a thread (numpy and scikit-learn on the records: no user code), then the bars."""
        space = self.space
        try:
            result = await asyncio.to_thread(param_importance, records, space, direction,
                                             metric=metric if isinstance(direction, list) else None)
        finally:
            self._importance_busy = False
        if space is self.space and metric == self._metric_index:  # still the same study and metric
            self._importance, self._importance_of = result, finished
            self._importance_last = time.monotonic()
            self._refresh_importance()

    def _draw_parallel(self, plt, log: StudyLog) -> None:
        if self.space is not None:
            self._legend = study_plots.draw_parallel(plt, self._finished(log), self.space, self._direction(log),
                                                     self.metric)

    def _draw_contour(self, plt, log: StudyLog) -> None:
        names = self.space.names if self.space is not None else ()
        if len(names) < 2:
            plt.title("contour: needs two params")
            return
        x = names[self._contour[0] % len(names)]
        others = [n for n in names if n != x]
        y = others[self._contour[1] % len(others)]
        self._legend = study_plots.draw_contour(plt, self._finished(log), self.space, x, y, self._direction(log),
                                                self.metric)

    def _draw_front(self, plt, log: StudyLog) -> None:
        if not log.multi:
            plt.title("Pareto front: this study has one metric (objective.metric a list gives several)")
            return
        self._legend = study_plots.draw_front(plt, self._view, log.count("finished"))


class ShownText:
    """plotext, with the words it draws (titles, axis and tick labels: metric names, report keys, a param's
    categories) passed through `safe_text`: plotext writes them into the terminal's stream as they are."""

    def __init__(self, plt) -> None:
        self._plt = plt

    def __getattr__(self, name: str):
        return getattr(self._plt, name)

    def title(self, text: str) -> None:
        self._plt.title(safe_text(text))

    def xlabel(self, text: str, **kwargs) -> None:
        self._plt.xlabel(safe_text(text), **kwargs)

    def ylabel(self, text: str, **kwargs) -> None:
        self._plt.ylabel(safe_text(text), **kwargs)

    def xticks(self, ticks, labels=None, **kwargs) -> None:
        self._plt.xticks(ticks, None if labels is None else [safe_text(label) for label in labels], **kwargs)

    def yticks(self, ticks, labels=None, **kwargs) -> None:
        self._plt.yticks(ticks, None if labels is None else [safe_text(label) for label in labels], **kwargs)


def _axis_name(keys: list[str]) -> str:
    """An axis's label from the metrics on it: `accuracy`, or `loss` for loss and val_loss."""
    if len(keys) == 1:
        return keys[0]
    words = {k.rsplit("_", 1)[-1] for k in keys}
    return words.pop() if len(words) == 1 else ", ".join(keys)
