"""The live table of trials, best first: finished ones by value (several metrics: by Pareto rank, the front
first, each metric in its own column), then running, then the newest pruned, failed and interrupted ones.

Kept incremental and bounded (the best `TOP_FINISHED` finished trials): DataTable re-sorts and re-measures
every row it holds, which at 10,000 rows would stall the UI for a tenth of a second each update."""

from __future__ import annotations

import bisect
import heapq

import numpy as np

from rich.markup import escape
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ...progress import format_params, format_value
from ...storage import StudyLog, TrialRecord
from ...terminal import safe_text
from .row_table import RowTable

COLUMNS = ("#", "status", "value", "params", "time")
TOP_FINISHED = 500  # rows of finished trials; the rest are in the history plot and the journal
MAX_OTHERS = 200  # newest pruned, failed and interrupted trials kept in view


def status_text(record: TrialRecord, live: bool = True) -> str:
    """`live`: a study process is running now; if not, a trial the journal calls running was cut off. As
    markup (what a DataTable cell is), a failure's reason escaped: shown as written, no escape sequence
    obeyed."""
    if record.state == "running":
        if not live:
            return "unfinished (r runs it again)"
        return f"running ep {record.reports[-1][0]}" if record.reports else "running"
    if record.state == "finished":
        return "manual" if record.manual else "done"
    if record.state == "failed":
        return escape(safe_text(f"failed: {record.reason or '?'}"))
    if record.state == "pruned":
        return f"pruned @{record.reports[-1][0]}" if record.reports else "pruned"
    return record.state


def value_text(record: TrialRecord) -> str:
    """The value, and beside it what the searcher's model predicted before the trial ran (bayes)."""
    text = format_value(record.value) if record.value is not None else ""
    if record.predicted:
        mean, std = record.predicted
        text = f"{text} [dim](~{format_value(mean)}±{std:.2g})[/dim]".strip()
    return text or "-"


