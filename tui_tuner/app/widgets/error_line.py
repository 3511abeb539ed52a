"""One line that says what is wrong with an edit, hidden while nothing is."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from ...terminal import safe_text


class ErrorLine(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__("", classes="error", **kwargs)

    def show(self, message: str | None) -> None:
        """`message` as written (it may quote a value typed or a choice of the study file: "[red]x")."""
        self.update(Content(safe_text(message or "")))
        self.set_class(bool(message), "-visible")
