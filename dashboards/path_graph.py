"""The picture of a propagation path on the incident's subgraph, as Graphviz DOT text (pure).

Nodes are the entities; each is filled with the colours of the evidence it has (striped when it
has several kinds), the candidate gets a thick blue double border, the symptoms a red octagon.
Structural edges are drawn grey in graph direction with their relation; the hops of the selected
path are drawn in the direction the fault travelled, thick and blue, numbered, with the relation
crossed ("reverse" when the fault went against the edge's direction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EVIDENCE_COLOURS = {"anomaly": "#f28b82", "change": "#d7aefb", "log": "#fdd663"}
NO_EVIDENCE = "#e8eaed"
WARNING_SEVERITY = 4  # syslog: warning and worse (lower is more severe) count as log evidence
PATH_COLOUR = "#1a73e8"
SYMPTOM_COLOUR = "#d93025"
EDGE_COLOUR = "#9aa0a6"


@dataclass(frozen=True)
class Hop:
    """One step of a path in the direction the fault travelled."""

    source: str
    relation: str
    target: str


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def evidence_kinds(anomalies: Iterable[Mapping], events: Iterable[Mapping], changes: Iterable[Mapping]) -> dict:
    """Entity id -> the kinds of evidence it has: anomaly, change, log (only warning or worse lines count)."""
    kinds: dict[str, set[str]] = {}
    for a in anomalies:
        kinds.setdefault(a["entity_id"], set()).add("anomaly")
    for c in changes:
        kinds.setdefault(c["entity_id"], set()).add("change")
    for e in events:
        severity = e.get("severity")
        if severity is not None and severity <= WARNING_SEVERITY:
            kinds.setdefault(e["entity_id"], set()).add("log")
    return kinds


def path_dot(
    entities: Mapping[str, tuple[str, str]],
    edges: Iterable[tuple[str, str, str]],
    paths: list[list[Hop]],
    candidate: str,
    symptoms: Iterable[str],
    evidence: Mapping[str, set[str]],
) -> str:
    """DOT of ``entities`` (id -> (name, label)) and ``edges`` with the ``paths`` from ``candidate`` drawn.

    Hops are numbered along their path; a hop that two paths share is drawn once, with its first number.
    """
    symptoms = set(symptoms)
    hops: list[tuple[int, Hop]] = []
    for path in paths:
        for number, hop in enumerate(path, 1):
            if all((h.source, h.target) != (hop.source, hop.target) for _, h in hops):
                hops.append((number, hop))
    on_path = {h.source for _, h in hops} | {h.target for _, h in hops} | {candidate}
    edge_set = set(edges)
    hop_pairs = {frozenset((h.source, h.target)) for _, h in hops}
    lines = [
        "digraph incident {",
        '  graph [rankdir=LR, bgcolor="transparent", fontname="sans-serif", nodesep=0.35, ranksep=0.6];',
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11, color="#5f6368"];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    for entity_id in sorted(set(entities) | on_path | symptoms):
        name, label = entities.get(entity_id, (entity_id, ""))
        colours = [EVIDENCE_COLOURS[k] for k in ("anomaly", "change", "log") if k in evidence.get(entity_id, ())]
        attrs = {
            "label": f"{name}\n{label}" if label else name,
            "fillcolor": ":".join(colours) if colours else NO_EVIDENCE,
            "style": "rounded,striped" if len(colours) > 1 else "rounded,filled",
        }
        if entity_id in symptoms:
            attrs.update(shape="octagon", color=SYMPTOM_COLOUR, penwidth="2.5")
            attrs["style"] = attrs["style"].replace("rounded,", "")
        if entity_id == candidate:
            attrs.update(color=PATH_COLOUR, penwidth="3", peripheries="2")
        elif entity_id in on_path and entity_id not in symptoms:
            attrs.update(color=PATH_COLOUR, penwidth="2")
        lines.append(f"  {quote(entity_id)} [{_attrs(attrs)}];")
    for source, relation, target in sorted(edge_set):
        if frozenset((source, target)) in hop_pairs:
            continue  # drawn below as a hop of the path
        attrs = {"label": relation, "color": EDGE_COLOUR, "fontcolor": "#5f6368"}
        lines.append(f"  {quote(source)} -> {quote(target)} [{_attrs(attrs)}];")
    for number, hop in hops:
        reverse = (hop.source, hop.relation, hop.target) not in edge_set and (
            hop.target,
            hop.relation,
            hop.source,
        ) in edge_set
        attrs = {
            "label": f"{number}. {hop.relation}{' (reverse)' if reverse else ''}",
            "color": PATH_COLOUR,
            "fontcolor": PATH_COLOUR,
            "penwidth": "3",
        }
        lines.append(f"  {quote(hop.source)} -> {quote(hop.target)} [{_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={quote(value)}" for key, value in attrs.items())


def neighbourhood_dot(
    entities: Mapping[str, tuple[str, str]], edges: Iterable[tuple[str, str, str]], centre: str, evidence: Mapping
) -> str:
    """DOT of a neighbourhood around ``centre`` (no path): the centre outlined blue, edges labelled."""
    return path_dot(entities, edges, [], centre, (), evidence)
