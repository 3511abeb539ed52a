"""The user's code on machines that do not have it: a folder's Python modules zipped on the driver, unpacked
on each cluster worker, and the objective told to read its code from the copy.

An objective that names code on disk says where (`code_folder`) and can be read from elsewhere
(`moved(old, new)`); other objectives (a scikit-learn estimator) ship nothing. The copy is keyed by the
zip's digest: two studies, or two versions of the same code, never overwrite each other's.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any

from ..errors import InputError

MAX_FILES = 2000  # a folder with more modules than this is a home directory, not a project
MAX_BYTES = 50 << 20
SKIPPED = {"__pycache__", "runs", "node_modules", "site-packages"}  # never the user's modules


def zip_modules(folder: str) -> bytes:
    """The `.py` files under `folder` (its packages too, not hidden folders, virtualenvs or study runs)."""
    root = Path(folder)
    buffer, count, size = io.BytesIO(), 0, 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith(".") and d not in SKIPPED
                                       and not (Path(directory) / d / "pyvenv.cfg").exists())
            for name in sorted(f for f in files if f.endswith(".py")):
                path = Path(directory) / name
                count, size = count + 1, size + path.stat().st_size
                if count > MAX_FILES or size > MAX_BYTES:
                    raise InputError(f"holds more than {MAX_FILES} Python files or {MAX_BYTES >> 20} MB of them, too "
                                     "many to copy to the cluster's workers; put the objective in a folder of its own",
                                     file=folder, field="objective")
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def unpack(data: bytes, into: Path) -> None:
    """Unzip once into `into`: into a fresh folder renamed into place, so a reader never sees half of it."""
    if into.is_dir():
        return
    into.parent.mkdir(parents=True, exist_ok=True)
    partial = into.with_name(f"{into.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(partial)
    try:
        partial.rename(into)
    except OSError:  # another worker on this machine got there first: theirs is the same
        if not into.is_dir():
            raise


def copy_of(folder: str, root: Path, key: str) -> Path:
    """Where the copy of `folder` lies under `root` on a worker: `root/<digest>/<folder's name>`, so the
    code still sits in a folder of its own name (a package imported by it keeps its name)."""
    return root / key / (Path(folder).name or "code")


class Shipped:
    """An objective pickled on the driver, with where its code came from and where the worker's copy is.
    Unpickled in the trial's process, it turns into the objective reading its code from the copy; a module
    that cannot be imported there fails each trial with one line (the pool says so), not a traceback."""

    def __init__(self, objective_bytes: bytes, folder: str | None, copy: str | None) -> None:
        self.objective_bytes, self.folder, self.copy = objective_bytes, folder, copy

    def __reduce__(self) -> tuple:
        return _unpacked, (self.objective_bytes, self.folder, self.copy)


def _unpacked(objective_bytes: bytes, folder: str | None, copy: str | None) -> Any:
    if copy and copy not in sys.path:  # an objective pickled by reference imports its module from the copy
        sys.path.insert(0, copy)
    objective = pickle.loads(objective_bytes)
    if folder and copy and hasattr(objective, "moved"):  # a plain function was found in the copy by name
        objective = objective.moved(folder, copy)
    return objective
