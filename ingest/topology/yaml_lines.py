"""Load YAML while remembering the line of every value, so errors can point into the file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path as FilePath
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
    loader_class = _loader_class(text)
    try:
        if sum(text.count(indicator) for indicator in "[{-:?") > MAX_DEPTH:  # else it cannot nest that deep
            _check_nesting(yaml.parse(text, Loader=loader_class))
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            lines: dict[Path, int] = {}
            if node is None:
                return None, lines
            _check_shape(node)
            # PyYAML's own constructor builds the data from the same nodes (so scalars are typed exactly
            # as usual); the node tree gives where each value starts.
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise yaml.MarkedYAMLError(problem=f"values nested deeper than {MAX_DEPTH} levels") from None
    _record(node, (), lines)
    return data, lines


def _loader_class(text: str) -> type:
    """libyaml's safe loader when PyYAML has it, else PyYAML's own.

    libyaml scans in C: ~10x faster, and PyYAML's own scanner takes time quadratic in the nesting of flow
    collections (600 nested '[' cost ~0.1 s, 5,000 several seconds). It reads UTF-8 only, so text that
    cannot be encoded (lone surrogates) goes to PyYAML's reader, which names the bad character.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return yaml.SafeLoader
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return yaml.SafeLoader
    return fast


def _check_nesting(events: Iterator[yaml.Event]) -> None:
    """Refuse collections nested deeper than MAX_DEPTH as the parser meets them, before any node is built
    (building them recurses). Every collection starts at an indicator of its own ('[', '{', '-', ':' or
    '?'), so a text with no more indicators than MAX_DEPTH need not be looked at."""
    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark: Any = event.start_mark  # libyaml's Mark or PyYAML's: both have line and column
                raise yaml.MarkedYAMLError(problem=f"values nested deeper than {MAX_DEPTH} levels", problem_mark=mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


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


def _record(node: yaml.Node, path: Path, lines: dict[Path, int], recorded: set[int] | None = None) -> None:
    """Record the line of ``node`` at ``path`` and of every value under it, each node's values once: under a
    value reached again through an alias, line_of gives the anchored value's line, so a document of 100,000
    values once aliases are expanded records a few dozen lines, not 100,000."""
    lines[path] = node.start_mark.line + 1
    recorded = set() if recorded is None else recorded
    if id(node) in recorded:
        return
    recorded.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _record(value_node, (*path, key_node.value), lines, recorded)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), lines, recorded)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def read_located(file: FilePath, error: type[Exception]) -> tuple[Any, Callable[..., str]]:
    """Read a YAML file; return its data and ``at(*path)``, which gives 'FILE:LINE: a.b[2].c' for messages.

    Raises ``error`` naming the file (and the line and column for text that is not YAML).
    """
    try:
        data, lines = load_with_lines(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{file}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        raise error(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None

    def at(*path) -> str:
        line = line_of(lines, path)
        name = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
        return f"{file}:{line}: {name}" if line else f"{file}: {name}"

    return data, at
