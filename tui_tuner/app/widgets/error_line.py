"""One line that says what is wrong with an edit, hidden while nothing is."""

from __future__ import annotations

from textual.widgets import Static


class ErrorLine(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__("", classes="error", **kwargs)

    def show(self, message: str | None) -> None:
        self.update(message or "")
        self.set_class(bool(message), "-visible")
