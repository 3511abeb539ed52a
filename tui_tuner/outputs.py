"""Files written where a user said (`run --export`, `trials -o`, `import wandb -o`, `lr-find --write`, the app's
export and save): a regular file or a new path, never a device, fifo, socket or symlink (replacing one would turn
/dev/full into a file, or a link into a copy), never a file of a study directory (an export over a journal loses
every finished trial).

Checked before the work starts, so nothing runs for an hour to fail at its export, and again as the file is
written (`storage.atomic` refuses a target that changed in between).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from .errors import InputError, TunerError
from .files import NotRegularFile
from .storage.atomic import check_target
from .storage.layout import study_owning


def check_output(path: Path, field: str | None, *, study: str | os.PathLike | None = None,
                 source: str | os.PathLike | None = None) -> None:
    """Refuse `path` as a file to write (InputError naming it and `field`): not a regular file or a new path,
    a file of a study directory (of one that holds a journal, or of `study`, the one this command writes), or
    `source`, the file the command reads (a study file replaced by its best config)."""
    if "\0" in str(path):  # typed in the app; a command line cannot hold one
        raise InputError("holds a NUL character; give a path", file=repr(str(path)), field=field)
    try:
        check_target(path)
    except NotRegularFile as err:
        raise _not_regular(path, field, err.kind) from None
    if source is not None and os.path.realpath(path) == os.path.realpath(source):
        raise InputError("is the file this command reads from; write it elsewhere", file=str(path), field=field)
    owner = study_owning(path, study)
    if owner is not None:
        raise InputError(f"is a file of the study directory {owner}; write it elsewhere", file=str(path),
                         field=field)


@contextlib.contextmanager
def writing(path: Path, field: str | None, *, study: str | os.PathLike | None = None) -> Iterator[None]:
    """Check `path` again (`check_output`) and run the block that writes it, its OSError made the one line a
    user can act on: a target that became a link, fifo or device meanwhile (exit 2), a full disk (exit 1)."""
    check_output(path, field, study=study)
    try:
        yield
    except NotRegularFile as err:
        raise _not_regular(path, field, err.kind) from None
    except OSError as err:
        raise TunerError(f"{path}: cannot write: {err.strerror or err}") from None


def _not_regular(path: Path, field: str | None, kind: str) -> InputError:
    return InputError(f"is {kind}; give the path of a regular file", file=str(path), field=field)
