"""Writing a study file a person wrote: new content, their comments, key order and layout kept.

The app's save and `lr-find --write` change a few values; rewriting the whole file from a dict would drop
every comment. New values, renamed keys, removed keys and keys added at the end of a block mapping are
edited where they stand, and nothing else moves (not even the spaces that align a column of params); any
other change goes through ruamel.yaml's round-trip mode, which keeps comments, key order and flow style.
Either result is checked to read back (with the loader's PyYAML) as exactly the content asked for; if
neither would, the plain dump is written instead. Writes are atomic.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RoundTripError

from .storage import write_atomic

EXPONENT_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")


def write_study_file(path: Path, content: dict, *, like: Path | None = None) -> Path:
    """Write `content` to `path` atomically, laid out like the file at `like` (default: `path` itself)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return write_atomic(path, json.dumps(content, indent=2) + "\n")
    return write_atomic(path, study_text(content, _read(Path(like or path))))


def study_text(content: dict, original: str | None) -> str:
    """YAML for `content`, editing `original` (a study file's text) where it can; plain YAML otherwise."""
    if original:
        text = _spliced(original, content)
        if text is not None and _reads_back(text, content):
            return text
        try:
            document = _round_trip().load(original)
        except RoundTripError:  # a file ruamel will not read (a duplicate key, say): start afresh
            document = None
        if isinstance(document, CommentedMap):
            _merge(document, content)
            stream = io.StringIO()
            _round_trip().dump(document, stream)
            text = stream.getvalue()
            if _reads_back(text, content):
                return text
    return yaml.safe_dump(content, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


def _spliced(original: str, content: dict) -> str | None:
    """`original` with what changed rewritten in place and every other character kept; None when the change
    is more than new values, renamed keys, keys removed or keys added at the end of a block mapping."""
    try:
        root = yaml.compose(original, Loader=yaml.SafeLoader)
        before = _as_read(yaml.safe_load(original))
    except yaml.YAMLError:
        return None
    edits: list[tuple[int, int, str]] = []
    if root is None or not _edits(original, root, before, content, edits):
        return None
    text = original
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _edits(text: str, node, before: object, after: object, edits: list) -> bool:
    """Collect (start, end, new text) edits turning `node` (holding `before`) into `after`; False if they
    cannot be made in place."""
    if _same(before, after):
        return True
    if isinstance(node, yaml.MappingNode) and isinstance(before, dict) and isinstance(after, dict) and \
            len(node.value) == len(before):
        if node.flow_style:  # `{type: float, low: 0.1}`: one line, rewritten whole
            edits.append((node.start_mark.index, node.end_mark.index, _flow(after)))
            return True
        return _mapping_edits(text, node, before, after, edits)
    if isinstance(node, yaml.ScalarNode) and not isinstance(after, (dict, list)):
        edits.append((node.start_mark.index, node.end_mark.index, _flow_scalar(after)))
        return True
    if isinstance(node, yaml.SequenceNode) and node.flow_style and isinstance(after, list):
        edits.append((node.start_mark.index, node.end_mark.index, _flow(after)))
        return True
    return False


def _mapping_edits(text: str, node: yaml.MappingNode, before: dict, after: dict, edits: list) -> bool:
    """A block mapping: keys renamed in place, removed with their lines, or added after the last one."""
    old, new = list(before), list(after)
    if len(old) == len(new):  # renames keep their place (the app's rename does)
        for (key_node, value_node), old_key, new_key in zip(node.value, old, new):
            if old_key != new_key:
                if new_key in before or not isinstance(key_node, yaml.ScalarNode):
                    return False  # a move, not a rename
                edits.append((key_node.start_mark.index, key_node.end_mark.index, _flow_scalar(new_key)))
            if not _edits(text, value_node, before[old_key], after[new_key], edits):
                return False
        return True
    kept = [k for k in old if k in after]
    if new[:len(kept)] != kept:
        return False
    entries = dict(zip(old, node.value))
    for index, key in enumerate(old):
        if key not in after:
            if index == len(old) - 1 and isinstance(node.value[index][1], (yaml.MappingNode, yaml.SequenceNode)) \
                    and not node.value[index][1].flow_style:
                return False  # where a trailing block ends is not worth guessing
            next_key = node.value[index + 1][0] if index + 1 < len(old) else None
            end = _entry_start(text, next_key) if next_key is not None else _line_end(text, _last_mark(
                node.value[index][1]))
            edits.append((_entry_start(text, node.value[index][0]), end, ""))
        elif not _edits(text, entries[key][1], before[key], after[key], edits):
            return False
    added = new[len(kept):]
    if added:
        if not node.value:
            return False
        indent = " " * node.value[0][0].start_mark.column
        lines = yaml.safe_dump({k: after[k] for k in added}, sort_keys=False, default_flow_style=None,
                               width=10**9, allow_unicode=True).splitlines()
        where = _line_end(text, _last_mark(node.value[-1][1]))
        block = "".join(f"{indent}{line}\n" for line in lines)
        edits.append((where, where, block if text[where - 1:where] in ("\n", "") else "\n" + block))
    return True


def _entry_start(text: str, key_node) -> int:
    """Where a block mapping entry's text starts: its line, or the comment lines just above it."""
    start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    while start > 0:
        above = text.rfind("\n", 0, start - 1) + 1
        if not text[above:start].strip().startswith("#"):
            break
        start = above
    return start


def _last_mark(node) -> int:
    """The end of the last value written in `node` (a block collection ends at the next token instead)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node.end_mark.index


def _line_end(text: str, index: int) -> int:
    """Just past the newline that ends the line holding `index` (the end of the text on the last line)."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _flow(value: object) -> str:
    """A mapping or list as one line of flow YAML."""
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True).strip()


