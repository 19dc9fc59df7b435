"""Build the engine's IncidentSubgraph for a query: from the graph (one to four reads) or from the request."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from graph_schema.cypher import subgraph as cypher
from graph_schema.event_templates import latest_bucket
from graph_schema.model import Label
from rca.rank.reach import grown_radius
from rca.rank.types import (
    AnomalySignal,
    ChangeSignal,
    DeviationSignal,
    Edge,
    EntityNode,
    EventSignal,
    IncidentSubgraph,
    Symptom,
    observed_families,
)
from rca.service.requests import InferQuery, InvalidArgument, NotFound, SymptomKey, clip

# When a name fits several entities, a service is what an alert most likely means.
_LABEL_PREFERENCE: dict[str, int] = {Label.SERVICE: 0, Label.DATASTORE: 1, Label.HOST: 2, Label.INSTANCE: 3}


@dataclass(frozen=True)
class ResolvedSymptom:
    """A symptom after its key was resolved to one entity."""

    entity_id: str
    entity_name: str
    family: str
    observed_at: float


def _resolve(symptom: SymptomKey, entities: list[tuple[str, str, str]]) -> tuple[str, str]:
    """Pick the entity (id, label, name) a symptom key means; raise NotFound or InvalidArgument."""
    best: list = []
    if symptom.by_name:
        matches = sorted(
            {e for e in entities if e[2] == symptom.key}, key=lambda e: (_LABEL_PREFERENCE.get(e[1], 9), e[0])
        )
        best = [e for e in matches if matches and _LABEL_PREFERENCE.get(e[1]) == _LABEL_PREFERENCE.get(matches[0][1])]
        if len(best) > 1:
            ids = ", ".join(e[0] for e in best[:5])
            raise InvalidArgument(
                f"{symptom.field}: {clip(symptom.key)} names {len(best)} entities ({ids}); use entity_id"
            )
    if not symptom.by_name or not best:
        # A name that fits no entity may still be an id (`rca infer --symptom svc-42:errors`).
        best = [e for e in entities if e[0] == symptom.key]
    if not best:
        what = "named" if symptom.by_name else "with id"
        raise NotFound(f"{symptom.field}: no entity {what} {clip(symptom.key)} in the graph")
    return best[0][0], best[0][2]


# anomalies, events, changes, coverage as (entity id, family) pairs, and deviations
Signals = tuple[
    list[AnomalySignal], list[EventSignal], list[ChangeSignal], list[tuple[str, str]], list[DeviationSignal]
]


def settled_templates(items: list[dict]) -> dict[str, str]:
    """Template id -> the text its events should be read by: its latest bucket's.

    The template miner (ingest/syslog/miner.py) generalises a template as it meets more lines
    ("[getRoutesByRouteIds][Get Route By Ids Failed]" becomes "<*> Route By Ids Failed]" when a
    variant arrives), and each :Event keeps the text it was written with. Read by their own texts,
    a template's earlier buckets and its later ones would be two templates, the later one "new"
    (rca.rank.log_change), and the same logs would rank differently with the miner's history.
    """
    buckets: dict[str, tuple[list[float], list[str]]] = {}
    for p in items:
        template_id = p.get("template_id")
        if not template_id:
            continue
        times, texts = buckets.setdefault(template_id, ([], []))
        times.append(float(p.get("last_ts") or p["first_ts"]))
        texts.append(p.get("template") or "")
    return {template_id: texts[latest_bucket(times, texts)] for template_id, (times, texts) in buckets.items()}


def _signals(rows: list[dict]) -> Signals:
    anomalies: list[AnomalySignal] = []
    events: list[EventSignal] = []
    changes: list[ChangeSignal] = []
    coverage: list[tuple[str, str]] = []
    deviations: list[DeviationSignal] = []
    texts = settled_templates([p for r in rows if r["kind"] == "event" for p in r["items"]])
    for row, p in ((r, p) for r in rows for p in r["items"]):
        if row["kind"] == "coverage":
            coverage.append((p["entity_id"], p["family"]))
        elif row["kind"] == "deviation":
            deviations.append(DeviationSignal(p["entity_id"], p.get("family") or "", float(p["at"]), float(p["peak"])))
        elif row["kind"] == "anomaly":
            anomalies.append(
                AnomalySignal(
                    p["entity_id"],
                    p.get("signal") or "",
                    p.get("family") or "",
                    float(p["onset"]),
                    p.get("end"),
                    p.get("direction") or "up",
                    float(p.get("score") or 0.0),
                    float(p.get("value") or 0.0),
                    float(p.get("baseline") or 0.0),
                )
            )
        elif row["kind"] == "event":
            events.append(
                EventSignal(
                    p["entity_id"],
                    texts.get(p.get("template_id") or "", p.get("template") or ""),
                    p.get("signature_class") or "other",
                    int(p.get("severity") or 6),
                    int(p.get("count") or 1),
                    float(p["first_ts"]),
                    float(p.get("last_ts") or p["first_ts"]),
                    p.get("sample") or "",
                )
            )
        else:
            changes.append(
                ChangeSignal(
                    p["entity_id"], float(p["at"]), p.get("change_type") or "deploy", p.get("description") or ""
                )
            )
    return anomalies, events, changes, coverage, deviations


def _resolve_all(query: InferQuery, entities: list[tuple[str, str, str]]) -> list[ResolvedSymptom]:
    resolved = []
    for symptom in query.symptoms:
        entity_id, name = _resolve(symptom, entities)
        resolved.append(ResolvedSymptom(entity_id, name, symptom.family, symptom.observed_at))
    return resolved


def from_graph(store, query: InferQuery, cache=None) -> tuple[IncidentSubgraph, list[ResolvedSymptom]]:
    """Entities within max_hops of the symptoms and their signals in the window.

    With a TopologyCache the walk runs over its snapshot and the graph is read once (signals);
    without one, the neighbourhood statement walks the graph itself (two reads). When the query
    may grow (its radius was left to the server) and trouble reaches the neighbourhood's edge
    (rca.rank.reach), the wider neighbourhood is walked and only its new entities' signals read.
    """
    nodes, edges, key, resolved = _neighbourhood(store, query, cache, query.max_hops)
    signals = _read_signals(store, list(nodes), query, cache)
    subgraph = _subgraph(nodes, edges, *signals, resolved, query)
    subgraph.neighbourhood_key, subgraph.max_hops = key, query.max_hops
    hops = grown_radius(subgraph, query.max_hops, query.grown_max_hops)
    if hops == query.max_hops:
        return subgraph, resolved
    wider_nodes, wider_edges, wider_key, resolved = _neighbourhood(store, query, cache, hops)
    more = _read_signals(store, [n for n in wider_nodes if n not in nodes], query, cache)
    anomalies, events, changes, coverage, deviations = signals
    wider = _subgraph(
        wider_nodes,
        wider_edges,
        anomalies + more[0],
        events + more[1],
        changes + more[2],
        coverage + more[3],
        deviations + more[4],
        resolved,
        query,
    )
    wider.neighbourhood_key, wider.max_hops = wider_key, hops
    return wider, resolved


def _neighbourhood(store, query: InferQuery, cache, hops: int):
    """(nodes, edges, neighbourhood key or None, resolved symptoms) within `hops` of the symptoms."""
    if cache is not None:
        neighbourhood, resolved = _walk_snapshot(cache, query, hops)
        return neighbourhood.nodes, neighbourhood.edges, neighbourhood.key, resolved
    nodes, edges, resolved = _walk_graph(store, query, hops)
    return nodes, edges, None, resolved


def _read_signals(store, ids: list[str], query: InferQuery, cache=None) -> Signals:
    """(anomalies, events, changes, coverage, deviations) of these entities in the query's window: one graph read.

    With a TopologyCache the coverage comes from its in-memory copy, else from the same read.
    """
    if not ids:
        return [], [], [], [], []
    start, end = query.window_start, query.window_end
    if cache is None:
        return _signals(store.read_plain(cypher.SIGNALS_AND_COVERAGE_IN_WINDOW, ids=ids, start=start, end=end))
    anomalies, events, changes, _, deviations = _signals(
        store.read_plain(cypher.SIGNALS_IN_WINDOW, ids=ids, start=start, end=end)
    )
    return anomalies, events, changes, cache.coverage().observed(ids, start, end), deviations


def _walk_snapshot(cache, query: InferQuery, hops: int):
    snapshot = cache.snapshot()
    keys = sorted({s.key for s in query.symptoms})
    if any(not snapshot.lookup(key) for key in keys):
        snapshot = cache.reload_for_keys(keys)  # an entity created since the last reload
    entities = [entity for key in keys for entity in snapshot.lookup(key)]
    resolved = _resolve_all(query, entities)
    return snapshot.neighbourhood([s.entity_id for s in resolved], hops), resolved


def _walk_graph(store, query: InferQuery, hops: int):
    keys = sorted({s.key for s in query.symptoms})
    rows = store.read(cypher.neighbourhood(hops), keys=keys)
    resolved = _resolve_all(query, list({(r["seed"], r["seed_label"], r["seed_name"]) for r in rows}))
    chosen = {s.entity_id for s in resolved}
    nodes: dict[str, EntityNode] = {}
    out_edges: dict[str, list] = defaultdict(list)
    for row in rows:
        if row["seed"] in chosen and row["id"] not in nodes:
            nodes[row["id"]] = EntityNode(row["id"], row["label"], row["name"] or row["id"], row["technology"])
            out_edges[row["id"]] = row["out"]
    edges = sorted(
        {
            Edge(source, target, rel_type)
            for source, pairs in out_edges.items()
            for rel_type, target in pairs
            if rel_type is not None and target in nodes
        },
        key=lambda e: (e.source, e.target, e.type),
    )
    return dict(sorted(nodes.items())), edges, resolved


def from_request(query: InferQuery) -> tuple[IncidentSubgraph, list[ResolvedSymptom]]:
    """The caller-supplied subgraph, with symptoms resolved among its nodes and signals windowed."""
    supplied = query.subgraph
    assert supplied is not None, "from_request: the query carries no subgraph (from_graph reads it from the graph)"
    entities = [(n.id, n.label, n.name) for n in supplied.nodes.values()]
    try:
        resolved = _resolve_all(query, entities)
    except NotFound as exc:
        raise InvalidArgument(f"{exc}".replace("in the graph", "in subgraph.nodes")) from None
    start, end = query.window_start, query.window_end
    anomalies = [a for a in supplied.anomalies if a.onset <= end and (a.end is None or a.end >= start)]
    events = [e for e in supplied.events if e.last_ts >= start and e.first_ts <= end]
    changes = [c for c in supplied.changes if start <= c.at <= end]
    coverage = [(entity_id, family) for entity_id, families in supplied.observed.items() for family in families]
    deviations = [d for d in supplied.deviations if start <= d.at <= end]
    subgraph = _subgraph(
        supplied.nodes, supplied.edges, anomalies, events, changes, coverage, deviations, resolved, query
    )
    subgraph.extra_features = supplied.features
    return subgraph, resolved


def _subgraph(
    nodes, edges, anomalies, events, changes, coverage, deviations, resolved, query: InferQuery
) -> IncidentSubgraph:
    return IncidentSubgraph(
        nodes=dict(nodes),
        edges=list(edges),
        anomalies=sorted(anomalies, key=lambda a: (a.onset, a.entity_id, a.signal)),
        events=sorted(events, key=lambda e: (e.first_ts, e.entity_id, e.template)),
        changes=sorted(changes, key=lambda c: (c.at, c.entity_id)),
        symptoms=[Symptom(s.entity_id, s.family, s.observed_at) for s in resolved],
        window_start=query.window_start,
        window_end=query.window_end,
        observed=observed_families(coverage, nodes, anomalies, events),
        coverage_known=bool(coverage),
        deviations=sorted(deviations, key=lambda d: (d.at, d.entity_id, d.family)),
    )
