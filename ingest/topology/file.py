"""Read a declarative topology file (YAML) into a snapshot, rejecting bad input with file, line and field.

The format is published as JSON Schema in ``ingest/data/topology.schema.json`` (``rca topology schema``).
Validation happens in full before anything is written: schema, unique ids, relation kinds and
references, and the label combinations the graph model allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from graph_schema.model import Label, RelType, topology_relation
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot
from ingest.topology.yaml_lines import line_of, load_with_lines

RELATION_KINDS: dict[str, RelType] = {
    "calls": RelType.CALLS,
    "instance_of": RelType.INSTANCE_OF,
    "runs_on": RelType.RUNS_ON,
    "depends_on": RelType.DEPENDS_ON,
}

SECTIONS: dict[str, Label] = {"hosts": Label.HOST, "datastores": Label.DATASTORE, "services": Label.SERVICE}


class TopologyFileError(ValueError):
    """A topology file that cannot be loaded; the message names file, line and field."""


@dataclass(frozen=True)
class _Reference:
    """A relation as written in the file, resolved after every entity is known."""

    kind: str
    source_id: str
    target_id: str
    path: tuple


@lru_cache(maxsize=1)
def topology_schema() -> dict:
    """The published JSON Schema of the topology file."""
    return json.loads(resources.files("ingest").joinpath("data/topology.schema.json").read_text())


def load_topology_file(path: Path) -> TopologySnapshot:
    """Parse and validate ``path`` into a snapshot; raise TopologyFileError naming what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyFileError(f"{path}: cannot read: {exc}") from exc
    return parse_topology(text, str(path))


def parse_topology(text: str, filename: str = "<topology>") -> TopologySnapshot:
    """Parse and validate topology YAML text."""
    try:
        data, lines = load_with_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        raise TopologyFileError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None

    fail = _Locator(filename, lines).error
    if not isinstance(data, dict):
        raise fail((), "the file must hold a mapping with 'version: 1' and sections hosts, datastores, services")
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(topology_schema()).iter_errors(data))
    if error is not None:
        raise fail(_error_path(error), error.message)
    return _build_snapshot(data, _Locator(filename, lines))


class _Locator:
    """Turns a path into the document into 'file:line: field: message' errors."""

    def __init__(self, filename: str, lines: dict):
        self.filename = filename
        self.lines = lines

    def line(self, path: tuple) -> int | None:
        return line_of(self.lines, path)

    def error(self, path: tuple, message: str) -> TopologyFileError:
        line = self.line(path)
        field = _field_name(path)
        location = f"{self.filename}:{line}" if line else self.filename
        return TopologyFileError(f"{location}: {field + ': ' if field else ''}{message}")


def _build_snapshot(data: dict, locator: _Locator) -> TopologySnapshot:
    fail = locator.error
    entities: dict[str, EntityRecord] = {}
    where: dict[str, tuple] = {}
    references: list[_Reference] = []

    def add(label: Label, item: dict, path: tuple, technology: str | None = None) -> None:
        entity_id = item["id"]
        if entity_id in entities:
            raise fail(
                (*path, "id"), f"duplicate id '{entity_id}' (first defined at line {locator.line(where[entity_id])})"
            )
        entities[entity_id] = EntityRecord(
            label, entity_id, item.get("name"), technology or item.get("technology"), item.get("attrs") or {}
        )
        where[entity_id] = (*path, "id")

    for section, label in SECTIONS.items():
        for index, item in enumerate(data.get(section) or []):
            path = (section, index)
            add(label, item, path)
            if "runs_on" in item:
                references.append(_Reference("runs_on", item["id"], item["runs_on"], (*path, "runs_on")))
            for kind in ("calls", "depends_on"):
                for target_index, target in enumerate(item.get(kind) or []):
                    references.append(_Reference(kind, item["id"], target, (*path, kind, target_index)))
            for inst_index, instance in enumerate(item.get("instances") or []):
                inst_path = (*path, "instances", inst_index)
                add(Label.INSTANCE, instance, inst_path)
                references.append(_Reference("instance_of", instance["id"], item["id"], (*inst_path, "id")))
                if "runs_on" in instance:
                    references.append(
                        _Reference("runs_on", instance["id"], instance["runs_on"], (*inst_path, "runs_on"))
                    )
    for index, relation in enumerate(data.get("relations") or []):
        references.append(_Reference(relation["kind"], relation["from"], relation["to"], ("relations", index)))

    edges: dict[tuple, EdgeRecord] = {}
    for ref in references:
        rel_type = RELATION_KINDS.get(ref.kind)
        if rel_type is None:
            raise fail(
                (*ref.path, "kind"), f"unknown relation kind '{ref.kind}'; known kinds: {', '.join(RELATION_KINDS)}"
            )
        for end in (ref.source_id, ref.target_id):
            if end not in entities:
                raise fail(
                    ref.path,
                    f"'{end}' is not defined in this file (dangling reference in {ref.kind} from '{ref.source_id}')",
                )
        source, target = entities[ref.source_id], entities[ref.target_id]
        relation = topology_relation(rel_type, source.label, target.label)
        if relation is None:
            raise fail(
                ref.path,
                f"{ref.kind} from {source.label.lower()} '{source.id}' "
                f"to {target.label.lower()} '{target.id}' is not allowed",
            )
        edges[(relation, source.id, target.id)] = EdgeRecord(relation, source.id, target.id)
    return TopologySnapshot(entities=list(entities.values()), edges=list(edges.values()))


def _error_path(error: jsonschema.ValidationError) -> tuple:
    """Where a schema error points; for an unexpected key, the key itself rather than its parent."""
    path = tuple(error.absolute_path)
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        allowed = set(error.schema.get("properties", {}))
        extra = [key for key in error.instance if key not in allowed]
        if extra:
            return (*path, extra[0])
    return path


def _field_name(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
