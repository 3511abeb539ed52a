"""`h`: the versions of the study's search space, oldest first: when and why each began, what changed, and
how many trials were drawn from it."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ...records import SpaceVersion
from ...terminal import safe_text


def history_lines(versions: list[tuple[SpaceVersion, int]]) -> list[Content]:
    """One heading a version ("version 2  2026-11-30 08:50:01  edit  12 trials"), then its changes: the
    journal's words shown as written."""
    lines = []
    for version, trials in versions:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(version.time)) if version.time else "-"
        lines.append(Content.from_markup(f"[b]version {version.version}[/b]  {when}  $reason  "
                                         f"{trials} trial{'' if trials == 1 else 's'}",
                                         reason=safe_text(version.reason)))
        lines += [Content(f"  {safe_text(change)}") for change in version.changes] or [
            Content("  the space the study began with")]
    return lines


class SpaceHistory(ModalScreen):
    BINDINGS = [Binding("escape,enter,q,h", "dismiss", "close")]

    def __init__(self, versions: list[tuple[SpaceVersion, int]]) -> None:
        super().__init__()
        self.versions = versions

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static("search space versions", classes="dialog-title")
            with VerticalScroll(id="space-history"):
                yield Static(Content("\n").join(history_lines(self.versions)), id="space-lines")
            yield Static("escape close", classes="dialog-keys")
