"""Load YAML while remembering the line of every value, so errors can point into the file."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple  # a path into the document: keys and list indexes


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text; return the data and a map from each value's path to its 1-based line."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    # Build the data with PyYAML's own constructor (so scalars are typed exactly as usual),
    # then walk the node tree in parallel to record where each value starts.
    data = yaml.SafeLoader(text).get_single_data()
    _record(node, (), lines)
    return data, lines


def _record(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _record(value_node, (*path, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), lines)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)
