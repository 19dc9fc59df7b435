"""One rule fact per entity with evidence: the numbers the rule packs reason about."""

from __future__ import annotations

import math
import re

import numpy as np

from rca.engine.features import ONSET_TOLERANCE_S, FeatureTable, onset_array
from rca.engine.graph import PropagationGraph
from rca.engine.types import IncidentSubgraph

DEGRADED = 0.3  # evidence level from which an entity counts as degraded
PEER_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")  # how entity names appear inside log lines


def build_facts(subgraph: IncidentSubgraph, table: FeatureTable, graph: PropagationGraph) -> list[dict]:
    """Facts for every entity that has evidence itself or around it (the rest cannot fire a rule).

    The counts over each entity's effects are taken for all entities at once over the graph's link
    arrays; only the chosen entities' facts become dicts (plain Python numbers, as before).
    """
    n = len(graph.nodes)
    cause, effect = graph.cause_rows, graph.effect_rows
    ev = table.column("evidence")
    evidence = ev.tolist()
    onset = onset_array(table.onsets or {}, graph)
    alert = subgraph.alert_time
    nodes = list(subgraph.nodes.values())
    labels = np.array([node.label for node in nodes])
    names = [node.name for node in nodes]
    changes: dict[int, float] = {}
    for c in subgraph.changes:
        i = graph.index.get(c.entity_id)
        if i is not None and c.change_type in ("deploy", "config") and c.at <= alert + 60:
            changes[i] = max(changes.get(i, -math.inf), c.at)
    known = set(names)
    auth_peers: dict[str, set[str] | None] = {}
    failing_peers: dict[str, set[str] | None] = {}
    for e in subgraph.events:
        if e.signature_class == "auth":
            _add_peers(auth_peers, e.entity_id, e.sample, known)
        elif e.signature_class in ("timeout", "connection"):
            _add_peers(failing_peers, e.entity_id, e.sample, known)

    near = np.zeros(n)  # strongest evidence among an entity's effects
    np.maximum.at(near, cause, ev[effect])
    user = labels[effect] == "Service"
    # the effect's lines point at the cause (links of effects that logged no such lines: False)
    named_in_auth = _named_by(auth_peers, graph, cause, effect, names)
    auth = user & named_in_auth

    # Without evidence of its own, only a datastore or host (through its users or residents), a
    # changed entity or one its callers fail to authenticate against can fire a rule.
    chosen = (ev >= 0.05) | (np.isin(labels, ("Datastore", "Host")) & (near >= DEGRADED))
    chosen[list(changes)] = True
    chosen[cause[named_in_auth]] = True

    has = ~np.isnan(onset)
    degraded = ev >= DEGRADED
    # Users merely degrading say nothing about a silent datastore: count them only after its own onset.
    after = degraded[effect] & has[cause] & (~has[effect] | (onset[effect] >= onset[cause] - ONSET_TOLERANCE_S))
    in_failing = np.isin(effect, [graph.index[u] for u in failing_peers if u in graph.index])
    failing = user & (_named_by(failing_peers, graph, cause, effect, names) | (~in_failing & after))
    resident = (labels[cause] == "Host") & np.isin(labels[effect], ("Instance", "Datastore"))
    crashing = table.column("log_crash") > 0
    later = degraded[effect] & has[effect]
    lead = np.full(n, np.inf)
    np.minimum.at(lead, cause[later], onset[effect[later]])
    lead = np.where(has & np.isfinite(lead), lead - onset, -1.0)
    degraded_later = later & has[cause] & (onset[effect] >= onset[cause] - ONSET_TOLERANCE_S)

    def count(links: np.ndarray) -> list[int]:
        return np.bincount(cause[links], minlength=n).tolist()

    users, failing_n, auth_n = count(user), count(failing), count(auth)
    residents, residents_bad = count(resident), count(resident & (degraded[effect] | crashing[effect]))
    later_n = count(degraded_later)
    column = {name: table.column(name).tolist() for name in (
        "anomaly_errors", "anomaly_latency", "anomaly_saturation", "anomaly_traffic", "log_crash", "log_oom",
        "log_auth", "restarts", "effects_later")}
    near, lead = near.tolist(), lead.tolist()
    facts = []
    for i in np.flatnonzero(chosen).tolist():
        u, r = users[i], residents[i]
        facts.append({
            "entity": graph.nodes[i], "kind": nodes[i].label, "name": names[i],
            "evidence": round(float(evidence[i]), 4),
            "errors": column["anomaly_errors"][i], "latency": column["anomaly_latency"][i],
            "saturation": column["anomaly_saturation"][i], "traffic": column["anomaly_traffic"][i],
            "crash_lines": _count(column["log_crash"][i]), "oom_lines": _count(column["log_oom"][i]),
            "auth_lines": _count(column["log_auth"][i]), "restarts": int(column["restarts"][i]),
            "users_total": u, "users_failing": failing_n[i],
            "users_failing_share": failing_n[i] / u if u else 0.0,
            "users_auth_share": auth_n[i] / u if u else 0.0,
            "residents_total": r, "residents_degraded": residents_bad[i],
            "residents_share": residents_bad[i] / r if r else 0.0,
            "change_gap_s": alert - changes[i] if i in changes else -1.0,
            "change_evidence": max(float(evidence[i]), near[i]),
            "lead_s": lead[i], "later_share": column["effects_later"][i],
            "degraded_later": later_n[i],
        })
    return facts


def _count(log_value: float) -> int:
    """A log-line count back from its log1p feature."""
    return int(round(math.expm1(log_value)))


def _named_by(peers: dict[str, set[str] | None], graph: PropagationGraph, cause: np.ndarray, effect: np.ndarray,
              names: list[str]) -> np.ndarray:
    """Per link: the effect's lines point at the cause (see _against); checked only for effects in peers."""
    out = np.zeros(len(cause), dtype=bool)
    rows = {graph.index[u]: u for u in peers if u in graph.index}
    if rows:
        for k in np.flatnonzero(np.isin(effect, list(rows))).tolist():
            out[k] = _against(peers, rows[int(effect[k])], names[int(cause[k])])
    return out


def _add_peers(peers: dict[str, set[str] | None], entity: str, sample: str, known: set[str]) -> None:
    """Remember which known entities an entity's lines name (None: lines that name none)."""
    named = set(PEER_TOKEN.findall(sample)) & known
    current = peers.get(entity, set())
    peers[entity] = (current or set()) | named if named else current


def _against(peers: dict[str, set[str] | None], user: str, name: str) -> bool:
    """The user's lines point at this entity: they name it, or they name no known peer at all."""
    if user not in peers:
        return False
    named = peers[user]
    return not named or name in named
