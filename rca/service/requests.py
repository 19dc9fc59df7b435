"""Validation of incoming requests: every problem becomes an InvalidArgument naming the field."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from graph_schema.cypher.subgraph import MAX_HOPS
from graph_schema.model import ENTITY_LABELS, SIGNAL_FAMILIES, TOPOLOGY_RELATIONS
from rca.rank.types import AnomalySignal, ChangeSignal, Edge, EntityNode, EventSignal
from settings.service import ServiceSettings

ENTITY_LABEL_NAMES = tuple(str(label) for label in ENTITY_LABELS)
EDGE_TYPES = tuple(sorted({str(rel.type) for rel in TOPOLOGY_RELATIONS}))
MAX_SYMPTOMS = 100
MAX_SUPPLIED_NODES = 20000


class InvalidArgument(ValueError):
    """The request is malformed; the message names the field."""


class NotFound(LookupError):
    """The request names something that does not exist; the message names it."""


@dataclass(frozen=True)
class SymptomKey:
    """A symptom as asked: an entity id or name (``by_name``), a family and a time."""

    key: str
    by_name: bool
    family: str
    observed_at: float
    field: str  # e.g. "symptoms[0].entity_name", for error messages


@dataclass
class SuppliedSubgraph:
    """A caller-supplied subgraph, validated and converted to engine types."""

    nodes: dict[str, EntityNode]
    edges: list[Edge]
    anomalies: list[AnomalySignal]
    events: list[EventSignal]
    changes: list[ChangeSignal]
    features: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class InferQuery:
    """A validated Infer request with the server's defaults filled in."""

    symptoms: list[SymptomKey]
    window_start: float
    window_end: float
    top_k: int
    max_hops: int
    subgraph: SuppliedSubgraph | None
    # the radius max_hops may grow to when trouble reaches the neighbourhood's edge (rca.rank.reach);
    # max_hops itself when the request chose its radius
    grown_max_hops: int = 0


