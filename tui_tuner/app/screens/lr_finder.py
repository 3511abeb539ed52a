"""`l`: the LR range test's chart, the suggested rate and the range; `a` applies the range within the
learning_rate param's bounds, `w` (offered only when the range reaches past them) widens the bounds."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ...lr_finder import RangeTest, draw
from ...terminal import safe_text


class LrFinderScreen(ModalScreen[str | None]):
    """Dismissed with "apply" or "widen" (keys of `ranges`, the param definitions each would set), or None."""

    BINDINGS = [Binding("a", "choose('apply')", "apply range"), Binding("w", "choose('widen')", "widen"),
                Binding("escape,q", "close", "close")]

    def __init__(self, test: RangeTest, source: str, ranges: dict[str, dict]) -> None:
        super().__init__()
        self.test = test
        self.source = source
        self.ranges = ranges

    def compose(self) -> ComposeResult:
        t = self.test
        with Vertical(id="dialog", classes="dialog lr-finder"):
            yield Static(Content(f"LR range test on {safe_text(self.source)}"), classes="dialog-title")
            yield PlotextPlot(id="lr-plot")
            ended = "stopped when the loss exploded" if t.exploded else "no explosion up to the top rate"
            yield Static(f"{len(t.rates)} batches, rates {t.rates[0]:.1e} to {t.rates[-1]:.2g} ({ended})\n"
                         f"suggested learning rate: {t.suggested:.3g}\n"
                         f"recommended search range: {t.low:.3g} to {t.high:.3g}", id="lr-summary")
            yield Static(self._choices(), classes="dialog-keys")

    def on_mount(self) -> None:
        plot = self.query_one(PlotextPlot)
        draw(plot.plt, self.test)
        plot.refresh()

    def _choices(self) -> str:
        if not self.ranges:
            return "escape close (no float learning_rate param to set: add one with this range)"
        keys = []
        if "apply" in self.ranges:
            r = self.ranges["apply"]
            keys.append(f"a search {r['low']:.3g} to {r['high']:.3g} (within learning_rate's bounds)")
        if "widen" in self.ranges:
            r = self.ranges["widen"]
            keys.append(f"w search {r['low']:.3g} to {r['high']:.3g} (past the bounds, widening them)")
        return "\n".join(keys + ["escape close, nothing changed"])

    def action_choose(self, choice: str) -> None:
        if choice in self.ranges:
            self.dismiss(choice)

    def action_close(self) -> None:
        self.dismiss(False)
