"""The form that adds or edits one search-space parameter, with fields for its type and inline errors."""

from __future__ import annotations

from typing import Callable

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, Static

from ...errors import InputError
from ..widgets.error_line import ErrorLine
from ..widgets.strategy_pane import parse_value

NUMERIC_FIELDS = ("low", "high", "step")
Check = Callable[[str, dict], None]  # raises InputError when (name, definition) does not fit the space


def definition_from(kind: str, values: dict[str, str], log: bool) -> dict:
    """The `params:` entry the form describes, from its raw field texts."""
    definition: dict = {"type": kind}
    if kind == "categorical":
        text = values["choices"].strip()
        parsed = parse_value(text) if text.startswith("[") else [parse_value(c) for c in text.split(",") if c.strip()]
        definition["choices"] = parsed
    else:
        for key in NUMERIC_FIELDS:
            value = parse_value(values[key])
            if value is not None:
                definition[key] = value
        if log:
            definition["log"] = True
    when = values["when"].strip()
    if when:
        definition["when"] = parse_value(when if when.startswith("{") else "{" + when + "}")
        if isinstance(definition["when"], str):
            definition["when"] = when  # not YAML: the space check says what is wrong with it
    return definition


def fields_from(definition: dict) -> dict[str, str]:
    def text(value) -> str:
        return "" if value is None else yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()

    when = definition.get("when") or {}
    return {
        "low": text(definition.get("low")), "high": text(definition.get("high")),
        "step": text(definition.get("step")),
        "choices": ", ".join(text(c) for c in definition.get("choices", [])),
        "when": ", ".join(f"{k}: {text(v)}" for k, v in when.items()) if isinstance(when, dict) else str(when),
    }


class ParamForm(ModalScreen):
    """Returns (name, definition) on enter when the check passes; None on escape."""

    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("enter", "save", "save", priority=True)]

    def __init__(self, name: str, definition: dict, check: Check, *, title: str) -> None:
        super().__init__()
        self.param_name = name
        self.definition = definition
        self.check = check
        self.title_text = title

    def compose(self) -> ComposeResult:
        kind = self.definition.get("type", "float")
        fields = fields_from(self.definition)
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield self._row("name", Input(self.param_name, id="name", compact=True))
            yield self._row("type", Select([(t, t) for t in ("float", "int", "categorical")], value=kind,
                                           allow_blank=False, id="type", compact=True))
            for key in NUMERIC_FIELDS:
                yield self._row(key, Input(fields[key], id=key, compact=True,
                                           placeholder="optional" if key == "step" else ""), numeric=True)
            yield self._row("log scale", Checkbox(value=bool(self.definition.get("log")), id="log",
                                                  compact=True), numeric=True)
            yield self._row("choices", Input(fields["choices"], id="choices", compact=True,
                                             placeholder="sgd, adam, 32 (comma separated)"), categorical=True)
            yield self._row("when", Input(fields["when"], id="when", compact=True,
                                          placeholder="optional, e.g. optimizer: sgd"))
            yield ErrorLine(id="form-error")
            yield Static("enter save · escape cancel", classes="dialog-keys")

    def _row(self, label: str, widget, *, numeric: bool = False, categorical: bool = False) -> Horizontal:
        classes = "field" + (" numeric" if numeric else "") + (" categorical" if categorical else "")
        return Horizontal(Label(label, classes="field-label"), widget, classes=classes)

    def on_mount(self) -> None:
        self._show_type_fields()
        self.validate()

    def _show_type_fields(self) -> None:
        categorical = self.query_one("#type", Select).value == "categorical"
        for row in self.query(".numeric"):
            row.display = not categorical
        for row in self.query(".categorical"):
            row.display = categorical

    def result(self) -> tuple[str, dict]:
        values = {key: self.query_one(f"#{key}", Input).value for key in ("low", "high", "step", "choices", "when")}
        kind = str(self.query_one("#type", Select).value)
        return self.query_one("#name", Input).value.strip(), definition_from(
            kind, values, self.query_one("#log", Checkbox).value)

    def validate(self) -> bool:
        """Check the form against the whole space; show the problem inline."""
        name, definition = self.result()
        error = self.query_one(ErrorLine)
        try:
            self.check(name, definition)
        except InputError as err:
            field = (err.field or "").removeprefix("params.")
            error.show(f"{field}: {err.message}" if field else err.message)
            return False
        error.show(None)
        return True

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show_type_fields()
        self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.validate()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.validate()

    def action_save(self) -> None:
        if self.validate():
            self.dismiss(self.result())

    def action_cancel(self) -> None:
        self.dismiss(None)