class Leaderboard(RowTable):
    """Trials of the study, updated in batches; highlighting a row selects its trial."""

    COLUMNS = COLUMNS
    BINDINGS = [Binding("enter", "select_cursor", "trial in full", tooltip="Every param, metric, reason, seed")]

    class TrialSelected(Message):
        def __init__(self, number: int | None) -> None:
            super().__init__()
            self.number = number

    class TrialOpened(Message):
        """enter on a row: show the trial in full."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    def __init__(self, **kwargs) -> None:
        super().__init__(zebra_stripes=True, **kwargs)
        self._metrics: list[str] | None = None  # several metrics: their names; None with one
        self._view: StudyLog | None = None  # several metrics: the latest ranking of the finished trials
        self._position: dict[int, int] = {}  # trial number -> place in that ranking
        self._pareto_rank: dict[int, int] = {}
        self._shown: set[int] = set()
        self._announced: int | None = None
        self._ranked: list[tuple[float, int]] = []  # (signed value, number) of finished trials, best first
        self._finished: set[int] = set()
        self._live: set[int] = set()  # running trials (not `_running`: Textual's own flag of a live message pump)
        self._others: dict[int, None] = {}  # pruned, failed, interrupted: newest last

    def set_metrics(self, metrics: list[str] | None) -> None:
        """Columns for one metric (None) or several: the Pareto rank and a column a metric."""
        if metrics == self._metrics:
            return
        self._metrics, self._view, self._position, self._pareto_rank = metrics, None, {}, {}
        self.clear(columns=True)
        self._shown.clear()
        self._ranked, self._finished, self._live, self._others = [], set(), set(), {}
        for label, key in self._columns():
            self.add_column(label, key=key)

    def _columns(self) -> list[tuple[str | Text, str]]:
        """(label, key) of each column; a metric's key set apart, as a metric may be called "time"."""
        if self._metrics is None:
            return [(column, column) for column in COLUMNS]
        metrics = [(Text(safe_text(name)), f"metric:{name}") for name in self._metrics]
        return [("#", "#"), ("status", "status"), ("rank", "rank"), *metrics, ("params", "params"), ("time", "time")]

    def _key(self, record: TrialRecord, sign: float) -> float:
        """Where a finished trial sorts: by value, or by its place in the latest Pareto ranking (after the
        ranked ones while the ranking has not caught up with it)."""
        if self._metrics is None:
            return sign * record.value
        return self._position.get(record.number, len(self._position) + record.number)

    def _cells(self, record: TrialRecord, live: bool) -> tuple:
        duration = f"{record.duration:.1f}s" if record.duration is not None else ""
        params = format_params(record.params, 6)
        if self._metrics is None:
            return record.number, status_text(record, live), value_text(record), escape(params), duration
        values = record.values or [None] * len(self._metrics)
        rank = self._pareto_rank.get(record.number, "…" if record.state == "finished" else "")
        return (record.number, status_text(record, live), rank, *(format_value(v) for v in values),
                escape(params), duration)

    @property
    def selected_number(self) -> int | None:
        key = self.selected_key
        return None if key is None else int(key)

    def show(self, log: StudyLog, numbers: set[int] | None = None, *, live: bool = True,
             view: StudyLog | None = None) -> None:
        """Take in the trials `numbers` (all when None) and redraw what changed. The cursor stays on its
        trial, or on the best one when it was at the top. `view`: a new Pareto ranking (several metrics)."""
        selected = self.selected_number if self.cursor_row > 0 else None
        sign = -1.0 if log.direction == "maximize" else 1.0
        if numbers is None:
            self.clear()
            self._shown.clear()
            self._take_all(log, sign)
            selected, numbers = None, set()
        if view is not None and view is not self._view:
            old, self._view, self._pareto_rank = self._pareto_rank, view, view.pareto_rank()
            self._position = {r.number: i for i, r in enumerate(view.ranked())}
            # already in order: the ranking's trials by position, then the ones it has not seen by number
            # (a sort calling `_key` on each of 10,000 took 60 ms on the event loop)
            after = len(self._position)
            self._ranked = [(i, r.number) for i, r in enumerate(view.ranked()) if r.number in self._finished]
            self._ranked += [(after + n, n) for n in sorted(self._finished - self._position.keys())]
            for number in self._shown & self._finished:  # the rows stay (added again, all 500 were measured
                rank = self._pareto_rank.get(number, "…")  # anew: a quarter second at 10,000 trials)
                if rank != old.get(number, "…"):
                    self.set_cell(str(number), "rank", rank)
        arrived = []  # newly finished: sorted into the ranking at once (100,000 insorts took 0.75 s)
        for number in sorted(numbers):
            record = log.records.get(number)
            if record is None:
                continue
            self._live.discard(number)
            self._others.pop(number, None)
            if record.state == "finished" and record.value is not None:
                if number not in self._finished:
                    self._finished.add(number)
                    arrived.append((self._key(record, sign), number))
            elif record.state == "running":
                self._live.add(number)
            else:
                self._others[number] = None
        if len(arrived) > 8:
            self._ranked = list(heapq.merge(self._ranked, sorted(arrived)))
        else:
            for item in arrived:
                bisect.insort(self._ranked, item)
        while len(self._others) > MAX_OTHERS:
            self._others.pop(next(iter(self._others)))
        order = [n for _, n in self._ranked[:TOP_FINISHED]] + sorted(self._live) + list(self._others)
        wanted = set(order)
        self.remove_rows(str(number) for number in self._shown - wanted)
        for number in order:
            if number in self._shown and number not in numbers:
                continue
            record = log.records[number]
            cells = self._cells(record, live)
            if number in self._shown:
                self.update_row(str(number), cells)
            else:
                self.add_row(*cells, key=str(number))
        self._shown = wanted
        position = {n: i for i, n in enumerate(order)}
        self.sort("#", key=position.__getitem__)
        hidden = len(self._ranked) - TOP_FINISHED
        self.border_subtitle = f"best {TOP_FINISHED:,} of {len(self._ranked):,} finished" if hidden > 0 else ""
        if selected is not None and selected in wanted:
            self.move_cursor(row=self.get_row_index(str(selected)), scroll=False)
        elif self.row_count:
            self.move_cursor(row=0, scroll=False)
        self._announce(self.selected_number)

    def _take_all(self, log: StudyLog, sign: float) -> None:
        """Sort every trial of the log into place at once (a study of 100,000 opens in a tenth of a second)."""
        records = log.records
        finished = [r for r in records.values() if r.state == "finished" and r.value is not None]
        self._finished = {r.number for r in finished}
        if self._metrics is None:  # one metric: numpy orders 100,000 values in milliseconds
            keys = sign * np.fromiter((r.value for r in finished), float, len(finished))
            numbers = np.fromiter((r.number for r in finished), np.int64, len(finished))
            order = np.lexsort((numbers, keys))
            self._ranked = list(zip(keys[order].tolist(), numbers[order].tolist()))
        else:
            self._ranked = sorted((self._key(r, sign), r.number) for r in finished)
        self._live = {n for n, r in records.items() if r.state == "running"}
        others = sorted(records.keys() - self._finished - self._live)
        self._others = dict.fromkeys(others[-MAX_OTHERS:])

    def _announce(self, number: int | None) -> None:
        if number != self._announced:
            self._announced = number
            self.post_message(self.TrialSelected(number))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None:  # None: a key pressed on the board before any trial (no row)
            self._announce(int(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None:
            self.post_message(self.TrialOpened(int(event.row_key.value)))
