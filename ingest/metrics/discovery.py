"""Topology discovery from Prometheus: call edges with rates, placements and ownership from labels."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from graph_schema.model import topology_relation
from ingest.jobs.bad_input import BadInput
from ingest.metrics.mapping import EntityMapper, EntityRef
from ingest.metrics.promql_templates import TemplateSet
from ingest.metrics.reader import PrometheusReader, QueryRejected
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot

log = logging.getLogger(__name__)


@dataclass
class Discovery:
    """A snapshot of what Prometheus shows at one time, and the bad input met on the way."""

    snapshot: TopologySnapshot
    bad: BadInput = field(default_factory=BadInput)
    queries: int = 0


def discover(
    reader: PrometheusReader, templates: TemplateSet, *, at: float, window: str, rate_window: str, prefix: str = ""
) -> Discovery:
    """Run the discovery templates (edges) and the signal templates (entities) as instant queries at ``at``."""
    mapper = EntityMapper(templates, prefix)
    bad = BadInput()
    entities: dict[EntityRef, EntityRecord] = {}
    edges: dict[tuple, dict] = {}
    queries = 0

    def entity(ref: EntityRef) -> None:
        entities.setdefault(ref, EntityRecord(ref.label, ref.id, name=ref.id))

    for template in templates.edges:
        queries += 1
        try:
            rows = reader.query(template.promql(window), at)
        except QueryRejected as exc:
            bad.add("rejected_template", template.name, str(exc))
            continue
        if not rows:
            bad.add("empty_template", template.name)
        for series in rows:
            src = mapper.map(template.from_rule, series.labels)
            dst = mapper.map(template.to_rule, series.labels)
            relation = topology_relation(template.relation, src.label, dst.label) if src and dst else None
            if src is None or dst is None or relation is None:
                bad.add("unmapped", template.name, f"labels {series.labels} make no allowed {template.relation} edge")
                continue
            entity(src)
            entity(dst)
            figures = edges.setdefault((relation, src.id, dst.id), {})
            value = float(series.values[-1]) if len(series.values) else None
            if series.non_finite:
                bad.add("non_finite", template.name, n=series.non_finite)
            if template.value in ("rate", "error_rate") and value is not None:
                figures[template.value] = figures.get(template.value, 0.0) + value
    for signal in templates.signals:
        queries += 1
        try:
            rows = reader.query(signal.promql(rate_window), at)
        except QueryRejected as exc:
            bad.add("rejected_template", signal.name, str(exc))
            continue
        for series in rows:
            ref = mapper.map(signal.entity, series.labels)
            if ref is None:
                bad.add("unmapped", signal.name, f"labels {series.labels} under rule {signal.entity}")
            else:
                entity(ref)
    snapshot = TopologySnapshot(
        entities=sorted(entities.values(), key=lambda e: (e.label, e.id)),
        edges=[
            EdgeRecord(relation, src, dst, rate=fig.get("rate"), error_rate=fig.get("error_rate"))
            for (relation, src, dst), fig in sorted(edges.items(), key=lambda kv: (kv[0][0].type, kv[0][1], kv[0][2]))
        ],
    )
    return Discovery(snapshot, bad, queries)
