"""Which code an objective runs, as the journal records it: `run FILE --resume --study DIR` runs FILE's
objective, and refuses (unless told the change is meant) when it is not the one DIR's trials ran.

An objective is its `objective:` section as written, the folder its relative paths start from (kept in the
study record as `base_dir`) and a digest of each code file it names: the function's or class's module, the
command's program or script. Files are located the way loading found them and read, never imported or run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import read_bounded
from ..results import shorten
from .command import SCRIPT_SUFFIXES, CommandObjective
from .function import FunctionObjective, FunctionRef
from .imported import REFERENCE
from .source import is_trusted, module_source

CODE_LIMIT = 64 << 20  # a code file larger than this is recorded as unreadable


def identity(section: Any, objective: Any, base_dir: Path) -> dict:
    """{"section": the objective section as JSON holds it, "code": {path: digest}} for the study record."""
    return {"section": as_json(section),
            "code": {str(path): _digest(path) for path in sorted(set(code_files(objective, base_dir)))}}


def as_json(value: Any) -> Any:
    """`value` as it reads back from the journal (a YAML date is a string there, NaN null), so two forms
    compare."""
    return json.loads(json.dumps(value, sort_keys=True, default=str), parse_constant=lambda _: None)


def is_imported_section(section: Any) -> bool:
    """True for the objective section of an imported study (no code of its own; any objective adopts it)."""
    return isinstance(section, dict) and section.get("python") == REFERENCE


def difference(recorded: dict, recorded_dir: str | None, ours: dict, our_dir: Path) -> str | None:
    """What differs between the objective a study recorded and ours, in words; None when they are the same.
    With code digests the code decides, wherever its folder now is (a project folder copied or moved whole
    runs the same code); a record without them (a journal from before them) compares section and folder."""
    if as_json(recorded.get("section")) != ours["section"]:
        return "its objective section is not this file's"
    theirs = recorded.get("code")
    if isinstance(theirs, dict):
        changed = sorted(path for path, digest in ours["code"].items() if digest not in theirs.values())
        if changed or len(theirs) != len(ours["code"]):
            return f"its code changed since it ran ({Path((changed or sorted(theirs))[0]).name})"
        return None
    if recorded_dir != str(our_dir):
        return f"its code folder was {shorten(str(recorded_dir), 200)}, this file's is {our_dir}"
    return None


def describe(section: Any, base_dir: str | Path | None) -> str:
    """The code an objective section runs, in a few words, for a person to check before it runs."""
    return shorten(_described(section, base_dir), 300)


def _described(section: Any, base_dir: str | Path | None) -> str:
    where = f" in {base_dir}" if base_dir else ""
    if not isinstance(section, dict):
        return "an unreadable objective"
    if "python" in section:
        return f"the Python function {section['python']}{where}"
    if "command" in section:
        command = section["command"]
        text = " ".join(map(str, command)) if isinstance(command, list) else str(command)
        return f"the command {text!r}{where}"
    model = section.get("model")
    if isinstance(model, str) and "." in model and not is_trusted(model):
        return f"the model class {model}{where}"
    return f"the model {model} (no code of the study's own)"


def code_files(objective: Any, base_dir: Path) -> list[Path]:
    """The files of code `objective` runs that belong to the study (not scikit-learn's or ours)."""
    if isinstance(objective, FunctionObjective):
        refs = [ref for ref in (objective.function, objective.test)
                if ref is not None and (ref.by_path or not is_trusted(ref.target))]
        return [_function_file(ref) for ref in refs]
    if isinstance(objective, CommandObjective):
        folder = Path(objective.cwd)
        named = [word for i, word in enumerate(objective.words[:2]) if "{" not in word
                 and ((i == 0 and "/" in word) or (i == 1 and word.endswith(SCRIPT_SUFFIXES)))]
        return [(folder / word).resolve() for word in named if (folder / word).is_file()]
    classes = [getattr(objective, "model", None), *(step.path for step in getattr(objective, "pipeline", ()))]
    files = []
    for dotted in classes:
        if isinstance(dotted, str) and "." in dotted and not is_trusted(dotted):
            try:
                files.append(module_source(dotted.rpartition(".")[0], base_dir=base_dir, file=None, field="model"))
            except InputError:
                continue
    return files


def _function_file(ref: FunctionRef) -> Path:
    if ref.by_path:
        return Path(ref.target)
    return module_source(ref.target, base_dir=Path(ref.base_dir), file=None, field="objective.python")


def _digest(path: Path) -> str:
    """sha256 of a code file; a file that cannot be read is told by why, so a later read that can differs."""
    try:
        return hashlib.sha256(read_bounded(path, CODE_LIMIT)).hexdigest()
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
