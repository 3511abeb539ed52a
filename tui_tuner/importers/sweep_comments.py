"""The comments a person wrote in a sweep file, so the study file made from it keeps them: each one given to
the parameter it sits in or just above, the others to the head of the file.

ruamel.yaml knows what is a comment (not a `#` inside a quoted value or a block of text) and on which line;
PyYAML's node tree knows which lines each parameter spans.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.tokens import CommentToken


def sweep_comments(text: str, root: yaml.Node | None) -> tuple[list[str], dict[str, list[str]]]:
    """(comments for the head, {"parameters.lr" (the parameter's field): its comments}) of a sweep file's
    text and its PyYAML node tree; nested parameters' fields are `parameters.outer.parameters.inner`."""
    lines = _comment_lines(text)
    spans = sorted(_parameter_spans(root), key=lambda span: span[1])
    block = next((key for key, _ in _items(root) if key.value == "parameters"), None)
    head: list[str] = []
    by_field: dict[str, list[str]] = {}
    for line, comment in sorted(lines.items()):
        owner = next((field for field, first, last in spans if first <= line <= last), None)
        if owner is None and block is not None:  # just above a parameter, after the one before it
            previous_end = block.start_mark.line
            for field, first, last in spans:
                if line < first and line > previous_end:
                    owner = field
                    break
                previous_end = max(previous_end, last)
        if owner is None:
            head.append(comment)
        else:
            by_field.setdefault(owner, []).append(comment)
    return head, by_field


def _comment_lines(text: str) -> dict[int, str]:
    """0-based line -> the comment's text (without `#`), for every comment of the file."""
    try:
        document = YAML().load(text)
    except YAMLError:
        return {}
    found: dict[int, str] = {}
    for token in _tokens(document):
        for offset, line in enumerate(token.value.split("\n")):
            line = line.strip()
            if line.startswith("#") and line.strip("#").strip():
                found[token.start_mark.line + offset] = line.lstrip("#").strip()
    return found


def _tokens(node: Any) -> Iterator[CommentToken]:
    """Every comment token ruamel.yaml attached anywhere in a round-trip document."""
    attached = getattr(node, "ca", None)
    if attached is not None:
        yield from _flat(attached.comment)
        yield from _flat(list(attached.items.values()))
        yield from _flat(getattr(attached, "end", None))
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _tokens(child)


def _flat(value: Any) -> Iterator[CommentToken]:
    if isinstance(value, CommentToken):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _flat(item)


def _parameter_spans(root: yaml.Node | None, field: str = "parameters") -> Iterator[tuple[str, int, int]]:
    """(field, first line, last line) of each parameter (not of a block of nested ones) in the tree."""
    block = _value_of(root, "parameters")
    if not isinstance(block, yaml.MappingNode):
        return
    for key, value in block.value:
        inner = f"{field}.{key.value}"
        if isinstance(value, yaml.MappingNode) and _value_of(value, "parameters") is not None:
            yield from _parameter_spans(value, f"{inner}.parameters")
            continue
        yield inner, key.start_mark.line, _last_line(value)


def _last_line(node: yaml.Node) -> int:
    """The last line a value's text is on (a block mapping's end mark is where the next key begins)."""
    if isinstance(node, yaml.ScalarNode) or node.flow_style or not node.value:
        return node.end_mark.line
    children = [child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode) else node.value
    return max(_last_line(child) for child in children)


def _items(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    """A mapping node's (key, value) pairs with plain keys; none for anything else."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)]


def _value_of(node: yaml.Node | None, name: str) -> yaml.Node | None:
    return next((value for key, value in _items(node) if key.value == name), None)
