"""One trial in full (enter on a leaderboard row): the leaderboard cuts params off, this shows them all,
with the end of what its program printed (a command objective's trial log)."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ...progress import format_value
from ...storage import TrialRecord
from ...terminal import safe_text


OUTPUT_LINES = 40  # of a trial's log, the last ones shown
OUTPUT_BYTES = 16 << 10  # read from the end of the log for them


def detail_lines(record: TrialRecord, metric: str, log: Path | None = None) -> list[Content]:
    """Every param, every final metric, state and reason, duration, seed, start time, and the end of the
    trial's log when it has one. What came from the trial, the journal or the log is shown as written:
    never read as markup, no escape sequence obeyed."""
    value = format_value(record.value) if record.value is not None else "-"
    lines = [f"state    {record.state}" + (" (manual)" if record.manual else ""),
             f"{safe_text(metric):<8} {value}"]
    if record.reason:
        lines.append(f"reason   {safe_text(record.reason, lines=True)}")
    if record.note:
        lines.append(f"note     {safe_text(record.note, lines=True)}")
    if record.duration is not None:
        lines.append(f"duration {record.duration:.1f} s")
    lines.append(f"seed     {record.seed}")
    lines.append(f"space    version {record.space_version}")
    if record.started is not None:
        lines.append(f"started  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(record.started))}")
    if record.reports:
        lines.append(f"reports  {len(record.reports)}, last at step {record.reports[-1][0]}")
    lines = [Content(line) for line in lines]
    lines += [Content(""), Content.from_markup("[b]params[/b]")]
    lines += [Content(f"  {safe_text(name)} = {safe_text(_text(v))}") for name, v in record.params.items()]
    if record.metrics:
        lines += [Content(""), Content.from_markup("[b]metrics[/b]")]
        lines += [Content(f"  {safe_text(name)} = {safe_text(_text(v))}") for name, v in record.metrics.items()]
    output = log_tail(log) if log else []
    if output:
        lines += [Content(""), Content.from_markup("[b]output[/b] (the end of $log)", log=safe_text(log))]
        lines += [Content(f"  {safe_text(line)}") for line in output]
    return lines


def log_tail(path: Path, lines: int = OUTPUT_LINES) -> list[str]:
    """The last `lines` lines of a trial's log, read from its end (a log may be large); none if it is absent."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - OUTPUT_BYTES))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if size > OUTPUT_BYTES:
        text = text[1:]  # the first line read is likely cut
    return text[-lines:]


def _text(value) -> str:
    return format_value(value) if isinstance(value, float) else str(value)


class TrialDetail(ModalScreen):
    BINDINGS = [Binding("escape,enter,q", "dismiss", "close")]

    def __init__(self, record: TrialRecord, metric: str, log: Path | None = None) -> None:
        super().__init__()
        self.record = record
        self.metric = metric
        self.log_file = log

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(f"trial #{self.record.number}", classes="dialog-title")
            with VerticalScroll(id="trial-detail"):
                yield Static(Content("\n").join(detail_lines(self.record, self.metric, self.log_file)),
                             id="trial-lines")
            yield Static("escape close", classes="dialog-keys")