def _flow_scalar(value: object) -> str:
    """One value as YAML text that may stand inside a flow mapping or list."""
    if isinstance(value, float) and math.isfinite(value):
        return _float_text(value)
    return yaml.safe_dump([value], default_flow_style=True, width=10**9).strip()[1:-1]


def _float_text(value: float) -> str:
    """A float the study loader (YAML 1.1) reads back as a float: `1.0e-07`, not `1e-07` (a string there)."""
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        sign = "" if exponent[0] in "+-" else "+"
        text = f"{mantissa}.0e{sign}{exponent}"
    return text


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _reads_back(text: str, content: dict) -> bool:
    try:
        return _as_read(yaml.safe_load(text)) == _as_read(content)
    except yaml.YAMLError:
        return False


def _as_read(value: object) -> object:
    """`value` with `1e-4`-style strings as the numbers the study loader reads (YAML 1.2 floats; PyYAML's
    1.1 rules take them for strings)."""
    if isinstance(value, dict):
        return {k: _as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_read(v) for v in value]
    if isinstance(value, str) and EXPONENT_FLOAT.fullmatch(value):
        return float(value)
    return value


def _round_trip() -> YAML:
    rt = YAML()  # round-trip mode
    rt.width = 110
    rt.preserve_quotes = True
    rt.representer.add_representer(float, _represent_float)
    return rt


def _represent_float(representer, value: float):
    if not math.isfinite(value):
        return representer.represent_float(value)
    return representer.represent_scalar("tag:yaml.org,2002:float", _float_text(value))


def _merge(node: CommentedMap, content: dict) -> None:
    """Make `node` equal `content`, replacing only what differs, in `content`'s key order."""
    for key in [k for k in node if k not in content]:
        del node[key]
    for index, (key, value) in enumerate(content.items()):
        if key in node and list(node).index(key) != index:
            node.insert(index, key, node.pop(key))
        if key not in node:
            node.insert(index, key, _fresh(value))
        elif isinstance(node[key], CommentedMap) and isinstance(value, dict):
            _merge(node[key], value)
        elif not _same(node[key], value):
            node[key] = _fresh(value)


def _same(old: object, new: object) -> bool:
    """Equal as the study loader would see it (True is not 1 here)."""
    return old == new and isinstance(old, bool) == isinstance(new, bool) and \
        isinstance(old, (list, dict)) == isinstance(new, (list, dict))


def _fresh(value: object) -> object:
    """A new value in the study files' usual style: small mappings and lists of plain values on one line."""
    if isinstance(value, dict):
        node = CommentedMap((k, _fresh(v)) for k, v in value.items())
        if all(not isinstance(v, dict) for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_fresh(v) for v in value)
        if all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        return seq
    return value