def _finite(value: float, name: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidArgument(f"{name} must be a finite, non-negative epoch time in seconds, got {value}")
    return value


def _symptoms(request, now: float) -> list[SymptomKey]:
    if not request.symptoms:
        raise InvalidArgument("symptoms: at least one symptom is required")
    if len(request.symptoms) > MAX_SYMPTOMS:
        raise InvalidArgument(f"symptoms: at most {MAX_SYMPTOMS} symptoms per call, got {len(request.symptoms)}")
    out = []
    for i, symptom in enumerate(request.symptoms):
        which = symptom.WhichOneof("target")
        name = f"symptoms[{i}]"
        if which is None or not getattr(symptom, which).strip():
            raise InvalidArgument(f"{name}: set entity_id or entity_name")
        if symptom.family not in SIGNAL_FAMILIES:
            raise InvalidArgument(
                f"{name}.family: {symptom.family!r} is not a signal family; "
                f"expected one of {', '.join(SIGNAL_FAMILIES)}"
            )
        observed = _finite(symptom.observed_at, f"{name}.observed_at") or now
        out.append(
            SymptomKey(
                getattr(symptom, which).strip(), which == "entity_name", symptom.family, observed, f"{name}.{which}"
            )
        )
    return out


def _window(request, symptoms: list[SymptomKey], settings: ServiceSettings) -> tuple[float, float]:
    if request.HasField("window"):
        start = _finite(request.window.start, "window.start")
        end = _finite(request.window.end, "window.end")
        if end <= start:
            raise InvalidArgument(f"window: end ({end}) must be after start ({start})")
    else:
        start = min(s.observed_at for s in symptoms) - settings.window_before_s
        end = max(s.observed_at for s in symptoms) + settings.window_after_s
    if end - start > settings.max_window_s:
        raise InvalidArgument(f"window: at most {settings.max_window_s:.0f} s long, got {end - start:.0f} s")
    return start, end


def _check_entity(ids: dict, entity_id: str, name: str) -> str:
    if entity_id not in ids:
        raise InvalidArgument(f"{name}: {entity_id!r} is not a node of subgraph.nodes")
    return entity_id


def _supplied(sub) -> SuppliedSubgraph:
    if len(sub.nodes) > MAX_SUPPLIED_NODES:
        raise InvalidArgument(f"subgraph.nodes: at most {MAX_SUPPLIED_NODES} nodes, got {len(sub.nodes)}")
    nodes: dict[str, EntityNode] = {}
    features: dict[str, dict[str, float]] = {}
    for i, node in enumerate(sub.nodes):
        if not node.id:
            raise InvalidArgument(f"subgraph.nodes[{i}].id: required")
        if node.id in nodes:
            raise InvalidArgument(f"subgraph.nodes[{i}].id: duplicate id {node.id!r}")
        if node.label not in ENTITY_LABEL_NAMES:
            raise InvalidArgument(
                f"subgraph.nodes[{i}].label: {node.label!r} is not one of {', '.join(ENTITY_LABEL_NAMES)}"
            )
        bad = [k for k, v in node.features.items() if not math.isfinite(v)]
        if bad:
            raise InvalidArgument(f"subgraph.nodes[{i}].features[{bad[0]!r}]: must be a finite number")
        nodes[node.id] = EntityNode(node.id, node.label, node.name or node.id, node.technology or None)
        if node.features:
            features[node.id] = dict(node.features)
    edges = []
    for i, edge in enumerate(sub.edges):
        if edge.type not in EDGE_TYPES:
            raise InvalidArgument(f"subgraph.edges[{i}].type: {edge.type!r} is not one of {', '.join(EDGE_TYPES)}")
        _check_entity(nodes, edge.source, f"subgraph.edges[{i}].source")
        _check_entity(nodes, edge.target, f"subgraph.edges[{i}].target")
        edges.append(Edge(edge.source, edge.target, edge.type))
    anomalies = []
    for i, a in enumerate(sub.anomalies):
        name = f"subgraph.anomalies[{i}]"
        _check_entity(nodes, a.entity_id, f"{name}.entity_id")
        if a.family not in SIGNAL_FAMILIES:
            raise InvalidArgument(f"{name}.family: {a.family!r} is not one of {', '.join(SIGNAL_FAMILIES)}")
        anomalies.append(
            AnomalySignal(
                a.entity_id,
                a.signal,
                a.family,
                _finite(a.onset, f"{name}.onset"),
                a.end or None,
                a.direction or "up",
                a.score,
                a.value,
                a.baseline,
            )
        )
    events = [
        EventSignal(
            _check_entity(nodes, e.entity_id, f"subgraph.events[{i}].entity_id"),
            e.template,
            e.signature_class or "other",
            e.severity,
            e.count,
            e.first_ts,
            e.last_ts or e.first_ts,
            e.sample,
        )
        for i, e in enumerate(sub.events)
    ]
    changes = [
        ChangeSignal(
            _check_entity(nodes, c.entity_id, f"subgraph.changes[{i}].entity_id"),
            c.at,
            c.change_type or "deploy",
            c.description,
        )
        for i, c in enumerate(sub.changes)
    ]
    return SuppliedSubgraph(nodes, edges, anomalies, events, changes, features)


def parse_infer(request, settings: ServiceSettings, now: float | None = None) -> InferQuery:
    """Validate an InferRequest and fill in the defaults; raise InvalidArgument naming the field."""
    now = time.time() if now is None else now
    symptoms = _symptoms(request, now)
    start, end = _window(request, symptoms, settings)
    top_k = request.top_k or settings.default_top_k
    if top_k > settings.max_top_k:
        raise InvalidArgument(f"top_k: at most {settings.max_top_k}, got {top_k}")
    max_hops = request.max_hops or settings.default_max_hops
    if max_hops > MAX_HOPS:
        raise InvalidArgument(f"max_hops: at most {MAX_HOPS}, got {max_hops}")
    supplied = _supplied(request.subgraph) if request.HasField("subgraph") and request.subgraph.nodes else None
    if supplied is not None:
        for symptom in symptoms:
            if not symptom.by_name and symptom.key not in supplied.nodes:
                raise InvalidArgument(f"{symptom.field}: {symptom.key!r} is not a node of subgraph.nodes")
    grown = max_hops if request.max_hops else max(max_hops, settings.grown_max_hops)
    return InferQuery(symptoms, start, end, top_k, max_hops, supplied, grown)
