"""Conversion of the engine's result and the subgraph's signals into the API's messages."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rca.rank.ensemble import LABELS
from rca.rank.types import IncidentSubgraph, RankingResult
from rca.rank.weak_deviations import weak_deviations
from rca.service.stubs import pb

MAX_EVIDENCE = 500  # response-level evidence items; per-candidate evidence is never cut


def evidence_items(subgraph: IncidentSubgraph, result: RankingResult) -> list:
    """Every finding and signal of the subgraph as Evidence messages, ordered by time."""
    items = [
        pb.Evidence(kind="finding", entity_id=f.entity_id, time=f.time, name=f.rule, text=f.text, strength=f.strength)
        for f in result.findings
    ]
    for a in subgraph.anomalies:
        text = f"{a.signal} {a.direction} (score {a.score:.1f}; value {a.value:.4g} vs baseline {a.baseline:.4g})"
        items.append(
            pb.Evidence(kind="anomaly", entity_id=a.entity_id, time=a.onset, name=a.signal, text=text, strength=a.score)
        )
    for w in weak_deviations(subgraph):
        items.append(
            pb.Evidence(
                kind="deviation", entity_id=w.entity_id, time=w.first_at, name=w.family, text=w.text, strength=w.peak
            )
        )
    for e in subgraph.events:
        text = f"{e.count} x {e.signature_class} log: {e.template}"
        items.append(
            pb.Evidence(
                kind="log",
                entity_id=e.entity_id,
                time=e.first_ts,
                name=e.signature_class,
                text=text,
                strength=float(e.count),
            )
        )
    for c in subgraph.changes:
        text = f"{c.change_type}: {c.description}" if c.description else c.change_type
        items.append(pb.Evidence(kind="change", entity_id=c.entity_id, time=c.at, name=c.change_type, text=text))
    items.sort(key=lambda ev: (ev.time, ev.entity_id, ev.kind, ev.name, ev.text))
    return items


def candidates(subgraph: IncidentSubgraph, result: RankingResult, evidence: list) -> list:
    """The ranked candidates with their paths to each symptom and their own evidence."""
    by_entity = defaultdict(list)
    for item in evidence:
        by_entity[item.entity_id].append(item)
    out = []
    for c in sorted(result.candidates, key=lambda c: c.rank):
        node = subgraph.nodes.get(c.entity_id)
        paths = [
            pb.Path(
                symptom_entity_id=p.symptom_id,
                score=p.score,
                hops=[
                    pb.Hop(
                        from_entity_id=h.from_id, relation=h.relation, to_entity_id=h.to_id, evidence=list(h.evidence)
                    )
                    for h in p.hops
                ],
            )
            for p in result.paths.get(c.entity_id, [])
        ]
        out.append(
            pb.Candidate(
                entity_id=c.entity_id,
                entity_name=node.name if node else c.entity_id,
                label=node.label if node else "",
                score=c.score,
                rank=c.rank,
                paths=paths,
                evidence=by_entity.get(c.entity_id, []),
                breakdown=[
                    pb.Contribution(term=term, label=LABELS.get(term, term), value=value) for term, value in c.breakdown
                ],
                logit=c.logit if c.logit is not None else 0.0,
            )
        )
    return out


def infer_response(
    incident_id: str, subgraph: IncidentSubgraph, resolved, result: RankingResult, timings_ms: dict
) -> Any:  # a pb.InferResponse: the generated rca.v1 messages are not type-checked
    """The InferResponse for one ranking."""
    evidence = evidence_items(subgraph, result)
    return pb.InferResponse(
        incident_id=incident_id,
        candidates=candidates(subgraph, result, evidence),
        evidence=evidence[:MAX_EVIDENCE],
        explanation=result.explanation,
        versions=result.versions,
        timings_ms={**{f"engine_{k}": v for k, v in result.timings_ms.items()}, **timings_ms},
        symptoms=[
            pb.ResolvedSymptom(
                entity_id=s.entity_id, entity_name=s.entity_name, family=s.family, observed_at=s.observed_at
            )
            for s in resolved
        ],
        window=pb.TimeWindow(start=subgraph.window_start, end=subgraph.window_end),
        subgraph_entities=len(subgraph.nodes),
        subgraph_edges=len(subgraph.edges),
        max_hops=subgraph.max_hops,
    )
