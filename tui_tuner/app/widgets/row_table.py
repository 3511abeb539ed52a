"""A DataTable of whole rows, each keyed by what it shows (a trial number, a parameter name)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable):
    COLUMNS: tuple[str, ...] = ()
    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)

    def on_mount(self) -> None:
        if self.columns:  # already set for what the table shows (the leaderboard of several metrics)
            return
        for column in self.COLUMNS:
            self.add_column(column, key=column)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
