"""Small dialogs: a one-line prompt whose answer is checked before it closes, and a yes/no question."""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...errors import TunerError
from ..widgets.error_line import ErrorLine


class PathPrompt(ModalScreen):
    """Asks for one line: a path, or how many more trials (enter accepts the default). `accept(text)` does
    the work and returns a message; a TunerError it raises is shown inline and the dialog stays open."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, default: str, accept: Callable[[str], str], *, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.accept = accept
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            if self.hint:
                yield Static(self.hint, classes="dialog-hint")
            yield Input(self.default, id="path", compact=True)
            yield ErrorLine(id="form-error")
            yield Static("enter accept · escape cancel", classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            message = self.accept(event.value.strip() or self.default)
        except TunerError as err:
            self.query_one(ErrorLine).show(str(err))
            return
        self.dismiss(message)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            yield Static("y yes · n no", classes="dialog-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
