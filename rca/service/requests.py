"""Validation of incoming requests: every problem becomes an InvalidArgument naming the field."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from graph_schema.cypher.subgraph import MAX_HOPS
from graph_schema.model import COVERAGE_FAMILIES, ENTITY_LABELS, SIGNAL_FAMILIES, TOPOLOGY_RELATIONS
from rca.rank.types import AnomalySignal, ChangeSignal, DeviationSignal, Edge, EntityNode, EventSignal
from settings.service import ServiceSettings

ENTITY_LABEL_NAMES = tuple(str(label) for label in ENTITY_LABELS)
EDGE_TYPES = tuple(sorted({str(rel.type) for rel in TOPOLOGY_RELATIONS}))
MAX_SYMPTOMS = 100
MAX_SUPPLIED_NODES = 20000
# Ids, names, labels, families and types: far above any real one, far below what would make an error
# message (gRPC status details travel in a header of at most 16 KB) or a graph key unwieldy.
MAX_KEY_CHARS = 512
ECHO_CHARS = 64  # of a value the caller sent, quoted back in an error message
# Epoch times accepted (seconds): 2000-01-01 to 2100-01-01 UTC. Fixed rather than relative to the server's
# clock, so replayed and simulated incidents stay valid; it refuses milli-, micro- and nanosecond timestamps,
# negative and non-finite times, and times so large that subtracting the default window changes nothing.
EARLIEST_TIME = 946_684_800.0
LATEST_TIME = 4_102_444_800.0


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
    observed: dict[str, frozenset[str]] = field(default_factory=dict)  # Node.observed_families by node id
    deviations: list[DeviationSignal] = field(default_factory=list)


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
    unresolved: list[str] = field(default_factory=list)  # symptoms the caller could not name as entities


def clip(value: str, limit: int = ECHO_CHARS) -> str:
    """``value`` quoted for an error message: its repr, cut after ``limit`` characters with its length."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} chars)"


def _key(value: str, name: str) -> str:
    if len(value) > MAX_KEY_CHARS:
        raise InvalidArgument(f"{name}: at most {MAX_KEY_CHARS} characters, got {len(value)}")
    return value


def _epoch(value: float, name: str, *, optional: bool = False) -> float:
    """An epoch time in [EARLIEST_TIME, LATEST_TIME); 0 passes when the field is optional (unset)."""
    if optional and value == 0:
        return 0.0
    if not (math.isfinite(value) and EARLIEST_TIME <= value < LATEST_TIME):
        raise InvalidArgument(
            f"{name}: must be an epoch time in seconds from 2000-01-01 to 2100-01-01 UTC "
            f"({EARLIEST_TIME:.0f} to {LATEST_TIME:.0f}){', or 0' if optional else ''}, got {value!r}"
        )
    return value


