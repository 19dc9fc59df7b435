"""The most likely propagation path from a candidate to each symptom, scored, with per-hop evidence."""

from __future__ import annotations

import heapq
import math
import time

from rca.engine.features import ONSET_TOLERANCE_S, FeatureTable
from rca.engine.graph import PropagationGraph
from rca.engine.types import Hop, IncidentSubgraph, Path

MAX_HOPS = 8
OUT_OF_ORDER = 0.5  # a hop whose effect started clearly before its cause is half as likely


def hop_probability(link_weight: float, effect_evidence: float, cause_onset: float | None,
                    effect_onset: float | None) -> float:
    """How likely the fault took this hop: the relation's weight, the effect's evidence, onset order."""
    p = link_weight * (0.25 + 0.75 * effect_evidence)
    if cause_onset is not None and effect_onset is not None and effect_onset < cause_onset - ONSET_TOLERANCE_S:
        p *= OUT_OF_ORDER
    return p


def find_paths(subgraph: IncidentSubgraph, graph: PropagationGraph, table: FeatureTable, candidate: str) -> list[Path]:
    """One path per symptom: the most probable chain of hops (product of hop probabilities)."""
    evidence = dict(zip(table.node_ids, table.column("evidence")))
    onsets = table.onsets or {}
    best: dict[str, tuple[float, int, tuple]] = {candidate: (0.0, 0, ())}
    queue = [(0.0, 0, candidate, ())]
    targets = {s.entity_id for s in subgraph.symptoms}
    while queue:
        cost, hops, node, trail = heapq.heappop(queue)
        if best[node][0] < cost or hops >= MAX_HOPS:
            continue
        for link in graph.effects[node]:
            p = hop_probability(link.weight, evidence[link.effect], onsets.get(node), onsets.get(link.effect))
            new = cost - math.log(max(p, 1e-9))
            if new < best.get(link.effect, (math.inf, 0, ()))[0]:
                best[link.effect] = (new, hops + 1, trail + (link,))
                heapq.heappush(queue, (new, hops + 1, link.effect, trail + (link,)))
    paths = []
    for s in subgraph.symptoms:
        if s.entity_id not in best or s.entity_id not in targets:
            continue
        cost, _, trail = best[s.entity_id]
        hops = tuple(Hop(lk.cause, lk.relation, lk.effect, tuple(hop_evidence(subgraph, table, lk.cause, lk.effect)))
                     for lk in trail)
        paths.append(Path(s.entity_id, round(math.exp(-cost), 6), hops))
    paths.sort(key=lambda p: (-p.score, p.symptom_id))
    return paths


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def entity_evidence(subgraph: IncidentSubgraph, entity_id: str, limit: int = 4) -> list[str]:
    """Short readable lines about one entity's anomalies, logs and changes, strongest first."""
    lines = []
    for a in sorted((a for a in subgraph.anomalies if a.entity_id == entity_id), key=lambda a: -a.score)[:2]:
        lines.append(f"{a.signal} {a.direction} (score {a.score:.1f}) from {_clock(a.onset)}")
    events: dict[str, int] = {}
    for e in subgraph.events:
        if e.entity_id == entity_id:
            events[e.signature_class] = events.get(e.signature_class, 0) + e.count
    for cls, n in sorted(events.items(), key=lambda kv: -kv[1])[:2]:
        lines.append(f"{n} {cls} log lines")
    for c in subgraph.changes:
        if c.entity_id == entity_id:
            lines.append(f"{c.change_type} at {_clock(c.at)}")
    return lines[:limit]


def hop_evidence(subgraph: IncidentSubgraph, table: FeatureTable, cause: str, effect: str) -> list[str]:
    """What supports one hop: the effect's own evidence and the onset order of the two ends."""
    lines = entity_evidence(subgraph, effect, limit=3)
    onsets = table.onsets or {}
    if cause in onsets and effect in onsets:
        lag = onsets[effect] - onsets[cause]
        lines.append(f"started {lag:+.0f} s after {subgraph.nodes[cause].name}")
    if not lines:
        lines.append("no signal seen here (missing or not yet detected)")
    return lines
