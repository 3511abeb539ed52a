"""A DataTable of whole rows, each keyed by what it shows (a trial number, a parameter name).

Also what DataTable lacks for tables updated many times a second (the leaderboard): removing many rows in one
pass, and updating a row without measuring whole columns again."""

from __future__ import annotations

from typing import Iterable

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, CellType, ColumnKey, RowKey


def cell_width(value: CellType) -> int:
    """Width of a one-line cell as DataTable draws it (its `default_cell_formatter`): strings are markup,
    floats have two decimals, anything else its `str`."""
    if isinstance(value, str):
        return Text.from_markup(value).cell_len if "[" in value else cell_len(value)
    if isinstance(value, Text):
        return value.cell_len
    return len(f"{value:.2f}") if isinstance(value, float) else len(str(value))

ROWS_KEPT_DRAWN = 2000  # rows of a table kept as drawn: a few screens, with and without the cursor on them


class RowTable(DataTable):
    COLUMNS: tuple[str, ...] = ()
    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._drawn_rows: LRUCache[tuple, tuple] = LRUCache(ROWS_KEPT_DRAWN)

    def _render_line_in_row(self, row_key: RowKey, line_no: int, base_style: Style, cursor_location: Coordinate,
                            hover_location: Coordinate) -> tuple:
        """A row as drawn, kept while what it shows and where it is stay the same. DataTable draws every
        visible cell again after any change to any row (its caches key on a table-wide update count): 40
        rows of the leaderboard, 30-60 ms, each time a running trial reports."""
        if row_key not in self._data:  # the header
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        index = self._row_locations.get(row_key)
        key = (row_key, tuple(self._data[row_key].values()), index, line_no, base_style,
               cursor_location.row == index, hover_location.row == index, self.show_cursor,
               self._show_hover_cursor, self._pseudo_class_state, self.size.width, self.app.theme,
               tuple(column.get_render_width(self) for column in self.ordered_columns))
        drawn = self._drawn_rows.get(key)
        if drawn is None:
            drawn = super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
            self._drawn_rows[key] = drawn
        return drawn

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

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen the columns for new rows from their cells' text. DataTable renders each new cell to measure
        it: 0.2 s for the 500 rows a first ranking brings to the leaderboard. Rows here are one line high
        and unlabelled, so the text's width is what the render would measure."""
        for row_key in new_rows:
            cells = self._data.get(row_key)  # None: removed before the table was idle
            for column in self.ordered_columns if cells is not None else ():
                column.content_width = max(column.content_width, cell_width(cells.get(column.key)))
        super()._update_dimensions(())

    def update_row(self, key: str, cells: Iterable[CellType]) -> None:
        """New cells for a shown row; unchanged ones are left alone."""
        for column, old, new in zip(self.ordered_columns, self.get_row(key), cells):
            if new != old:
                self.set_cell(key, column.key, new)

    def set_cell(self, key: str, column_key: ColumnKey | str, value: CellType) -> None:
        """A cell's new value. Its column is measured again only when the value is wider than it: a narrower
        one would make DataTable measure every cell of the column (700 rows of the leaderboard: a tenth of
        a second), for each cell updated. So columns grow and never shrink until the table is refilled."""
        width = self.columns[ColumnKey(column_key) if isinstance(column_key, str) else column_key].content_width
        self.update_cell(key, column_key, value, update_width=cell_width(value) > width)

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove rows in one pass. DataTable.remove_row renumbers every remaining row and moves the cursor
        for each row removed: 1 ms a row at 700 rows, half a second when a new ranking replaces most of the
        leaderboard. Same bookkeeping as remove_row, done once."""
        gone = {RowKey(key) for key in keys}
        if not gone:
            return
        for row_key in gone:
            for column_key in self._data[row_key]:
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key], self._data[row_key]
            self._new_rows.discard(row_key)
        kept = sorted(self._data, key=self._row_locations.get)
        self._row_locations = TwoWayDict({row_key: index for index, row_key in enumerate(kept)})
        self._update_count += 1
        self._update_dimensions(())  # the table's height
        self.move_cursor(row=self.cursor_row, scroll=False)  # within the rows left
        self.refresh(layout=True)
