"""A short plain-language explanation of a ranking."""

from __future__ import annotations

from rca.rank.ensemble import LABELS, deciding_terms
from rca.rank.paths import Signals, entity_evidence
from rca.rank.types import Candidate, IncidentSubgraph, RankingResult


def explain(subgraph: IncidentSubgraph, result: RankingResult, signals: Signals | None = None) -> str:
    """Two or three sentences: the top candidate, why, and how the fault reached the symptom.

    `signals` are the ranking's own (its paths' context), so the evidence is not worked out again."""
    if not result.candidates:
        return "No candidate root cause: the neighbourhood of the symptoms holds no entities."
    top = result.candidates[0]
    node = subgraph.nodes[top.entity_id]
    parts = [f"Most likely root cause: {node.name} ({node.label.lower()}, score {top.score:.2f})."]
    reasons = [f.text for f in result.findings if f.entity_id == top.entity_id][:2]
    if not reasons:
        reasons = entity_evidence(subgraph, top.entity_id, limit=2, signals=signals)
    if reasons:
        parts.append("Evidence: " + "; ".join(reasons) + ".")
    paths = result.paths.get(top.entity_id) or []
    if paths and paths[0].hops:
        names = [subgraph.nodes[paths[0].hops[0].from_id].name] + [subgraph.nodes[h.to_id].name for h in paths[0].hops]
        parts.append(f"Fault path to the symptom: {' -> '.join(names)} (path score {paths[0].score:.2f}).")
    elif paths:
        parts.append("It is itself the entity the alert fired on.")
    if top.breakdown:
        parts.append(_score_sources(top))
    if len(result.candidates) > 1:
        runner = result.candidates[1]
        runner_name = subgraph.nodes[runner.entity_id].name
        decided = deciding_terms(top.breakdown, runner.breakdown) if runner.breakdown else []
        if decided:
            margins = " and ".join(f"{LABELS[n]} ({m:+.1f})" for n, m in decided)
            parts.append(f"Next: {runner_name} ({runner.score:.2f}); {node.name} ranks above it on {margins}.")
        else:
            parts.append(f"Next: {runner_name} ({runner.score:.2f}).")
    return " ".join(parts)


def _score_sources(candidate: Candidate) -> str:
    """Which terms of the composed score raised the candidate most, against the incident's average entity."""
    raised = sorted((nv for nv in candidate.breakdown if nv[1] > 0.05), key=lambda nv: -nv[1])[:3]
    if not raised:
        return "No term of the score sets it apart from the other entities."
    return (
        "Its score comes from "
        + ", ".join(f"{LABELS[n]} {v:+.1f}" for n, v in raised)
        + " (log-odds against the incident's average entity)."
    )
