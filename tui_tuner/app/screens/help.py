"""`?`: every key of the app, by where it works."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


KEY_NAMES = {"question_mark": "?", "delete": "del", "backspace": "backspace"}


def key_rows(sections: list[tuple[str, list[Binding]]]) -> list[tuple[str, str, str]]:
    """(where, key, what) for every binding that has a description."""
    rows = []
    for where, bindings in sections:
        for b in bindings:
            if isinstance(b, Binding) and b.description:
                keys = " / ".join(KEY_NAMES.get(k, k) for k in b.key.split(","))
                rows.append((where, keys, b.tooltip or b.description))
    return rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="dialog help"):
            yield Static("tui-tuner keys", classes="dialog-title")
            table = DataTable(id="help-table", cursor_type="row", show_cursor=False)
            table.add_columns("where", "key", "what it does")
            table.add_rows(key_rows(self.sections))
            yield table
            yield Static("Everything works from the keyboard; ctrl+p opens the command palette. escape closes.",
                         classes="dialog-keys")
