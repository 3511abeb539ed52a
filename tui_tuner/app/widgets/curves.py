"""Plots of the study (plotext through textual-plotext): the selected trial's curves against the best
trial's (and, with a pruner, the value it must beat at each epoch to go on), its learning rate per epoch,
the optimization history, and value-versus-parameter slices.

Only the visible tab is drawn, and each curve is cut to a few hundred points: textual-plotext redraws the
whole figure on the UI thread, so drawing less is what keeps the app responsive.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ...storage import StudyLog, TrialRecord

MAX_POINTS = 300
LR_KEYS = ("lr", "learning_rate")
TABS = ("curves", "lr", "history", "slice")


def thin(xs: list, ys: list, limit: int = MAX_POINTS) -> tuple[list, list]:
    """At most `limit` evenly spaced points, always keeping the last one."""
    if len(xs) <= limit:
        return xs, ys
    step = len(xs) / limit
    picks = sorted({int(i * step) for i in range(limit)} | {len(xs) - 1})
    return [xs[i] for i in picks], [ys[i] for i in picks]


def series(record: TrialRecord, key: str) -> tuple[list, list]:
    points = [(step, values[key]) for step, values in record.reports
              if key in values and math.isfinite(values[key])]
    return thin([p[0] for p in points], [p[1] for p in points])


class Curves(Vertical):
    """Four tabs of plots; `show()` redraws the visible one."""

    BINDINGS = [Binding("v", "next_param", "slice param", tooltip="Plot the value against the next parameter")]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._study_log: StudyLog | None = None
        self._selected: int | None = None
        self._pruner = None
        self._param_index = 0
        self.metric = "value"

    def compose(self) -> ComposeResult:
        with TabbedContent(id="curve-tabs"):
            for tab in TABS:
                with TabPane(tab, id=f"tab-{tab}"):
                    yield PlotextPlot(id=f"plot-{tab}")

    def show(self, log: StudyLog, selected: int | None, pruner=None) -> None:
        """Draw `log` with trial `selected` in front; `pruner` (the running study's) adds its thresholds."""
        self._study_log, self._selected, self._pruner = log, selected, pruner
        self.redraw()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self.redraw()

    def action_next_param(self) -> None:
        self._param_index += 1
        self.query_one(TabbedContent).active = "tab-slice"
        self.redraw()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("tab-") or "curves"

    def redraw(self) -> None:
        tab = self.active_tab
        plot = self.query_one(f"#plot-{tab}", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if self._study_log is not None:
            getattr(self, f"_draw_{tab}")(plt, self._study_log)
        plot.refresh()

    def _pair(self, log: StudyLog) -> list[tuple[str, TrialRecord]]:
        """The selected trial and the best one (once if they are the same)."""
        chosen = []
        record = log.records.get(self._selected) if self._selected is not None else None
        if record is not None:
            chosen.append((f"#{record.number}", record))
        best = log.best()
        if best is not None and (record is None or best.number != record.number):
            chosen.append((f"best #{best.number}", best))
        return chosen

    def _draw_curves(self, plt, log: StudyLog) -> None:
        pair = self._pair(log)
        drawn = False
        for label, record in pair:
            keys = sorted({k for _, values in record.reports for k in values if k not in LR_KEYS})
            for key in keys:
                xs, ys = series(record, key)
                if xs:
                    plt.plot(xs, ys, label=f"{label} {key}", marker="braille")
                    drawn = True
        title = " vs ".join(label for label, _ in pair) or "no trial selected"
        if drawn and pair and self._pruner is not None:
            self._draw_threshold(plt, log, pair[0][1])
        plt.title(title if drawn else f"{title}: no reports yet (objectives report with trial.report)")
        plt.xlabel("epoch")

    def _draw_threshold(self, plt, log: StudyLog, record: TrialRecord) -> None:
        """Where the pruner would stop `record`: at each epoch, the value it has to beat."""
        last = max((step for r in log.records.values() for step, _ in r.reports[-1:]), default=-1)
        points = [(step, self._pruner.threshold(step, record.number)) for step in range(last + 1)]
        points = [(x, y) for x, y in points if y is not None and math.isfinite(y)]
        if points:
            xs, ys = thin([p[0] for p in points], [p[1] for p in points])
            side = "below" if log.direction == "maximize" else "above"
            plt.scatter(xs, ys, label=f"pruned {side} ({self.metric})", marker="x", color="red")

    def _draw_lr(self, plt, log: StudyLog) -> None:
        drawn = False
        for label, record in self._pair(log):
            for key in LR_KEYS:
                xs, ys = series(record, key)
                if xs:
                    plt.plot(xs, ys, label=f"{label} {key}", marker="braille")
                    drawn = True
        plt.title("learning rate per epoch" if drawn else "no learning rate reported (trial.report(epoch, lr=...))")
        plt.xlabel("epoch")

    def _draw_history(self, plt, log: StudyLog) -> None:
        done = sorted(log.finished(), key=lambda r: r.number)
        if not done:
            plt.title("optimization history: no finished trial yet")
            return
        xs, ys = thin([r.number for r in done], [r.value for r in done], MAX_POINTS * 2)
        plt.scatter(xs, ys, label=self.metric, marker="dot")
        pick = max if log.direction == "maximize" else min
        best, bx, by = None, [], []
        for r in done:
            best = r.value if best is None else pick(best, r.value)
            bx.append(r.number)
            by.append(best)
        bx, by = thin(bx, by)
        plt.plot(bx, by, label="best so far", marker="braille")
        plt.title(f"optimization history ({log.direction})")
        plt.xlabel("trial")

    def _draw_slice(self, plt, log: StudyLog) -> None:
        done = log.finished()
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
        else:
            labels = sorted({str(x) for x, _ in points})
            xs = [labels.index(str(x)) for x, _ in points]
            plt.scatter(xs, [y for _, y in points], marker="dot")
            plt.xticks(list(range(len(labels))), labels)
        plt.title(f"{self.metric} vs {name}  (v: next parameter)")
        plt.xlabel(name)
