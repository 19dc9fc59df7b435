"""The graph model as data: labels, relationship types, their properties, constraints and indexes.

Labels and relationship types are never taken from user input; statements that need a label
pick it from these tables, so splicing them into Cypher text is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Label(StrEnum):
    """Node labels."""

    SERVICE = "Service"
    INSTANCE = "Instance"
    HOST = "Host"
    DATASTORE = "Datastore"
    EVENT = "Event"
    ANOMALY = "Anomaly"
    CHANGE = "Change"
    INCIDENT = "Incident"
    SCHEMA_MIGRATION = "SchemaMigration"
    TOPOLOGY_CLOCK = "TopologyClock"  # one node, advanced by every topology write through rca (see cypher.topology)
    COVERAGE = "Coverage"  # what is monitored: one node per entity and signal family with series (or logs)
    DEVIATION = "Deviation"  # how far a family strayed in a time bucket, anomaly or not


ENTITY_LABELS: tuple[Label, ...] = (Label.SERVICE, Label.INSTANCE, Label.HOST, Label.DATASTORE)
SIGNAL_LABELS: tuple[Label, ...] = (Label.EVENT, Label.ANOMALY, Label.CHANGE, Label.DEVIATION)


class RelType(StrEnum):
    """Relationship types."""

    CALLS = "CALLS"
    INSTANCE_OF = "INSTANCE_OF"
    RUNS_ON = "RUNS_ON"
    DEPENDS_ON = "DEPENDS_ON"
    CONCERNS = "CONCERNS"  # (signal)-[:CONCERNS]->(entity)


@dataclass(frozen=True)
class Relation:
    """One allowed (from label)-[type]->(to label) combination of the topology."""

    type: RelType
    source: Label
    target: Label


# The structural relations the topology may hold; anything else is rejected on input.
TOPOLOGY_RELATIONS: tuple[Relation, ...] = (
    Relation(RelType.CALLS, Label.SERVICE, Label.SERVICE),
    Relation(RelType.CALLS, Label.SERVICE, Label.DATASTORE),
    Relation(RelType.INSTANCE_OF, Label.INSTANCE, Label.SERVICE),
    Relation(RelType.RUNS_ON, Label.INSTANCE, Label.HOST),
    Relation(RelType.RUNS_ON, Label.DATASTORE, Label.HOST),
    Relation(RelType.DEPENDS_ON, Label.SERVICE, Label.DATASTORE),
)


def topology_relation(rel_type: RelType, source: Label, target: Label) -> Relation | None:
    """The allowed relation for this combination, or None if the model does not allow it."""
    for relation in TOPOLOGY_RELATIONS:
        if (relation.type, relation.source, relation.target) == (rel_type, source, target):
            return relation
    return None


# Properties every entity carries; documented here so that readers of the graph know them.
ENTITY_PROPERTIES: dict[str, str] = {
    "id": "unique stable identifier (unique per label)",
    "name": "display name",
    "kind": "entity kind: service, instance, host or datastore",
    "technology": "what it is built on (redis, postgres, go, ...) where known",
    "first_seen": "epoch seconds of the first sighting",
    "last_seen": "epoch seconds of the latest sighting by any source",
    "source": "the source that created it (topology-file, logs, metrics, ...)",
    "sources": "every source that currently asserts it",
    "status": "active, or stale once no source asserts it (retired entities are deleted)",
    "stale_since": "epoch seconds when it became stale, else null",
    "attrs": "free-form attributes from the source, as a JSON string",
}

EDGE_PROPERTIES: dict[str, str] = {
    "last_seen": "epoch seconds of the latest sighting",
    "sources": "every source that currently asserts it",
    "status": "active or stale",
    "stale_since": "epoch seconds when it became stale, else null",
    "rate": "observed requests per second, where known",
    "error_rate": "observed errors per second, where known",
}


@dataclass(frozen=True)
class UniqueConstraint:
    """A uniqueness constraint on one property of one label (also its index)."""

    name: str
    label: Label
    property: str


@dataclass(frozen=True)
class PropertyIndex:
    """A range index on one property of one label."""

    name: str
    label: Label
    property: str


# Signal properties. Times are epoch seconds (floats) everywhere: both servers store them alike.
# Every signal node carries `entity_id` and `entity_label` and is linked (signal)-[:CONCERNS]->(entity).
EVENT_PROPERTIES: dict[str, str] = {
    "id": "deterministic: entity, template and bucket",
    "entity_id": "id of the entity it concerns",
    "entity_label": "label of that entity",
    "template_id": "stable id of the mined log template",
    "template": "the template text",
    "bucket": "start of the time bucket (epoch s)",
    "bucket_seconds": "bucket width",
    "count": "lines of this template in the bucket",
    "first_ts": "first line's time",
    "last_ts": "last line's time",
    "severity": "syslog severity 0 (emergency) .. 7 (debug); the most severe seen",
    "signature_class": "timeout, connection, oom, disk_full, crash, auth, change or other",
    "sample": "one raw line",
    "batches": "write tokens of the last 16 syslog batches that added to count (a batch written again adds nothing)",
}

ANOMALY_PROPERTIES: dict[str, str] = {
    "id": "deterministic: entity, signal and onset",
    "entity_id": "id of the entity it concerns",
    "entity_label": "label of that entity",
    "signal": "the metric signal name (e.g. latency_p99, error_ratio, cpu)",
    "family": "latency, errors, saturation or traffic",
    "onset": "estimated start (epoch s)",
    "last_ts": "latest sample that was still anomalous",
    "end": "when it ended (epoch s), null while open",
    "status": "open or closed",
    "direction": "up or down",
    "score": "robust deviation score (>= 0)",
    "value": "latest observed value",
    "baseline": "expected value",
    "source": "what detected it (metrics, simulator, ...)",
}

CHANGE_PROPERTIES: dict[str, str] = {
    "id": "deterministic: entity, type and time",
    "entity_id": "id of the entity it concerns",
    "entity_label": "label of that entity",
    "at": "when it happened (epoch s)",
    "change_type": "deploy, config or restart",
    "description": "what changed, in words",
    "source": "where we learnt it (logs, topology-file, simulator, ...)",
}

SIGNAL_FAMILIES: tuple[str, ...] = ("latency", "errors", "saturation", "traffic")
# the latency signal of the hops into an entity, timed from log lines that carry trace ids
# (ingest/syslog/trace_hops.py): the entity's own delay, never its callees', which the ranking reads apart
TRACE_HOP_SIGNAL = "log_trace_hop_latency"
LOGS = "logs"  # the coverage family of an entity whose log lines reach the graph
COVERAGE_FAMILIES: tuple[str, ...] = (*SIGNAL_FAMILIES, LOGS)

# What is monitored, so that "no anomaly" can mean "observed and normal" rather than "unknown".
# (:Coverage)-[:CONCERNS]->(entity), one per entity and family, refreshed by every metrics poll
# (the families of the series it judged) and every syslog batch (logs). An entity counts as
# observed for a family over [first_seen, last_seen + holds_s]; a family seen again after a
# longer pause starts a new span. Not a signal: it says what could have been seen, not what was.
COVERAGE_PROPERTIES: dict[str, str] = {
    "id": "deterministic: entity label, entity id and family",
    "entity_id": "id of the entity it concerns",
    "entity_label": "label of that entity",
    "family": "latency, errors, saturation, traffic (metric series judged) or logs (log lines written)",
    "first_seen": "start of the current span (epoch s of the first judged sample or logged line)",
    "last_seen": "latest judged sample or logged line (epoch s)",
    "holds_s": "how long after last_seen it still counts as observed (the writer's expected silence)",
    "source": "who recorded it (metrics, logs, simulator, ...)",
}

# Sub-threshold evidence: the detector opens an :Anomaly only past its threshold (robust z 6 for
# three points), so a level shift of z 4 would leave the entity looking healthy. Every judged point
# at or above DEVIATION_FLOOR is kept as the peak of its entity, family and DEVIATION_BUCKET_S bucket
# (one node, the largest peak of the family's series): compact (noise rarely reaches the floor) and
# read with the other signals. (:Deviation)-[:CONCERNS]->(entity).
DEVIATION_FLOOR = 3.0
DEVIATION_BUCKET_S = 60.0
DEVIATION_PROPERTIES: dict[str, str] = {
    "id": "deterministic: entity label, entity id, family and bucket start",
    "entity_id": "id of the entity it concerns",
    "entity_label": "label of that entity",
    "family": "latency, errors, saturation or traffic",
    "at": "start of the bucket (epoch s, a multiple of DEVIATION_BUCKET_S)",
    "peak": "largest robust z-score of the family's series in the bucket, in the direction that counts",
    "signal": "the signal the peak came from",
    "source": "who recorded it (metrics, simulator, ...)",
}
SIGNATURE_CLASSES: tuple[str, ...] = ("timeout", "connection", "oom", "disk_full", "crash", "auth", "change", "other")
