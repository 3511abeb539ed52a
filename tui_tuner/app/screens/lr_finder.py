"""`l`: the LR range test's chart, the suggested rate and the range, and `a` to apply the range."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ...lr_finder import RangeTest, draw


class LrFinderScreen(ModalScreen[bool]):
    """Dismissed with True when the user applies the range to the learning_rate param."""

    BINDINGS = [Binding("a", "apply", "apply range"), Binding("escape,q", "close", "close")]

    def __init__(self, test: RangeTest, source: str, can_apply: bool) -> None:
        super().__init__()
        self.test = test
        self.source = source
        self.can_apply = can_apply

    def compose(self) -> ComposeResult:
        t = self.test
        with Vertical(id="dialog", classes="dialog lr-finder"):
            yield Static(f"LR range test on {self.source}", classes="dialog-title")
            yield PlotextPlot(id="lr-plot")
            ended = "stopped when the loss exploded" if t.exploded else "no explosion up to the top rate"
            yield Static(f"{len(t.rates)} batches, rates {t.rates[0]:.1e} to {t.rates[-1]:.2g} ({ended})\n"
                         f"suggested learning rate: {t.suggested:.3g}\n"
                         f"recommended search range: {t.low:.3g} to {t.high:.3g}", id="lr-summary")
            keys = "a apply the range to learning_rate · escape close" if self.can_apply else \
                "escape close (no float learning_rate param to narrow: add one with this range)"
            yield Static(keys, classes="dialog-keys")

    def on_mount(self) -> None:
        plot = self.query_one(PlotextPlot)
        draw(plot.plt, self.test)
        plot.refresh()

    def action_apply(self) -> None:
        if self.can_apply:
            self.dismiss(True)

    def action_close(self) -> None:
        self.dismiss(False)