def _number(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise InvalidArgument(f"{name}: must be a finite number, got {value!r}")
    return value


def _one_of(value: str, allowed, name: str, what: str) -> str:
    if value not in allowed:
        raise InvalidArgument(f"{name}: {clip(value)} is not {what}; expected one of {', '.join(allowed)}")
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
        key = _key(getattr(symptom, which), f"{name}.{which}").strip()
        _one_of(symptom.family, SIGNAL_FAMILIES, f"{name}.family", "a signal family")
        observed = _epoch(symptom.observed_at, f"{name}.observed_at", optional=True) or now
        out.append(SymptomKey(key, which == "entity_name", symptom.family, observed, f"{name}.{which}"))
    return out


def _window(request, symptoms: list[SymptomKey], settings: ServiceSettings) -> tuple[float, float]:
    if request.HasField("window"):
        start = _epoch(request.window.start, "window.start")
        end = _epoch(request.window.end, "window.end")
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
        raise InvalidArgument(f"{name}: {clip(entity_id)} is not a node of subgraph.nodes")
    return entity_id


def _nodes(sub) -> tuple[dict[str, EntityNode], dict[str, dict[str, float]]]:
    nodes: dict[str, EntityNode] = {}
    features: dict[str, dict[str, float]] = {}
    for i, node in enumerate(sub.nodes):
        name = f"subgraph.nodes[{i}]"
        if not node.id:
            raise InvalidArgument(f"{name}.id: required")
        _key(node.id, f"{name}.id")
        if node.id in nodes:
            raise InvalidArgument(f"{name}.id: duplicate id {clip(node.id)}")
        _one_of(node.label, ENTITY_LABEL_NAMES, f"{name}.label", "an entity label")
        _key(node.name, f"{name}.name")
        _key(node.technology, f"{name}.technology")
        for feature, value in node.features.items():
            _key(feature, f"{name}.features")
            if not math.isfinite(value):
                raise InvalidArgument(f"{name}.features[{clip(feature)}]: must be a finite number")
        nodes[node.id] = EntityNode(node.id, node.label, node.name or node.id, node.technology or None)
        if node.features:
            features[node.id] = dict(node.features)
    return nodes, features


def _supplied(sub) -> SuppliedSubgraph:
    if len(sub.nodes) > MAX_SUPPLIED_NODES:
        raise InvalidArgument(f"subgraph.nodes: at most {MAX_SUPPLIED_NODES} nodes, got {len(sub.nodes)}")
    nodes, features = _nodes(sub)
    edges = []
    for i, edge in enumerate(sub.edges):
        _one_of(edge.type, EDGE_TYPES, f"subgraph.edges[{i}].type", "an edge type")
        _check_entity(nodes, edge.source, f"subgraph.edges[{i}].source")
        _check_entity(nodes, edge.target, f"subgraph.edges[{i}].target")
        edges.append(Edge(edge.source, edge.target, edge.type))
    anomalies = []
    for i, a in enumerate(sub.anomalies):
        name = f"subgraph.anomalies[{i}]"
        _check_entity(nodes, a.entity_id, f"{name}.entity_id")
        _one_of(a.family, SIGNAL_FAMILIES, f"{name}.family", "a signal family")
        anomalies.append(
            AnomalySignal(
                a.entity_id,
                _key(a.signal, f"{name}.signal"),
                a.family,
                _epoch(a.onset, f"{name}.onset"),
                _epoch(a.end, f"{name}.end", optional=True) or None,
                _key(a.direction, f"{name}.direction") or "up",
                _number(a.score, f"{name}.score"),
                _number(a.value, f"{name}.value"),
                _number(a.baseline, f"{name}.baseline"),
            )
        )
    events = []
    for i, e in enumerate(sub.events):
        name = f"subgraph.events[{i}]"
        if not 0 <= e.severity <= 7:
            raise InvalidArgument(f"{name}.severity: a syslog severity 0 (emergency) to 7 (debug), got {e.severity}")
        if e.count < 0:
            raise InvalidArgument(f"{name}.count: must not be negative, got {e.count}")
        first = _epoch(e.first_ts, f"{name}.first_ts")
        events.append(
            EventSignal(
                _check_entity(nodes, e.entity_id, f"{name}.entity_id"),
                e.template,
                _key(e.signature_class, f"{name}.signature_class") or "other",
                e.severity,
                e.count,
                first,
                _epoch(e.last_ts, f"{name}.last_ts", optional=True) or first,
                e.sample,
            )
        )
    changes = [
        ChangeSignal(
            _check_entity(nodes, c.entity_id, f"subgraph.changes[{i}].entity_id"),
            _epoch(c.at, f"subgraph.changes[{i}].at"),
            _key(c.change_type, f"subgraph.changes[{i}].change_type") or "deploy",
            c.description,
        )
        for i, c in enumerate(sub.changes)
    ]
    return SuppliedSubgraph(nodes, edges, anomalies, events, changes, features, _observed(sub), _deviations(sub, nodes))


def _deviations(sub, nodes) -> list[DeviationSignal]:
    deviations = []
    for i, d in enumerate(sub.deviations):
        name = f"subgraph.deviations[{i}]"
        _one_of(d.family, SIGNAL_FAMILIES, f"{name}.family", "a signal family")
        peak = _number(d.peak, f"{name}.peak")
        if peak < 0:
            raise InvalidArgument(f"{name}.peak: must not be negative, got {peak:g}")
        deviations.append(
            DeviationSignal(
                _check_entity(nodes, d.entity_id, f"{name}.entity_id"), d.family, _epoch(d.at, f"{name}.at"), peak
            )
        )
    return deviations


def _observed(sub) -> dict[str, frozenset[str]]:
    """Each node's observed_families, checked against the coverage families."""
    observed = {}
    for i, node in enumerate(sub.nodes):
        for j, family in enumerate(node.observed_families):
            what = "a signal family or logs"
            _one_of(family, COVERAGE_FAMILIES, f"subgraph.nodes[{i}].observed_families[{j}]", what)
        if node.observed_families:
            observed[node.id] = frozenset(node.observed_families)
    return observed


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
                raise InvalidArgument(f"{symptom.field}: {clip(symptom.key)} is not a node of subgraph.nodes")
    grown = max_hops if request.max_hops else max(max_hops, settings.grown_max_hops)
    return InferQuery(symptoms, start, end, top_k, max_hops, supplied, grown, _unresolved(request))


def _unresolved(request) -> list[str]:
    """The caller's unresolved symptoms: at most MAX_SYMPTOMS texts of at most MAX_KEY_CHARS each."""
    texts = list(request.unresolved_symptoms)
    if len(texts) > MAX_SYMPTOMS:
        raise InvalidArgument(f"unresolved_symptoms: at most {MAX_SYMPTOMS}, got {len(texts)}")
    for i, text in enumerate(texts):
        if not text.strip() or len(text) > MAX_KEY_CHARS:
            raise InvalidArgument(f"unresolved_symptoms[{i}]: 1 to {MAX_KEY_CHARS} characters, got {len(text)}")
    return texts
