"""How the study runs: the strategy (every one `make_searcher` knows, with its own options), the budget,
workers, seed, trial timeout and where trials run (the process pool, or a dask cluster's address). Option fields are drawn from the strategy's declared options (label,
default, a hint, a list for a choice); edits are posted up, the app checks them and shows problems here."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from ...errors import InputError
from ...options import OneOf, Option
from ...searchers import SEARCHERS
from ...spec import EXECUTOR_HELP, SETTINGS, parse_value as study_value
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
        return study_value(text)
    except InputError:  # an alias bomb, a value nested too deeply: the check of the field refuses the text
        return text


def option_field(name: str, option: Option, value: Any) -> Input | Select:
    """The field of a declared option: a list for a choice (blank: the default), otherwise an input whose
    placeholder is the default; its tooltip is the option's description."""
    if isinstance(option.kind, OneOf):
        field: Input | Select = Select([(choice, choice) for choice in option.kind.choices],
                                       prompt=option.readable_default(), compact=True, id=f"option-{name}",
                                       value=value if value in option.kind.choices else Select.NULL)
    else:
        field = Input(value="" if value is None else str(value), placeholder=option.readable_default(),
                      id=f"option-{name}", compact=True)
    field.tooltip = option.help
    return field


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
                yield Input(placeholder=placeholder, id=f"field-{key}", compact=True, type=kind,
                            tooltip=SETTINGS[key].help)
        with Horizontal(classes="field"):
            yield Label("executor", classes="field-label")
            yield Input(placeholder="pool", id="field-executor", compact=True, tooltip=EXECUTOR_HELP)
        yield Vertical(id="strategy-options")
        yield Static(id="strategy-hint")
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
            executor = search.get("executor")
            shown = executor.get("dask") if isinstance(executor, dict) else executor
            self.query_one("#field-executor", Input).value = "" if shown in (None, "pool") else str(shown)
            await self._show_options(search)
        finally:
            self._loading = False

    async def _show_options(self, search: dict) -> None:
        box = self.query_one("#strategy-options", Vertical)
        self._options_for = self.strategy
        await box.remove_children()
        options = SEARCHERS[self.strategy].options if self.strategy in SEARCHERS else {}
        rows = [Horizontal(Label(name, classes="field-label"), option_field(name, option, search.get(name)),
                           classes="field") for name, option in options.items()]
        await box.mount_all(rows)

    def values(self) -> dict:
        search: dict[str, Any] = {"strategy": self.strategy}
        for key, *_ in FIELDS:
            search[key] = parse_value(self.query_one(f"#field-{key}", Input).value)
        executor = self.query_one("#field-executor", Input).value.strip()
        search["executor"] = None if executor in ("", "pool") else {"dask": executor}
        for field in self.query("#strategy-options Input").results(Input):
            search[field.id.removeprefix("option-")] = parse_value(field.value)
        for choice in self.query("#strategy-options Select").results(Select):
            search[choice.id.removeprefix("option-")] = None if choice.is_blank() else choice.value
        return search

    def show_error(self, message: str | None) -> None:
        self.query_one(ErrorLine).show(message)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_hint()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        """Under the fields, the description of the one with focus (or whose list is open): a tooltip needs a
        mouse. Read from the screen's focus, since a blur may arrive after the next field's focus."""
        focused = self.screen.focused
        within = focused.ancestors_with_self[: focused.ancestors_with_self.index(self)] \
            if focused is not None and self in focused.ancestors else []
        hint = next((widget.tooltip for widget in within if widget.tooltip), None)
        line = self.query_one("#strategy-hint", Static)
        line.update(str(hint or ""))
        line.set_class(bool(hint), "-visible")

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
