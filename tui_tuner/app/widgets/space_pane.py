"""The search space as a table: one row a parameter. Keys ask the app to add, edit, copy or delete one."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from ...space import CategoricalParam, SearchSpace
from ...terminal import safe_text
from .row_table import RowTable

COLUMNS = ("name", "type", "range / choices", "log", "when")


def when_text(when: dict | None) -> str:
    """A condition as a person reads it: `optimizer = sgd`, `lr_schedule = cosine or one_cycle` (no escape
    sequence a choice may hold obeyed)."""
    return safe_text(", ".join(f"{k} = {' or '.join(map(str, v)) if isinstance(v, list) else v}"
                               for k, v in (when or {}).items()))


def describe(param) -> tuple[str, str, str, str, str]:
    """One table row for a parameter, as markup (what a DataTable cell is): choices and conditions escaped,
    shown as written."""
    d = param.to_dict()
    when = escape(when_text(d.get("when")))
    if isinstance(param, CategoricalParam):
        return param.name, "categorical", escape(safe_text(", ".join(map(str, d["choices"])))), "", when
    extent = f"{d['low']:g} .. {d['high']:g}"
    if d.get("step") is not None:
        extent += f" step {d['step']:g}"
    return param.name, d["type"], extent, "log" if d.get("log") else "", when


class SpaceTable(RowTable):
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("a", "add", "add param", show=False),
        Binding("enter", "edit", "edit", show=False),
        Binding("d", "duplicate", "duplicate", show=False),
        Binding("delete,backspace", "delete", "delete", show=False),
    ]

    class EditParam(Message):
        """Open the form: `name` None adds a parameter; `duplicate` starts a copy of `name`."""

        def __init__(self, name: str | None, duplicate: bool = False) -> None:
            super().__init__()
            self.name = name
            self.duplicate = duplicate

    class DeleteParam(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    @property
    def selected_name(self) -> str | None:
        return self.selected_key

    def show(self, space: SearchSpace, select: str | None = None) -> None:
        keep = select or self.selected_name
        self.clear()
        for param in space.params:
            self.add_row(*describe(param), key=param.name)
        if keep in space:
            self.move_cursor(row=self.get_row_index(keep))

    def action_add(self) -> None:
        self.post_message(self.EditParam(None))

    def action_edit(self) -> None:
        if self.selected_name:
            self.post_message(self.EditParam(self.selected_name))

    def action_duplicate(self) -> None:
        if self.selected_name:
            self.post_message(self.EditParam(self.selected_name, duplicate=True))

    def action_delete(self) -> None:
        if self.selected_name:
            self.post_message(self.DeleteParam(self.selected_name))


class SpacePane(Vertical):
    """Title, the parameter table, and the grid size when the strategy is grid."""

    def compose(self) -> ComposeResult:
        yield SpaceTable(id="space-table")
        yield Static("", id="space-info", classes="pane-info")

    def show(self, space: SearchSpace, *, grid_size: int | None = None, select: str | None = None) -> None:
        self.query_one(SpaceTable).show(space, select)
        info = f"{len(space)} parameters"
        if grid_size is not None:
            info += f" · grid: {grid_size:,} configs"
        self.query_one("#space-info", Static).update(info + " · a add · enter edit · d copy · del delete")
