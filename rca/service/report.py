"""Plain-text rendering of Infer answers and incidents for the command line."""

from __future__ import annotations

from datetime import UTC, datetime


def clock(ts: float) -> str:
    """Epoch seconds as a UTC wall-clock time."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M:%S")


def _hop(hop) -> str:
    return f"{hop.from_entity_id} --{hop.relation}--> {hop.to_entity_id}"


def format_infer(response, *, evidence_per_candidate: int = 6) -> str:
    """The ranking, the propagation paths with per-hop evidence, and the evidence of each candidate."""
    total = response.timings_ms.get("total_ms", 0.0)
    radius = f" ({response.max_hops} hops around the symptoms)" if response.max_hops else ""  # 0: the caller's subgraph
    lines = [
        (
            f"incident {response.incident_id}: {response.subgraph_entities} entities, "
            f"{response.subgraph_edges} edges in the subgraph{radius}; "
            f"window {clock(response.window.start)}-{clock(response.window.end)} UTC; {total:.1f} ms"
        ),
        "symptoms: "
        + ", ".join(f"{s.entity_name or s.entity_id} {s.family} at {clock(s.observed_at)}" for s in response.symptoms),
    ]
    if response.explanation:
        lines.append(f"explanation: {response.explanation}")
    if not response.candidates:
        lines.append("no candidate root cause: nothing in the neighbourhood showed a fault")
    for c in response.candidates:
        lines.append(f"#{c.rank} {c.entity_name} [{c.label} {c.entity_id}] score {c.score:.2f}")
        for path in c.paths:
            if not path.hops:
                lines.append(f"   is the symptom {path.symptom_entity_id} itself (path score {path.score:.2f})")
                continue
            lines.append(f"   path to {path.symptom_entity_id} (score {path.score:.2f}):")
            for hop in path.hops:
                lines.append(f"     {_hop(hop)}")
                lines += [f"         - {item}" for item in hop.evidence]
        if c.evidence:
            lines.append("   evidence:")
            for item in c.evidence[:evidence_per_candidate]:
                lines.append(f"     {clock(item.time)} {item.kind:8s} {item.text}")
            if len(c.evidence) > evidence_per_candidate:
                lines.append(f"     ... and {len(c.evidence) - evidence_per_candidate} more")
    versions = ", ".join(f"{k} {v}" for k, v in sorted(response.versions.items()))
    if versions:
        lines.append(f"versions: {versions}")
    return "\n".join(lines)
