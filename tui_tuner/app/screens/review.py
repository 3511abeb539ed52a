"""Review mode: the searcher's next suggestion, with the model's prediction, held until the user decides."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ...progress import format_params, format_value
from ...terminal import safe_text


class ReviewSuggestion(ModalScreen[str]):
    """Dismissed with "accept", "edit", "skip", or "end" (run it and leave review mode)."""

    BINDINGS = [Binding("enter", "answer('accept')", "accept", priority=True),
                Binding("m", "answer('edit')", "edit"), Binding("x", "answer('skip')", "skip"),
                Binding("R", "answer('end')", "end review")]

    def __init__(self, params: dict, predicted: list | None, *, strategy: str, metric: str) -> None:
        super().__init__()
        self.params = params
        self.predicted = predicted
        self.strategy = strategy
        self.metric = metric

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(f"next suggestion of {self.strategy}", classes="dialog-title")
            yield Static(Content(format_params(self.params, limit=len(self.params))), id="suggestion")
            if self.predicted:
                mean, std = self.predicted
                yield Static(Content.from_markup(f"predicted $metric: [b]{format_value(mean)}[/b] ± {std:.3g}",
                                                 metric=safe_text(self.metric)), id="prediction")
            yield Static("enter run it · m edit it first · x skip it (not suggested again) · R run it and end "
                         "review mode", classes="dialog-keys")

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)
