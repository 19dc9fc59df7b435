"""The engine's input and output shapes: one incident subgraph in, one ranking result out.

Every ranker (rules, propagation, combined engine, baselines, later the GNN) takes an
`IncidentSubgraph` and returns a `RankingResult`, so the service and the benchmark call
them the same way. Times are epoch seconds (floats) everywhere, as in the graph.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph_schema import incident_snapshots

if TYPE_CHECKING:  # rca.rank.features imports this module
    from rca.rank.features import FeatureTable


@dataclass(frozen=True)
class EntityNode:
    """One entity of the estate: Service, Instance, Host or Datastore."""

    id: str
    label: str  # Service | Instance | Host | Datastore (graph_schema.model.Label values)
    name: str
    technology: str | None = None


@dataclass(frozen=True)
class Edge:
    """One topology edge in graph direction: CALLS, INSTANCE_OF, RUNS_ON or DEPENDS_ON."""

    source: str
    target: str
    type: str


@dataclass(frozen=True)
class AnomalySignal:
    """A metric's deviation on one entity (the graph's :Anomaly)."""

    entity_id: str
    signal: str
    family: str  # latency | errors | saturation | traffic
    onset: float
    end: float | None
    direction: str  # up | down
    score: float
    value: float
    baseline: float


@dataclass(frozen=True)
class DeviationSignal:
    """How far one entity's signal family strayed from its baseline in a time bucket, whether or not
    the detector opened an anomaly (the graph's :Deviation): the peak robust z-score, in the
    direction that counts for the signal, over the bucket starting at ``at``."""

    entity_id: str
    family: str  # latency | errors | saturation | traffic
    at: float
    peak: float


@dataclass(frozen=True)
class EventSignal:
    """A log template's count in a time bucket on one entity (the graph's :Event)."""

    entity_id: str
    template: str
    signature_class: str  # timeout | connection | oom | disk_full | crash | auth | change | other
    severity: int  # syslog 0 (emergency) .. 7 (debug)
    count: int
    first_ts: float
    last_ts: float
    sample: str = ""


@dataclass(frozen=True)
class ChangeSignal:
    """A deploy, config change or restart on one entity (the graph's :Change)."""

    entity_id: str
    at: float
    change_type: str  # deploy | config | restart
    description: str = ""


@dataclass(frozen=True)
class Symptom:
    """What the alert saw: an entity, a signal family and when."""

    entity_id: str
    family: str
    observed_at: float


@dataclass
class IncidentSubgraph:
    """The entities around the symptoms with their signals in the window: the engine's input."""

    nodes: dict[str, EntityNode]
    edges: list[Edge]
    anomalies: list[AnomalySignal]
    events: list[EventSignal]
    changes: list[ChangeSignal]
    symptoms: list[Symptom]
    window_start: float
    window_end: float
    # Caller-supplied per-node features (an InferRequest carrying its own subgraph); merged
    # over the computed features by name, unknown names are ignored by the feature table.
    extra_features: dict[str, dict[str, float]] = field(default_factory=dict)
    # Names the neighbourhood these nodes and edges are (the service's topology snapshot gives the same
    # key, and the same never-modified node and edge objects, to every request for the same seeds and
    # radius): a ranker may reuse what it derived from them under this key. None: nothing to reuse.
    neighbourhood_key: Hashable | None = None
    # The radius around the symptoms these entities were cut to (0: the caller gave them whole).
    max_hops: int = 0
    # What is monitored: entity id -> the signal families it had series judged for in the window
    # ("latency", "errors", "saturation", "traffic") plus "logs" when its log lines reach the graph
    # (graph_schema.model.COVERAGE_FAMILIES). With `anomalies`, each (entity, family) is in one of
    # three states: deviating (an anomaly), observed and normal (here, no anomaly), or not observed
    # (absent here: unknown, not evidence of health). Filled from the graph's :Coverage by the
    # service, from the simulator's coverage, or from a request's Node.observed_families; always
    # includes the families of the entity's own anomalies (and "logs" for its events), since a
    # deviation was observed. An entity absent from the dict is observed for nothing.
    observed: dict[str, frozenset[str]] = field(default_factory=dict)
    # False when whoever built the subgraph had no coverage at all, so that `observed` holds only what
    # the entities' own signals show (a caller's subgraph without observed_families, a graph without
    # :Coverage): then nothing says how many entities are watched in a family, and a family's share of
    # anomalous entities is taken over all of them (features._family_shares), not over those showing it.
    coverage_known: bool = True
    # Sub-threshold evidence: every bucket in the window where a watched family strayed by at least
    # ingest.metrics.deviation.DEVIATION_FLOOR robust z, anomaly or not (a level shift the detector's
    # opening threshold never reached still shows here).
    deviations: list[DeviationSignal] = field(default_factory=list)

    @property
    def alert_time(self) -> float:
        """The earliest symptom time (the window end when there are no symptoms)."""
        return min((s.observed_at for s in self.symptoms), default=self.window_end)


OBSERVED_LOGS = "logs"  # the `observed` family of an entity whose logs reach the graph


def observed_families(
    coverage: Iterable[tuple[str, str]],
    nodes: Mapping[str, object],
    anomalies: Iterable[AnomalySignal] = (),
    events: Iterable[EventSignal] = (),
) -> dict[str, frozenset[str]]:
    """IncidentSubgraph.observed from (entity id, family) pairs, plus what the signals show was observed."""
    found: dict[str, set[str]] = {}
    pairs = [*coverage, *((a.entity_id, a.family) for a in anomalies if a.family)]
    pairs += [(e.entity_id, OBSERVED_LOGS) for e in events]
    for entity_id, family in pairs:
        if entity_id in nodes:
            found.setdefault(entity_id, set()).add(family)
    return {entity_id: frozenset(families) for entity_id, families in sorted(found.items())}


@dataclass(frozen=True)
class Candidate:
    """One ranked root-cause candidate."""

    entity_id: str
    score: float  # in [0, 1]
    rank: int  # 1-based
    # The composed score's parts (rca.rank.ensemble): (term, contribution to the logit), summing to
    # `logit`; empty for a ranker that is not a composition (a baseline, one ranker alone).
    breakdown: tuple[tuple[str, float], ...] = ()
    logit: float | None = None


@dataclass(frozen=True)
class Finding:
    """A rule's conclusion about one entity, with how strongly it holds."""

    rule: str
    entity_id: str
    strength: float  # in [0, 1]
    text: str
    time: float


@dataclass(frozen=True)
class Hop:
    """One step of a propagation path in the direction the fault travelled."""

    from_id: str
    relation: str  # graph relation type, suffixed "(reverse)" when travelled against graph direction
    to_id: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Path:
    """The most likely way a fault went from a candidate to one symptom."""

    symptom_id: str
    score: float  # in [0, 1]
    hops: tuple[Hop, ...] = ()


@dataclass
class RankingResult:
    """What every ranker returns."""

    candidates: list[Candidate]
    findings: list[Finding] = field(default_factory=list)
    paths: dict[str, list[Path]] = field(default_factory=dict)
    explanation: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The incident's embedding from the graph model (similar past incidents); empty without a model.
    embedding: list[float] = field(default_factory=list)
    # Feature snapshot (entity id -> feature name -> value) for the Incident record; may be empty.
    features: dict[str, dict[str, float]] = field(default_factory=dict)
    # The FeatureTable the snapshot comes from: the service leaves turning it into the stored
    # snapshot to its incident writer thread, off the response path (feature_snapshot_json()).
    feature_table: FeatureTable | None = field(default=None, repr=False, compare=False)

    def feature_snapshot(self) -> dict[str, dict[str, float]]:
        """The feature snapshot, built from feature_table on first use."""
        if not self.features and self.feature_table is not None:
            self.features = self.feature_table.as_dict()
        return self.features

    def feature_snapshot_json(self) -> str:
        """The feature snapshot as stored with an incident (JSON text; graph_schema.incident_snapshots reads it)."""
        if not self.features and self.feature_table is not None:
            return self.feature_table.snapshot_json()
        return incident_snapshots.encode_dict(self.features)


class EngineInputError(ValueError):
    """The subgraph handed to a ranker is inconsistent (names what is wrong)."""
