"""Reads of the incident subgraph: the entities within k hops of the symptoms, then their signals.

The service normally walks an in-memory topology snapshot (read with ``topology.ALL_ENTITIES`` and
``ALL_EDGES``) and reads only the signals. Without the snapshot it is two round trips per Infer:
``neighbourhood(k)`` resolves the symptom keys (id or name) and
returns every entity within ``k`` structural hops with its outgoing structural edges;
``SIGNALS_IN_WINDOW`` returns the Anomaly, Event, Change and Deviation nodes of those entities that overlap
the time window. Hop counts cannot be parameters in Cypher, so one statement text exists per
allowed radius, built here from constants only.
"""

from __future__ import annotations

from functools import cache

from graph_schema.model import ENTITY_LABELS, TOPOLOGY_RELATIONS

MAX_HOPS = 6
STRUCTURAL_TYPES = "|".join(sorted({str(rel.type) for rel in TOPOLOGY_RELATIONS}))

# One branch per entity label so the symptom lookup uses the label's id/name indexes.
# Rows: seed (the symptom entity reached from), its label and name, and one neighbour each
# with its outgoing structural edges as [type, target id] pairs ([null, null] when it has none).
_NEIGHBOURHOOD_BRANCH = """
MATCH (s:{label}) WHERE s.id IN $keys OR s.name IN $keys
MATCH (s)-[:{types}*0..{hops}]-(m)
WITH DISTINCT s, m
OPTIONAL MATCH (m)-[r:{types}]->(o)
RETURN s.id AS seed, '{label}' AS seed_label, s.name AS seed_name,
       m.id AS id, labels(m)[0] AS label, m.name AS name, m.technology AS technology,
       collect([type(r), o.id]) AS out
"""


@cache
def neighbourhood(hops: int) -> str:
    """The statement returning entities within ``hops`` (0..MAX_HOPS) of the entities keyed by $keys."""
    if not isinstance(hops, int) or not 0 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be an integer in 0..{MAX_HOPS}, got {hops!r}")
    return "UNION ALL".join(
        _NEIGHBOURHOOD_BRANCH.format(label=label, types=STRUCTURAL_TYPES, hops=hops) for label in ENTITY_LABELS
    )


# Signals carry their entity's id, so the window filter and the entity filter need no join.
# Anomalies overlap the window when they began before its end and were still anomalous at its
# start: by their end, else by their latest anomalous sample (an open anomaly whose detector
# stopped reporting long ago is not evidence), else by their onset. One row per kind, its
# signals collected: four Bolt records to decode instead of one per signal. Only the properties
# the engine reads are sent (bookkeeping such as ids, buckets and sources stays on the server).
SIGNALS_IN_WINDOW = """
MATCH (a:Anomaly) WHERE a.entity_id IN $ids AND a.onset <= $end AND coalesce(a.end, a.last_ts, a.onset) >= $start
RETURN 'anomaly' AS kind,
       collect(a {.entity_id, .signal, .family, .onset, .end, .direction, .score, .value, .baseline}) AS items
UNION ALL
MATCH (e:Event) WHERE e.entity_id IN $ids AND e.last_ts >= $start AND e.first_ts <= $end
RETURN 'event' AS kind,
       collect(e {.entity_id, .template_id, .template, .signature_class, .severity, .count, .first_ts, .last_ts,
               .sample}) AS items
UNION ALL
MATCH (c:Change) WHERE c.entity_id IN $ids AND c.at >= $start AND c.at <= $end
RETURN 'change' AS kind, collect(c {.entity_id, .at, .change_type, .description}) AS items
UNION ALL
MATCH (d:Deviation) WHERE d.entity_id IN $ids AND d.at >= $start AND d.at <= $end
RETURN 'deviation' AS kind, collect(d {.entity_id, .family, .at, .peak}) AS items
"""

# The same and, in a fourth record, what is monitored: the families (and logs) each entity had
# coverage for in the window (graph_schema.cypher.coverage), so "no anomaly" can be told from "not
# observed". Used without a topology snapshot; with one, the service keeps coverage in memory
# too (rca.service.topology_cache), because looking up five coverage nodes per entity costs
# ArcadeDB about 30 ms at 300 entities, several times the rest of the read.
SIGNALS_AND_COVERAGE_IN_WINDOW = (
    SIGNALS_IN_WINDOW
    + """UNION ALL
MATCH (v:Coverage) WHERE v.entity_id IN $ids AND v.first_seen <= $end AND v.last_seen + v.holds_s >= $start
RETURN 'coverage' AS kind, collect(v {.entity_id, .family}) AS items
"""
)
