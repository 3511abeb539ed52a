"""The live table of trials, best first: finished ones by value, then running, pruned, failed, interrupted."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ...progress import format_params, format_value
from ...storage import StudyLog, TrialRecord

COLUMNS = ("#", "status", "value", "params", "time")
_ORDER = {"finished": 0, "running": 1, "pruned": 2, "failed": 3, "interrupted": 4}


def status_text(record: TrialRecord) -> str:
    if record.state == "running":
        return f"running ep {record.reports[-1][0]}" if record.reports else "running"
    if record.state == "finished":
        return "manual" if record.manual else "done"
    if record.state == "failed":
        return f"failed: {record.reason or '?'}"
    if record.state == "pruned":
        return f"pruned @{record.reports[-1][0]}" if record.reports else "pruned"
    return record.state


def rank_of(log: StudyLog) -> dict[int, tuple]:
    """Sort key of each trial number: the leaderboard's order."""
    sign = -1.0 if log.direction == "maximize" else 1.0
    return {n: (_ORDER.get(r.state, 5), sign * r.value if r.state == "finished" and r.value is not None else 0.0, n)
            for n, r in log.records.items()}


class Leaderboard(DataTable):
    """Trials of the study, updated in batches; highlighting a row selects its trial."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    class TrialSelected(Message):
        def __init__(self, number: int | None) -> None:
            super().__init__()
            self.number = number

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: set[int] = set()
        self._announced: int | None = None

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    @property
    def selected_number(self) -> int | None:
        if not self.row_count:
            return None
        return int(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def show(self, log: StudyLog, numbers: set[int] | None = None) -> None:
        """Add or update the rows of `numbers` (all when None) and re-rank. The cursor stays on its trial,
        or on the best one when it was at the top."""
        selected = self.selected_number if self.cursor_row > 0 else None
        if numbers is None:
            self.clear()
            self._shown.clear()
            selected = None
            numbers = set(log.records)
        for number in sorted(numbers):
            record = log.records.get(number)
            if record is None:
                continue
            cells = (number, status_text(record), format_value(record.value), format_params(record.params, 6),
                     f"{record.duration:.1f}s" if record.duration is not None else "")
            if number in self._shown:
                for column, value in zip(COLUMNS[1:], cells[1:]):
                    self.update_cell(str(number), column, value)
            else:
                self.add_row(*cells, key=str(number))
                self._shown.add(number)
        rank = rank_of(log)
        self.sort("#", key=lambda n: rank.get(n, (9, 0.0, n)))
        if selected is not None and str(selected) in self.rows:
            self.move_cursor(row=self.get_row_index(str(selected)), scroll=False)
        elif self.row_count:
            self.move_cursor(row=0, scroll=False)
        self._announce(self.selected_number)

    def _announce(self, number: int | None) -> None:
        if number != self._announced:
            self._announced = number
            self.post_message(self.TrialSelected(number))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce(int(event.row_key.value))
