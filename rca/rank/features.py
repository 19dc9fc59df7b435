"""Features per entity (DESIGN.md "Ranking root causes" 2): one code path for the service and the simulator.

Columns: kind, anomaly scores and sub-threshold deviations by signal family, onset relative to the
alert, log signature counts by class, recent changes, structure (degree, distance to symptoms), propagation consistency
(anomalous neighbours, onset order along the propagation direction) and, once rules ran, the
strength of every rule's finding. The schema version changes whenever a column is added,
removed or changes meaning, so a trained model can refuse a table it was not trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from graph_schema import incident_snapshots
from graph_schema.model import DEVIATION_FLOOR
from rca.rank.graph import PropagationGraph, propagation_graph
from rca.rank.log_change import LogBurst, TemplateChange, change_onsets, change_strength, template_changes
from rca.rank.log_mentions import named_peers
from rca.rank.log_sequence import BrokenSequence
from rca.rank.types import OBSERVED_LOGS, DeviationSignal, IncidentSubgraph

FEATURE_SCHEMA_VERSION = "6"
SNAPSHOT_DECIMALS = 6  # values kept in the feature snapshot stored with an incident

KINDS = ("Service", "Instance", "Host", "Datastore")
FAMILIES = ("latency", "errors", "saturation", "traffic")
OBSERVABLE = (*FAMILIES, OBSERVED_LOGS)  # what coverage can say is watched (graph_schema.model.COVERAGE_FAMILIES)
LOG_CLASSES = ("timeout", "connection", "oom", "disk_full", "crash", "auth", "other", "change")
ONSET_TOLERANCE_S = 20.0  # onset estimates are only this precise; closer counts as simultaneous
ONSET_SCALE_S = 600.0
CHANGE_SCALE_S = 900.0
ENDED_BEFORE_ALERT_S = 900.0
GAP_COST = 2.0  # passing through an observed entity with no evidence costs this many extra hops
# ... and through an unobserved one this share of it: its silence is no evidence of health
UNOBSERVED_GAP_SHARE = 0.5
LOG_CHANGE_SCALE = 1.5  # summed weight of changed templates (log_change) at which log evidence is ~0.5
# Anomaly scores beyond this say "certainly anomalous", not "N times more": a real detector's robust
# z-score reaches hundreds when a ratio leaves a near-flat baseline. 14 is the largest score the
# simulator emits, so the fitted weights never saw more and no simulated feature changes.
SCORE_CAP = 14.0
# A deviation this strong counts as the family showing something (not quiet), anomaly or not: well
# above what noise reaches in a window, below the detector's opening threshold.
WEAK_DEVIATION = 4.0
DEVIATION_SCALE = 3.0  # robust z above the floor at which deviation evidence is ~0.63

BASE_FEATURES: tuple[str, ...] = (
    *(f"kind_{k.lower()}" for k in KINDS),
    *(f"anomaly_{f}" for f in FAMILIES),
    "anomaly_max",
    *(f"deviation_{f}" for f in FAMILIES),
    "deviation_max",
    "magnitude_distinct",
    "anomaly_count",
    "has_onset",
    "onset_lead",
    "onset_rank",
    *(f"log_{c}" for c in LOG_CLASSES),
    "log_severe",
    "log_new",
    *(f"quiet_{f}" for f in OBSERVABLE),
    "unobserved",
    "evidence",
    "evidence_distinct",
    "change_recent",
    "change_deploy",
    "change_before_onset",
    "restarts",
    "out_degree",
    "in_degree",
    "is_symptom",
    "symptom_reach",
    "symptom_hops",
    "path_gaps",
    "effects_anomalous",
    "effects_later",
    "causes_earlier",
    "siblings_anomalous",
    "users_logging",
    "named_by_peers",
    "names_peer",
)


@dataclass
class FeatureTable:
    """Entities in a fixed order, named feature columns, and the float matrix."""

    node_ids: list[str]
    names: list[str]
    matrix: np.ndarray
    version: str = FEATURE_SCHEMA_VERSION
    onsets: dict[str, float] | None = None  # earliest anomaly onset per entity (for rules and paths)
    # every new or faster log template of the subgraph (rca.rank.log_change), worked out once for the
    # features and handed on to the paths' evidence lines; None for a table built otherwise
    changed_templates: list[TemplateChange] | None = None
    # each entity's most improbable log template run (rca.rank.log_change.log_bursts), worked out by the
    # analysis for its log_burst column and handed on to the evidence lines; None for a table built otherwise
    log_bursts: dict[str, LogBurst] | None = None
    # each entity's most improbable broken log sequence (rca.rank.log_sequence), likewise
    broken_sequences: dict[str, BrokenSequence] | None = None

    def __post_init__(self) -> None:
        self.columns = {n: j for j, n in enumerate(self.names)}
        self._rows: list[list[float]] | None = None

    @cached_property
    def index(self) -> dict[str, int]:
        """Entity id -> row."""
        return {n: i for i, n in enumerate(self.node_ids)}

    def column(self, name: str) -> np.ndarray:
        """One feature for every entity, in node order."""
        return self.matrix[:, self.columns[name]]

    def value(self, entity_id: str, name: str) -> float:
        """One feature of one entity."""
        if self._rows is None:  # plain lists: numpy item access is slow in the rules' loops
            self._rows = self.matrix.tolist()
        return self._rows[self.index[entity_id]][self.columns[name]]

    def with_columns(self, names: list[str], values: np.ndarray) -> FeatureTable:
        """A new table with extra columns appended (e.g. rule strengths)."""
        table = replace(self, names=self.names + list(names), matrix=np.hstack([self.matrix, values]))
        table.index = self.index  # the same entities in the same rows
        return table

    def snapshot_json(self) -> str:
        """The snapshot stored with an incident: the non-zero cells, rounded (graph_schema.incident_snapshots)."""
        rows, cols = np.nonzero(self.matrix)  # views with strides: orjson writes contiguous arrays only
        return incident_snapshots.encode_cells(
            self.node_ids,
            self.names,
            np.ascontiguousarray(rows),
            np.ascontiguousarray(cols),
            np.round(self.matrix[rows, cols], SNAPSHOT_DECIMALS),
        )

    def as_dict(self) -> dict[str, dict[str, float]]:
        """entity id -> non-zero feature name -> value (what the stored snapshot reads back as)."""
        return incident_snapshots.decode(self.snapshot_json())


def build_features(subgraph: IncidentSubgraph, graph: PropagationGraph | None = None) -> FeatureTable:
    """The base feature table of every entity in the subgraph (rule columns come later)."""
    graph = graph or propagation_graph(subgraph)
    ids = graph.nodes
    col = {n: j for j, n in enumerate(BASE_FEATURES)}
    m = np.zeros((len(ids), len(BASE_FEATURES)))
    row = graph.index
    alert = subgraph.alert_time

    onsets: dict[str, float] = {}
    raw_scores = np.zeros((len(ids), len(FAMILIES)))  # uncapped, for magnitude_distinct
    for a in subgraph.anomalies:
        if a.entity_id not in row or a.onset > alert + ONSET_SCALE_S:
            continue
        if a.end is not None and a.end < alert - ENDED_BEFORE_ALERT_S:
            continue  # over long before the alert: not part of this incident
        i = row[a.entity_id]
        j = col[f"anomaly_{a.family}"] if a.family in FAMILIES else None
        if j is not None:
            m[i, j] = max(m[i, j], min(a.score, SCORE_CAP))
            k = FAMILIES.index(a.family)
            raw_scores[i, k] = max(raw_scores[i, k], a.score)
        m[i, col["anomaly_count"]] += 1
        onsets[a.entity_id] = min(onsets.get(a.entity_id, a.onset), a.onset)
    deviation_onsets = _deviation_features(subgraph, m, row, col, alert)
    severe: dict[str, int] = {}
    for e in subgraph.events:
        if e.entity_id not in row or e.last_ts < alert - ENDED_BEFORE_ALERT_S:
            continue  # lines long before the alert belong to another story
        cls = e.signature_class if e.signature_class in LOG_CLASSES else "other"
        m[row[e.entity_id], col[f"log_{cls}"]] += e.count
        if e.severity <= 4 and cls != "change":
            severe[e.entity_id] = severe.get(e.entity_id, 0) + e.count
    # logs are evidence where they changed after the onset, not where they are loud (rca.rank.log_change)
    changed_templates = template_changes(subgraph.events, subgraph.window_start, alert, subgraph.window_end)
    changes = [c for c in changed_templates if c.entity_id in row and c.signature_class != "change"]
    log_strength = np.zeros(len(ids))
    for n, strength in change_strength(changes).items():
        log_strength[row[n]] = strength
    _mention_features(subgraph, changes, m, row, col)
    for kind in KINDS:
        m[:, col[f"kind_{kind.lower()}"]] = graph.labels == kind
    # changed logs date an entity whose metrics are missing (added in entity order)
    log_onsets = change_onsets(changes)
    for n in sorted((n for n in log_onsets if n not in onsets), key=row.__getitem__):
        onsets[n] = log_onsets[n]
    # ... and so do deviations below the detector's threshold
    for n in sorted((n for n in deviation_onsets if n not in onsets), key=row.__getitem__):
        onsets[n] = deviation_onsets[n]
    severe_counts = np.zeros(len(ids))
    for n, count in severe.items():
        severe_counts[row[n]] = count
    m[:, col["anomaly_max"]] = m[:, [col[f"anomaly_{f}"] for f in FAMILIES]].max(axis=1)
    m[:, col["log_severe"]] = np.log1p(severe_counts)
    m[:, col["log_new"]] = np.log1p(log_strength)
    m[:, col["deviation_max"]] = m[:, [col[f"deviation_{f}"] for f in FAMILIES]].max(axis=1)
    watched, covered = _coverage(subgraph, row)
    share = _family_shares(subgraph, watched, raw_scores)
    m[:, col["magnitude_distinct"]] = _distinct_magnitude(m, col, raw_scores, share)
    other_evidence = [
        1.0 - np.exp(-log_strength / LOG_CHANGE_SCALE),
        1.0 - np.exp(-np.maximum(m[:, col["deviation_max"]] - DEVIATION_FLOOR, 0.0) / DEVIATION_SCALE),
    ]
    m[:, col["evidence"]] = np.maximum.reduce([1.0 - np.exp(-m[:, col["anomaly_max"]] / 3.0), *other_evidence])
    # what the random walk from the symptoms follows: evidence all entities share does not point anywhere
    m[:, col["evidence_distinct"]] = np.maximum.reduce([_anomaly_evidence(raw_scores, share), *other_evidence])
    _observation_features(m, col, watched, covered)
    for j, name in enumerate(BASE_FEATURES):
        if name.startswith("log_") and name not in ("log_severe", "log_new"):
            m[:, j] = np.log1p(m[:, j])
    m[:, col["anomaly_count"]] = np.log1p(m[:, col["anomaly_count"]])

    ordered = sorted(onsets.values())
    m[:, col["onset_rank"]] = 1.0  # no onset: last
    for n, t in onsets.items():
        i = row[n]
        m[i, col["has_onset"]] = 1.0
        m[i, col["onset_lead"]] = max(-1.0, min(3.0, (alert - t) / ONSET_SCALE_S))
        m[i, col["onset_rank"]] = _rank_share(ordered, t)

    _change_features(subgraph, m, row, col, onsets, alert)
    _structure_features(subgraph, graph, m, col, onsets)
    table = FeatureTable(ids, list(BASE_FEATURES), m, FEATURE_SCHEMA_VERSION, onsets, changed_templates)
    table.index = row  # the graph's rows
    return table


def _coverage(subgraph, row) -> tuple[np.ndarray, np.ndarray]:
    """What the graph says is watched: (entities, OBSERVABLE) booleans, and per entity whether any
    coverage is known at all; one pass (entities watched alike share one row pattern)."""
    watched = np.zeros((len(row), len(OBSERVABLE)), dtype=bool)
    covered = np.zeros(len(row), dtype=bool)
    rows_by_families: dict[frozenset[str], list[int]] = {}
    for entity_id, families in subgraph.observed.items():
        i = row.get(entity_id)
        if i is not None and families:
            rows_by_families.setdefault(frozenset(families), []).append(i)
    for families, rows in rows_by_families.items():
        watched[rows] = [f in families for f in OBSERVABLE]
        covered[rows] = True
    return watched, covered


def _family_shares(subgraph, coverage, raw_scores) -> np.ndarray:
    """Per family: the share of the entities watched in it that show an anomaly there.

    Evidence every entity shares does not tell them apart: on a real system one family can be
    anomalous nearly everywhere at once (client latencies that jump to a timeout now and then on
    every service), and there the root cause's CPU, anomalous on it alone, is what stands out.
    """
    anomalous = raw_scores > 0
    if not subgraph.observed or not subgraph.coverage_known:  # no coverage known: every entity might show
        return anomalous.sum(axis=0) / max(len(raw_scores), 1)
    watched = coverage[:, : len(FAMILIES)] | anomalous  # an anomaly is watched by definition
    return anomalous.sum(axis=0) / np.maximum(watched.sum(axis=0), 1)


def _distinct_magnitude(m, col, raw_scores, share) -> np.ndarray:
    """Per entity: its largest deviation, weighted in each family by how few entities show an anomaly
    there (_family_shares). The anomaly score is compressed (log) rather than capped: a robust z of
    350 against 15 is a difference the cap would erase. Deviations under the threshold count capped,
    as in the table."""
    deviations = m[:, [col[f"deviation_{f}"] for f in FAMILIES]]
    strength = np.log1p(np.maximum(raw_scores, deviations)) / np.log1p(SCORE_CAP)
    return (strength * (1.0 - share)).max(axis=1) if len(raw_scores) else np.zeros(0)


def _anomaly_evidence(raw_scores, share) -> np.ndarray:
    """Per entity in [0, 1]: how far its anomalies are evidence, weighted like _distinct_magnitude."""
    own = 1.0 - np.exp(-np.minimum(raw_scores, SCORE_CAP) / 3.0)
    return (own * (1.0 - share)).max(axis=1) if len(raw_scores) else np.zeros(0)


def deviation_shows(deviation: DeviationSignal, alert: float) -> bool:
    """The deviation is evidence about the incident the alert opened: WEAK_DEVIATION or more, in a bucket
    from ENDED_BEFORE_ALERT_S before the alert to ONSET_SCALE_S after it (what _deviation_features dates
    onsets by; rca.rank.reach grows the neighbourhood on it)."""
    return deviation.peak >= WEAK_DEVIATION and alert - ENDED_BEFORE_ALERT_S <= deviation.at <= alert + ONSET_SCALE_S


def _deviation_features(subgraph, m, row, col, alert) -> dict[str, float]:
    """`deviation_<family>`: the strongest deviation of the family around the alert, anomaly or not
    (capped like anomaly scores); returns, per entity, the first bucket at WEAK_DEVIATION or more."""
    onsets: dict[str, float] = {}
    for d in subgraph.deviations:
        i = row.get(d.entity_id)
        if i is None or d.family not in FAMILIES:
            continue
        if d.at > alert + ONSET_SCALE_S or d.at < alert - ENDED_BEFORE_ALERT_S:
            continue  # far from the alert: another story
        j = col[f"deviation_{d.family}"]
        m[i, j] = max(m[i, j], min(d.peak, SCORE_CAP))
        if deviation_shows(d, alert):
            onsets[d.entity_id] = min(onsets.get(d.entity_id, d.at), d.at)
    return onsets


def _observation_features(m, col, watched, covered) -> None:
    """Observed and normal (evidence against), or not observed at all (unknown), per entity.

    `quiet_<family>` is 1 where the family (or the entity's logs) is watched and shows nothing: no
    anomaly and no deviation of WEAK_DEVIATION or more in the family, no changed template in the
    logs. Per family, because a fault shows in some families and not others: a root cause whose
    saturation series is missing and whose traffic is normal must not look like an entity whose
    saturation is watched and normal.
    `unobserved` marks an entity nothing watches, whose silence says nothing.
    """
    showing = showing_families(lambda name: m[:, col[name]])
    m[:, col["unobserved"]] = ~covered
    for j, f in enumerate(OBSERVABLE):
        m[:, col[f"quiet_{f}"]] = watched[:, j] & ~showing[:, j]


def showing_families(column: Callable[[str], np.ndarray]) -> np.ndarray:
    """(entities, OBSERVABLE): the family shows something on the entity (an anomaly, a deviation of
    WEAK_DEVIATION or more, a changed log template), given a feature column by name."""
    columns = [(column(f"anomaly_{f}") > 0) | (column(f"deviation_{f}") >= WEAK_DEVIATION) for f in FAMILIES]
    columns.append(column("log_new") > 0)  # OBSERVED_LOGS, last of OBSERVABLE
    return np.column_stack(columns)


def _rank_share(ordered: list[float], t: float) -> float:
    import bisect

    if len(ordered) <= 1:
        return 0.0
    return bisect.bisect_left(ordered, t - ONSET_TOLERANCE_S) / (len(ordered) - 1)


def _change_features(subgraph, m, row, col, onsets, alert) -> None:
    for c in subgraph.changes:
        if c.entity_id not in row or c.at > alert + 60:
            continue
        i = row[c.entity_id]
        gap = max(0.0, alert - c.at)
        m[i, col["change_recent"]] = max(m[i, col["change_recent"]], math.exp(-gap / CHANGE_SCALE_S))
        if c.change_type in ("deploy", "config"):
            m[i, col["change_deploy"]] = 1.0
            onset = onsets.get(c.entity_id)
            if onset is not None and c.at <= onset + ONSET_TOLERANCE_S and onset - c.at <= CHANGE_SCALE_S:
                m[i, col["change_before_onset"]] = 1.0
        if c.change_type == "restart":
            m[i, col["restarts"]] += 1.0


def onset_array(onsets: dict[str, float], graph: PropagationGraph) -> np.ndarray:
    """Onsets per row of the graph's entities; NaN where an entity has none."""
    out = np.full(len(graph.nodes), np.nan)
    for n, t in onsets.items():
        out[graph.index[n]] = t
    return out


def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else 0 (counts: exact as in Python)."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def _mention_features(subgraph: IncidentSubgraph, changes: list[TemplateChange], m, row, col) -> None:
    """`named_by_peers`: log1p of how many entities' changed error lines name it; `names_peer`: its own name another."""
    named_by: dict[str, int] = {}
    for namer, peers in named_peers(changes, subgraph.nodes, subgraph.edges).items():
        m[row[namer], col["names_peer"]] = 1.0
        for peer in peers:
            if peer in row:
                named_by[peer] = named_by.get(peer, 0) + 1
    for peer, count in named_by.items():
        m[row[peer], col["named_by_peers"]] = np.log1p(count)


def _structure_features(subgraph, graph, m, col, onsets) -> None:
    """Degrees, reach of the symptoms and what neighbours show, as whole columns over the link arrays.

    Every value is a count ratio, a maximum or the same float steps the per-entity formulas take,
    so the columns equal those of an entity-by-entity loop to the last bit.
    """
    n = len(graph.nodes)
    cause, effect = graph.cause_rows, graph.effect_rows
    evidence = m[:, col["evidence"]]
    rows = [graph.index[s.entity_id] for s in subgraph.symptoms if s.entity_id in graph.index]
    m[rows, col["is_symptom"]] = 1.0
    log1p = np.array(
        [math.log1p(k) for k in range(int(max(graph.out_degree.max(initial=0), graph.in_degree.max(initial=0))) + 1)]
    )
    m[:, col["out_degree"]] = log1p[graph.out_degree]
    m[:, col["in_degree"]] = log1p[graph.in_degree]

    m[:, col["symptom_hops"]] = 1.5  # no symptom reachable
    if rows:
        targets, repeats = np.unique(rows, return_counts=True)  # a symptom entity named twice counts twice
        gap = GAP_COST * (1.0 - evidence) * np.where(m[:, col["unobserved"]] > 0, UNOBSERVED_GAP_SHARE, 1.0)
        cost, hops = graph.symptom_distances(targets.tolist(), gap)
        reached = np.isfinite(cost)
        reach = (reached * repeats).sum(axis=1)
        best = cost.min(axis=1)
        fewest = np.where(cost == best[:, None], hops, np.inf).min(axis=1)  # (cost, hops) compared as tuples
        some = reach > 0
        m[some, col["symptom_reach"]] = reach[some] / len(rows)
        m[some, col["symptom_hops"]] = fewest[some] / 6.0
        m[some, col["path_gaps"]] = (best[some] - fewest[some]) / GAP_COST

    degraded = evidence > 0.3
    m[:, col["effects_anomalous"]] = _share(np.bincount(cause, degraded[effect], n), graph.out_degree)

    onset = onset_array(onsets, graph)
    has = ~np.isnan(onset)
    dated = has[effect]  # effects with an onset, counted for causes with one
    later = dated & (onset[effect] >= onset[cause] - ONSET_TOLERANCE_S)
    m[:, col["effects_later"]] = np.where(has, _share(np.bincount(cause, later, n), np.bincount(cause, dated, n)), 0.0)
    earlier = has[effect] & has[cause] & (onset[cause] < onset[effect] - ONSET_TOLERANCE_S)
    causes_earlier = np.zeros(n)
    np.maximum.at(causes_earlier, effect[earlier], evidence[cause[earlier]])
    m[:, col["causes_earlier"]] = causes_earlier

    m[:, col["siblings_anomalous"]] = _siblings_anomalous(graph, degraded)

    # whole columns at once (same sums, same order)
    logs = (m[:, col["log_timeout"]] + m[:, col["log_connection"]] + m[:, col["log_auth"]] + m[:, col["log_other"]]) > 0
    users = m[effect, col["kind_service"]] == 1.0
    m[:, col["users_logging"]] = _share(np.bincount(cause, users & logs[effect], n), np.bincount(cause, users, n))


def _siblings_anomalous(graph: PropagationGraph, degraded: np.ndarray) -> np.ndarray:
    """Share of degraded siblings: an instance's fellow instances, or a service's instances."""
    n = len(graph.nodes)
    pairs = graph.edge_rows.get("INSTANCE_OF", np.zeros((0, 2), dtype=np.int64))
    instance, service = pairs[:, 0], pairs[:, 1]
    service_of = dict(zip(instance.tolist(), service.tolist()))  # the last INSTANCE_OF edge wins
    members = np.bincount(service, minlength=n).astype(float)
    members_degraded = np.bincount(service, degraded[instance], n)
    count, bad = members.copy(), members_degraded.copy()  # a service: its instances
    if service_of:
        inst = np.fromiter(service_of, dtype=np.int64, count=len(service_of))
        svc = np.fromiter(service_of.values(), dtype=np.int64, count=len(service_of))
        # an instance: the instances of its service other than itself (every edge naming it leaves)
        own = np.zeros(n)
        np.add.at(own, instance[service == np.asarray([service_of[i] for i in instance.tolist()])], 1.0)
        count[inst] = members[svc] - own[inst]
        bad[inst] = members_degraded[svc] - own[inst] * degraded[inst]
    return _share(bad, count)
