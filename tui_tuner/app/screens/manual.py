"""A manual trial: a field per parameter, pre-filled from a trial or the best config; enter runs it."""

from __future__ import annotations

from typing import Callable

import yaml
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from ..widgets.space_pane import when_text

from ...errors import InputError
from ...progress import format_value
from ...space import SearchSpace
from ...terminal import safe_text
from ..widgets.error_line import ErrorLine
from ..widgets.strategy_pane import parse_value


class ManualTrial(ModalScreen):
    """Returns a config checked against the space, or None on escape. Inactive parameters are left out."""

    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("enter", "run", "run trial", priority=True)]

    def __init__(self, space: SearchSpace, config: dict, *, title: str,
                 predict: Callable[[dict], tuple[float, float]] | None = None, metric: str = "value") -> None:
        super().__init__()
        self.space = space
        self.config = config
        self.title_text = title
        self.predict = predict  # the bayes model's (mean, std) for a config, updated as the fields change
        self.metric = metric

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(id="manual-fields"):
                for param in self.space.params:
                    value = self.config.get(param.name)
                    text = "" if value is None else yaml.safe_dump(value, default_flow_style=True).strip()
                    text = text.removesuffix("...").strip()
                    yield Horizontal(Label(param.name, classes="field-label"),
                                     Input(text, id=f"manual-{param.name}", compact=True,
                                           placeholder=_hint(param)), classes="field")
            yield ErrorLine(id="form-error")
            yield Static("", id="prediction")
            yield Static("enter run as a trial of the study · escape cancel", classes="dialog-keys")

    def on_mount(self) -> None:
        self.validate()

    def config_from_fields(self) -> dict:
        config: dict = {}
        for param in self.space.params:
            text = self.query_one(f"#manual-{param.name}", Input).value
            if self.space.is_active(param, config) and text.strip():
                config[param.name] = parse_value(text)
        return config

    def validate(self) -> dict | None:
        error = self.query_one(ErrorLine)
        try:
            config = self.space.validate_config(self.config_from_fields())
        except InputError as err:
            error.show(f"{err.field}: {err.message}" if err.field else err.message)
            self._show_prediction(None)
            return None
        error.show(None)
        self._show_prediction(config)
        return config

    def _show_prediction(self, config: dict | None) -> None:
        line = self.query_one("#prediction", Static)
        if self.predict is None:
            line.display = False
            return
        if config is None:
            line.update("")
            return
        try:
            mean, std = self.predict(config)
        except ValueError as err:
            line.update(Content.from_markup("[dim]no prediction: $err[/dim]", err=safe_text(err)))
            return
        line.update(Content.from_markup(f"predicted $metric: [b]{format_value(mean)}[/b] ± {std:.3g} (bayes model)",
                                        metric=safe_text(self.metric)))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.validate()

    def action_run(self) -> None:
        config = self.validate()
        if config is not None:
            self.dismiss(config)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _hint(param) -> str:
    d = param.to_dict()
    if "choices" in d:
        return safe_text(" | ".join(map(str, d["choices"])))
    hint = f"{d['low']:g} .. {d['high']:g}"
    if d.get("when"):
        hint += f" (when {when_text(d['when'])})"
    return hint
