"""Batched writes of estates (entities, edges), signals (Anomaly, Event, Change, Deviation) and coverage as rows.

Entities and edges use the topology upserts (``graph_schema.cypher.topology``), tagged with the
source that asserts them (simulator, replay), so a later topology sync treats them like any other.

Rows follow the property tables of ``graph_schema.model``; each signal row names its entity by
``entity_id`` and ``entity_label``. Rows are grouped by label so that every statement MATCHes its
entity with a label (an unlabelled MATCH by id would scan the whole graph).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable

from graph_schema.coverage import CoverageSpan
from graph_schema.coverage import write_coverage as write_coverage_spans
from graph_schema.cypher import signals as cypher
from graph_schema.cypher import topology
from graph_schema.cypher.deviations import UPSERT_DEVIATION
from graph_schema.model import ENTITY_LABELS, Label, RelType, topology_relation

_ANOMALY_DEFAULTS = {
    "end": None,
    "last_ts": None,
    "status": "open",
    "direction": "up",
    "value": 0.0,
    "baseline": 0.0,
    "source": "replay",
}
_EVENT_DEFAULTS = {"template_id": None, "bucket": None, "bucket_seconds": 60, "sample": "", "severity": 6}
_CHANGE_DEFAULTS = {"description": "", "source": "replay"}


class UnknownLabel(ValueError):
    """A row names a label or relation the graph model does not have."""


def _entity_label(value: str) -> Label:
    try:
        label = Label(value)
    except ValueError:
        raise UnknownLabel(f"unknown entity label {value!r}; expected one of {', '.join(ENTITY_LABELS)}") from None
    if label not in ENTITY_LABELS:
        raise UnknownLabel(f"{value!r} is not an entity label; expected one of {', '.join(ENTITY_LABELS)}")
    return label


def _stable_id(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def write_entities(store, rows: Iterable[dict], *, now: float | None = None, source: str = "simulator") -> int:
    """Upsert entities (id, label, name, kind?, technology?) asserted by ``source``; returns how many."""
    by_label: dict[Label, list[dict]] = defaultdict(list)
    for row in rows:
        label = _entity_label(row["label"])
        by_label[label].append({"kind": label.lower(), "name": None, "technology": None, "attrs": None, **row})
    seen = now if now is not None else time.time()
    written = sum(
        store.write_rows(topology.UPSERT_ENTITIES[label], batch, now=seen, source=source)
        for label, batch in by_label.items()
    )
    return _advance_clock(store, written, seen)


def write_edges(store, rows: Iterable[dict], *, now: float | None = None, source: str = "simulator") -> int:
    """Upsert edges (source, source_label, target, target_label, type) asserted by ``source``."""
    by_relation: dict = defaultdict(list)
    for row in rows:
        source_label, target_label = _entity_label(row["source_label"]), _entity_label(row["target_label"])
        relation = topology_relation(RelType(row["type"]), source_label, target_label)
        if relation is None:
            raise UnknownLabel(f"the graph model has no relation {source_label}-[:{row['type']}]->{target_label}")
        by_relation[relation].append(
            {
                "source_id": row["source"],
                "target_id": row["target"],
                "rate": row.get("rate"),
                "error_rate": row.get("error_rate"),
            }
        )
    seen = now if now is not None else time.time()
    written = sum(
        store.write_rows(topology.UPSERT_EDGES[relation], batch, now=seen, source=source)
        for relation, batch in by_relation.items()
    )
    return _advance_clock(store, written, seen)


def _advance_clock(store, written: int, now: float) -> int:
    """Tell topology readers something changed (when something was written); returns `written`."""
    if written:
        store.write(topology.ADVANCE_CLOCK, now=now)
    return written


def _write_signals(store, statements: dict[Label, str], rows: Iterable[dict], defaults: dict, id_parts) -> int:
    by_label: dict[Label, list[dict]] = defaultdict(list)
    for row in rows:
        full = {**defaults, **row}
        full.setdefault("id", _stable_id(*(full[p] for p in id_parts)))
        by_label[_entity_label(full["entity_label"])].append(full)
    return sum(store.write_rows(statements[label], batch) for label, batch in by_label.items())


def write_anomalies(store, rows: Iterable[dict]) -> int:
    """Upsert :Anomaly rows with their CONCERNS link; ids default to entity+signal+onset."""
    return _write_signals(store, cypher.UPSERT_ANOMALY, rows, _ANOMALY_DEFAULTS, ("entity_id", "signal", "onset"))


def write_events(store, rows: Iterable[dict]) -> int:
    """Upsert :Event rows (template counts per bucket) with their CONCERNS link."""
    prepared = []
    for row in rows:
        full = {**_EVENT_DEFAULTS, **row}
        full["template_id"] = full["template_id"] or _stable_id(full["template"])
        full["bucket"] = full["bucket"] if full["bucket"] is not None else full["first_ts"]
        prepared.append(full)
    return _write_signals(store, cypher.UPSERT_EVENT, prepared, {}, ("entity_id", "template_id", "bucket"))


def write_changes(store, rows: Iterable[dict]) -> int:
    """Upsert :Change rows with their CONCERNS link; ids default to entity+type+time."""
    return _write_signals(store, cypher.UPSERT_CHANGE, rows, _CHANGE_DEFAULTS, ("entity_id", "change_type", "at"))


def write_deviations(store, rows: Iterable[dict], *, source: str = "simulator") -> int:
    """Upsert :Deviation rows (entity_id, entity_label, family, at, peak, signal?, id?) with their CONCERNS link."""
    by_label: dict[Label, list[dict]] = defaultdict(list)
    for row in rows:
        full = {"signal": "", **row}
        full.setdefault("id", _stable_id(full["entity_id"], full["family"], full["at"]))
        by_label[_entity_label(full["entity_label"])].append(full)
    return sum(store.write_rows(UPSERT_DEVIATION[label], batch, source=source) for label, batch in by_label.items())


def write_coverage(store, rows: Iterable[dict], *, source: str = "simulator") -> int:
    """Upsert :Coverage rows (entity_id, entity_label, family, first_seen, last_seen, holds_s?) with their link."""
    spans = [
        CoverageSpan(
            _entity_label(row["entity_label"]),
            row["entity_id"],
            row["family"],
            row["first_seen"],
            row["last_seen"],
            row.get("holds_s", 0.0),
        )
        for row in rows
    ]
    return write_coverage_spans(store, spans, source=source)


def write_simulated(store, incident) -> None:
    """A simulated incident's estate, signals and monitoring coverage, through the writes above."""
    write_entities(store, incident.topology["entities"])
    write_edges(store, incident.topology["edges"])
    write_anomalies(store, incident.anomalies)
    write_events(store, incident.events)
    write_changes(store, incident.changes)
    write_coverage(store, incident.coverage_rows())
    write_deviations(store, incident.deviations)
