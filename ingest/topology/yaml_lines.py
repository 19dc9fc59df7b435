"""Load YAML while remembering the line of every value, so errors can point into the file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

Path = tuple  # a path into the document: keys and list indexes
# Far above any real file's (a topology of thousands of entities holds tens of thousands of values, a few
# levels deep), far below what would hang or crash the loader: aliases that expand exponentially ("billion
# laughs"), an alias inside the value it names (a cycle), nesting deep enough to exhaust Python's stack.
MAX_VALUES = 200_000
MAX_DEPTH = 64


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML text; return the data and a map from each value's path to its 1-based line.

    Raises yaml.YAMLError for text that is not YAML, or whose values nest deeper than MAX_DEPTH, expand
    (aliases followed) to more than MAX_VALUES, or contain themselves.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise yaml.MarkedYAMLError(problem=f"values nested deeper than {MAX_DEPTH} levels") from None
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    _check_shape(node)
    # Build the data with PyYAML's own constructor (so scalars are typed exactly as usual),
    # then walk the node tree in parallel to record where each value starts.
    data = yaml.SafeLoader(text).get_single_data()
    _record(node, (), lines)
    return data, lines


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield key_node
            yield value_node
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _check_shape(root: yaml.Node) -> None:
    """Refuse a node graph nested too deep, expanding to too many values, or with a cycle (without recursion)."""
    expanded: dict[int, int] = {}  # values under a node, aliases followed, by id(node)
    on_path = {id(root)}
    stack: list[tuple[yaml.Node, Iterator[yaml.Node], int]] = [(root, _children(root), 1)]
    while stack:
        node, children, size = stack[-1]
        descended = False
        for child in children:
            if id(child) in on_path:
                raise yaml.MarkedYAMLError(
                    problem="an alias refers to the value that holds it", problem_mark=child.start_mark
                )
            if id(child) in expanded:
                size += expanded[id(child)]
                continue
            if len(stack) >= MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"values nested deeper than {MAX_DEPTH} levels", problem_mark=child.start_mark
                )
            stack[-1] = (node, children, size)
            stack.append((child, _children(child), 1))
            on_path.add(id(child))
            descended = True
            break
        if descended:
            continue
        stack.pop()
        on_path.discard(id(node))
        if size > MAX_VALUES:
            raise yaml.MarkedYAMLError(
                problem=f"more than {MAX_VALUES} values once aliases are expanded", problem_mark=node.start_mark
            )
        expanded[id(node)] = size
        if stack:
            parent, siblings, parent_size = stack[-1]
            stack[-1] = (parent, siblings, parent_size + size)


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
