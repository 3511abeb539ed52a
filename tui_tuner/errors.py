"""One small hierarchy of errors: the CLI prints any of them as one line and exits with its code."""

from __future__ import annotations

from .terminal import safe_text


class TunerError(Exception):
    """Anything the tuner reports to a user as one line; exit code 1."""

    exit_code = 1

    def __str__(self) -> str:
        """One line, whatever a trial's output or a file's keys and values put in it (escape sequences)."""
        return safe_text(super().__str__())


class InputError(TunerError):
    """A user mistake in a file or on the command line: `FILE:LINE: field: what is wrong`, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.line = line

    def located(self, *, file: str | None = None, field_prefix: str | None = None) -> "InputError":
        """Return this error with the file it came from and its field under `field_prefix`."""
        field = self.field
        if field_prefix:
            field = f"{field_prefix}.{field}" if field else field_prefix
        return type(self)(self.message, file=file or self.file, field=field, line=self.line)

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        return safe_text(f"{where}{field}{self.message}")


class SpaceError(InputError):
    """A search-space parameter or a config that does not fit the space."""


class SearchExhausted(Exception):
    """Raised by `Searcher.ask()` when a finite searcher (grid) has nothing left to suggest."""


class TrialPruned(Exception):
    """Raised inside an objective when `trial.should_prune()` says the trial is not worth finishing."""
