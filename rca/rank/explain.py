"""A short plain-language explanation of a ranking."""

from __future__ import annotations

from rca.rank.paths import entity_evidence
from rca.rank.types import IncidentSubgraph, RankingResult


def explain(subgraph: IncidentSubgraph, result: RankingResult) -> str:
    """Two or three sentences: the top candidate, why, and how the fault reached the symptom."""
    if not result.candidates:
        return "No candidate root cause: the neighbourhood of the symptoms holds no entities."
    top = result.candidates[0]
    node = subgraph.nodes[top.entity_id]
    parts = [f"Most likely root cause: {node.name} ({node.label.lower()}, score {top.score:.2f})."]
    reasons = [f.text for f in result.findings if f.entity_id == top.entity_id][:2]
    if not reasons:
        reasons = entity_evidence(subgraph, top.entity_id, limit=2)
    if reasons:
        parts.append("Evidence: " + "; ".join(reasons) + ".")
    paths = result.paths.get(top.entity_id) or []
    if paths and paths[0].hops:
        names = [subgraph.nodes[paths[0].hops[0].from_id].name] + [subgraph.nodes[h.to_id].name for h in paths[0].hops]
        parts.append(f"Fault path to the symptom: {' -> '.join(names)} (path score {paths[0].score:.2f}).")
    elif paths:
        parts.append("It is itself the entity the alert fired on.")
    if len(result.candidates) > 1:
        runner = result.candidates[1]
        parts.append(f"Next: {subgraph.nodes[runner.entity_id].name} ({runner.score:.2f}).")
    return " ".join(parts)
