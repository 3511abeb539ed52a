"""How the study runs: the strategy (every one `make_searcher` knows, with its own options), the budget,
workers, seed and trial timeout. Edits are posted up; the app checks them and shows problems here."""

from __future__ import annotations

from typing import Any

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select

from ...searchers import SEARCHERS
from .error_line import ErrorLine

FIELDS = (  # key in the file's search section, label, placeholder, what may be typed (Input.type)
    ("trials", "trials", "20", "integer"),
    ("time_budget", "time budget s", "none", "number"),
    ("workers", "workers", "CPU count", "integer"),
    ("seed", "seed", "0", "integer"),
    ("trial_timeout", "trial timeout s", "none", "number"),
)


def parse_value(text: str) -> Any:
    """What a user types in a field, read as YAML reads it (5 -> 5, 0.5 -> 0.5, true -> True)."""
    text = text.strip()
    if not text:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def readable(default: Any) -> str:
    """An option's default as it would be typed in a study file (`auto` for None, `false`, not `False`)."""
    if default is None:
        return "auto"
    return yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("...").strip()


class StrategyPane(VerticalScroll):
    BINDINGS = [Binding("down", "field(1)", "next field", show=False),
                Binding("up", "field(-1)", "previous field", show=False),
                Binding("escape", "app.focus_board", "leave the field", tooltip="Back to the leaderboard, where the app's "
                        "keys work again (a field takes the letters typed in it)")]

    class Changed(Message):
        """The pane's values as a `search:` section (None for a field left empty)."""

        def __init__(self, search: dict) -> None:
            super().__init__()
            self.search = search

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._loading = True  # until `load()`: the widgets' first change events are not edits
        self._options_for: str | None = None  # the strategy whose option fields are shown

    def action_field(self, step: int) -> None:
        """up/down move between the fields (on the strategy list they open it, as Select does)."""
        fields = [w for w in self.query("Select, Input") if w.focusable]
        if self.screen.focused in fields:
            fields[(fields.index(self.screen.focused) + step) % len(fields)].focus()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("strategy", classes="field-label")
            yield Select([(name, name) for name in sorted(SEARCHERS)], allow_blank=False, value="random", compact=True,
                         id="strategy-select")
        for key, label, placeholder, kind in FIELDS:  # number fields take no letters: a stray r or p is not typed
            with Horizontal(classes="field"):
                yield Label(label, classes="field-label")
                yield Input(placeholder=placeholder, id=f"field-{key}", compact=True, type=kind)
        yield Vertical(id="strategy-options")
        yield ErrorLine(id="strategy-error")

    @property
    def strategy(self) -> str:
        return str(self.query_one("#strategy-select", Select).value)

    async def load(self, search: dict) -> None:
        """Fill the fields from a `search:` section."""
        self._loading = True
        try:
            strategy = search.get("strategy", "random")
            self.query_one("#strategy-select", Select).value = strategy if strategy in SEARCHERS else "random"
            for key, *_ in FIELDS:
                value = search.get(key)
                self.query_one(f"#field-{key}", Input).value = "" if value is None else str(value)
            await self._show_options(search)
        finally:
            self._loading = False

    async def _show_options(self, search: dict) -> None:
        box = self.query_one("#strategy-options", Vertical)
        self._options_for = self.strategy
        await box.remove_children()
        options = SEARCHERS[self.strategy].options if self.strategy in SEARCHERS else {}
        rows = []
        for name, default in options.items():
            value = search.get(name)
            field = Input(value="" if value is None else str(value), placeholder=readable(default),
                          id=f"option-{name}", compact=True)
            rows.append(Horizontal(Label(name, classes="field-label"), field, classes="field"))
        await box.mount_all(rows)

    def values(self) -> dict:
        search: dict[str, Any] = {"strategy": self.strategy}
        for key, *_ in FIELDS:
            search[key] = parse_value(self.query_one(f"#field-{key}", Input).value)
        for field in self.query("#strategy-options Input").results(Input):
            search[field.id.removeprefix("option-")] = parse_value(field.value)
        return search

    def show_error(self, message: str | None) -> None:
        self.query_one(ErrorLine).show(message)

    async def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self._loading:
            return
        if self.strategy != self._options_for:
            await self._show_options({})
        self.post_message(self.Changed(self.values()))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self._loading:
            self.post_message(self.Changed(self.values()))
