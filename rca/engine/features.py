"""Features per entity (DESIGN.md "Ranking root causes" 2): one code path for the service and the simulator.

Columns: kind, anomaly scores by signal family, onset relative to the alert, log signature counts
by class, recent changes, structure (degree, distance to symptoms), propagation consistency
(anomalous neighbours, onset order along the propagation direction) and, once rules ran, the
strength of every rule's finding. The schema version changes whenever a column is added,
removed or changes meaning, so a trained model can refuse a table it was not trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rca.engine.graph import PropagationGraph
from rca.engine.types import IncidentSubgraph

FEATURE_SCHEMA_VERSION = "2"

KINDS = ("Service", "Instance", "Host", "Datastore")
FAMILIES = ("latency", "errors", "saturation", "traffic")
LOG_CLASSES = ("timeout", "connection", "oom", "disk_full", "crash", "auth", "other", "change")
ONSET_TOLERANCE_S = 20.0  # onset estimates are only this precise; closer counts as simultaneous
ONSET_SCALE_S = 600.0
CHANGE_SCALE_S = 900.0
ENDED_BEFORE_ALERT_S = 900.0
GAP_COST = 2.0  # passing through an entity with no evidence costs this many extra hops
# Anomaly scores beyond this say "certainly anomalous", not "N times more": a real detector's robust
# z-score reaches hundreds when a ratio leaves a near-flat baseline. 14 is the largest score the
# simulator emits, so the fitted weights never saw more and no simulated feature changes.
SCORE_CAP = 14.0

BASE_FEATURES: tuple[str, ...] = (
    *(f"kind_{k.lower()}" for k in KINDS),
    *(f"anomaly_{f}" for f in FAMILIES),
    "anomaly_max", "anomaly_count", "has_onset", "onset_lead", "onset_rank",
    *(f"log_{c}" for c in LOG_CLASSES),
    "log_severe", "evidence",
    "change_recent", "change_deploy", "change_before_onset", "restarts",
    "out_degree", "in_degree", "is_symptom", "symptom_reach", "symptom_hops", "path_gaps",
    "effects_anomalous", "effects_later", "causes_earlier", "siblings_anomalous", "users_logging",
)


@dataclass
class FeatureTable:
    """Entities in a fixed order, named feature columns, and the float matrix."""

    node_ids: list[str]
    names: list[str]
    matrix: np.ndarray
    version: str = FEATURE_SCHEMA_VERSION
    onsets: dict[str, float] | None = None  # earliest anomaly onset per entity (for rules and paths)

    def __post_init__(self) -> None:
        self.index = {n: i for i, n in enumerate(self.node_ids)}
        self.columns = {n: j for j, n in enumerate(self.names)}
        self._rows: list[list[float]] | None = None

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
        return FeatureTable(self.node_ids, self.names + list(names), np.hstack([self.matrix, values]),
                            self.version, self.onsets)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """entity id -> non-zero feature name -> value (the snapshot stored with an incident)."""
        out: dict[str, dict[str, float]] = {n: {} for n in self.node_ids}
        rows, cols = np.nonzero(self.matrix)
        values = np.round(self.matrix[rows, cols], 6).tolist()
        for i, j, v in zip(rows.tolist(), cols.tolist(), values):
            out[self.node_ids[i]][self.names[j]] = v
        return out


def build_features(subgraph: IncidentSubgraph, graph: PropagationGraph | None = None) -> FeatureTable:
    """The base feature table of every entity in the subgraph (rule columns come later)."""
    graph = graph or PropagationGraph(subgraph)
    ids = list(subgraph.nodes)
    col = {n: j for j, n in enumerate(BASE_FEATURES)}
    m = np.zeros((len(ids), len(BASE_FEATURES)))
    row = {n: i for i, n in enumerate(ids)}
    alert = subgraph.alert_time

    onsets: dict[str, float] = {}
    for a in subgraph.anomalies:
        if a.entity_id not in row or a.onset > alert + ONSET_SCALE_S:
            continue
        if a.end is not None and a.end < alert - ENDED_BEFORE_ALERT_S:
            continue  # over long before the alert: not part of this incident
        i = row[a.entity_id]
        j = col[f"anomaly_{a.family}"] if a.family in FAMILIES else None
        if j is not None:
            m[i, j] = max(m[i, j], min(a.score, SCORE_CAP))
        m[i, col["anomaly_count"]] += 1
        onsets[a.entity_id] = min(onsets.get(a.entity_id, a.onset), a.onset)
    severe: dict[str, int] = {}
    for e in subgraph.events:
        if e.entity_id not in row or e.last_ts < alert - ENDED_BEFORE_ALERT_S:
            continue  # lines long before the alert belong to another story
        cls = e.signature_class if e.signature_class in LOG_CLASSES else "other"
        m[row[e.entity_id], col[f"log_{cls}"]] += e.count
        if e.severity <= 4 and cls != "change":
            severe[e.entity_id] = severe.get(e.entity_id, 0) + e.count
            onsets.setdefault(f"log:{e.entity_id}", e.first_ts)
            onsets[f"log:{e.entity_id}"] = min(onsets[f"log:{e.entity_id}"], e.first_ts)
    for n, i in row.items():
        label = subgraph.nodes[n].label
        if label in KINDS:
            m[i, col[f"kind_{label.lower()}"]] = 1.0
        if n not in onsets and f"log:{n}" in onsets:  # logs date an entity whose metrics are missing
            onsets[n] = onsets[f"log:{n}"]
    severe_counts = np.array([severe.get(n, 0) for n in ids], dtype=float)
    m[:, col["anomaly_max"]] = m[:, [col[f"anomaly_{f}"] for f in FAMILIES]].max(axis=1)
    m[:, col["log_severe"]] = np.log1p(severe_counts)
    m[:, col["evidence"]] = np.maximum(1.0 - np.exp(-m[:, col["anomaly_max"]] / 3.0), 1.0 - np.exp(-severe_counts / 10.0))
    evidence = dict(zip(ids, m[:, col["evidence"]].tolist()))
    for j, name in enumerate(BASE_FEATURES):
        if name.startswith("log_") and name != "log_severe":
            m[:, j] = np.log1p(m[:, j])
    m[:, col["anomaly_count"]] = np.log1p(m[:, col["anomaly_count"]])
    onsets = {k: v for k, v in onsets.items() if not k.startswith("log:")}

    ordered = sorted(onsets.values())
    for n, t in onsets.items():
        i = row[n]
        m[i, col["has_onset"]] = 1.0
        m[i, col["onset_lead"]] = max(-1.0, min(3.0, (alert - t) / ONSET_SCALE_S))
        m[i, col["onset_rank"]] = _rank_share(ordered, t)
    for n in ids:
        if n not in onsets:
            m[row[n], col["onset_rank"]] = 1.0

    _change_features(subgraph, m, row, col, onsets, alert)
    _structure_features(subgraph, graph, m, row, col, evidence, onsets)
    return FeatureTable(ids, list(BASE_FEATURES), m, FEATURE_SCHEMA_VERSION, onsets)


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


def _structure_features(subgraph, graph, m, row, col, evidence, onsets) -> None:
    symptoms = [s.entity_id for s in subgraph.symptoms if s.entity_id in row]
    for s in symptoms:
        m[row[s], col["is_symptom"]] = 1.0
    reach = {n: [] for n in row}
    gap_cost = {n: GAP_COST * (1.0 - v) for n, v in evidence.items()}  # once per entity, not per step
    for s in symptoms:
        for n, (cost, hops) in graph.hops_to(s, gap_cost.__getitem__).items():
            reach[n].append((cost, hops))
    service_of: dict[str, str] = {}
    instances: dict[str, list[str]] = {}
    for e in subgraph.edges:
        if e.type == "INSTANCE_OF":
            service_of[e.source] = e.target
            instances.setdefault(e.target, []).append(e.source)
    degraded = {n: evidence[n] > 0.3 for n in row}
    # whole columns at once: numpy item access per entity is slow (same sums, same order)
    logs = (m[:, col["log_timeout"]] + m[:, col["log_connection"]] + m[:, col["log_auth"]] + m[:, col["log_other"]]) > 0
    logs_any = dict(zip(row, logs.tolist()))
    is_service = {n: node.label == "Service" for n, node in subgraph.nodes.items()}
    names = ("out_degree", "in_degree", "symptom_reach", "symptom_hops", "path_gaps", "effects_anomalous",
             "effects_later", "causes_earlier", "siblings_anomalous", "users_logging")
    out = {name: [0.0] * len(row) for name in names}
    for n, i in row.items():  # plain lists, written as whole columns: numpy item access is slow
        effects = [lk.effect for lk in graph.effects[n]]
        causes = [lk.cause for lk in graph.causes[n]]
        out["out_degree"][i] = math.log1p(len(effects))
        out["in_degree"][i] = math.log1p(len(causes))
        if symptoms and reach[n]:
            out["symptom_reach"][i] = len(reach[n]) / len(symptoms)
            cost, hops = min(reach[n])
            out["symptom_hops"][i] = hops / 6.0
            out["path_gaps"][i] = (cost - hops) / GAP_COST
        else:
            out["symptom_hops"][i] = 1.5
        if effects:
            out["effects_anomalous"][i] = sum(map(degraded.__getitem__, effects)) / len(effects)
        t = onsets.get(n)
        if t is not None:
            later = [onsets[e] for e in effects if e in onsets]
            if later:
                out["effects_later"][i] = sum(o >= t - ONSET_TOLERANCE_S for o in later) / len(later)
            out["causes_earlier"][i] = max((evidence[c] for c in causes if c in onsets and onsets[c] < t - ONSET_TOLERANCE_S),
                                           default=0.0)
        siblings = ([x for x in instances.get(service_of[n], []) if x != n] if n in service_of
                    else instances.get(n, []))
        if siblings:
            out["siblings_anomalous"][i] = sum(map(degraded.__getitem__, siblings)) / len(siblings)
        users = [e for e in effects if is_service[e]]
        if users:
            out["users_logging"][i] = sum(map(logs_any.__getitem__, users)) / len(users)
    for name, values in out.items():
        m[:, col[name]] = values
