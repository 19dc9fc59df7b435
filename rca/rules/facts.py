"""One rule fact per entity with evidence: the numbers the rule packs reason about."""

from __future__ import annotations

import math
import re

from rca.engine.features import FeatureTable, ONSET_TOLERANCE_S
from rca.engine.graph import PropagationGraph
from rca.engine.types import IncidentSubgraph

DEGRADED = 0.3  # evidence level from which an entity counts as degraded
PEER_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")  # how entity names appear inside log lines


def _count(table: FeatureTable, eid: str, name: str) -> int:
    return int(round(math.expm1(table.value(eid, name))))


def build_facts(subgraph: IncidentSubgraph, table: FeatureTable, graph: PropagationGraph) -> list[dict]:
    """Facts for every entity that has evidence itself or around it (the rest cannot fire a rule)."""
    evidence = dict(zip(table.node_ids, table.column("evidence").tolist()))
    onsets = table.onsets or {}
    alert = subgraph.alert_time
    changes: dict[str, float] = {}
    for c in subgraph.changes:
        if c.entity_id in evidence and c.change_type in ("deploy", "config") and c.at <= alert + 60:
            changes[c.entity_id] = max(changes.get(c.entity_id, -math.inf), c.at)
    known = {n.name for n in subgraph.nodes.values()}
    auth_peers: dict[str, set[str] | None] = {}
    failing_peers: dict[str, set[str] | None] = {}
    for e in subgraph.events:
        if e.signature_class == "auth":
            _add_peers(auth_peers, e.entity_id, e.sample, known)
        elif e.signature_class in ("timeout", "connection"):
            _add_peers(failing_peers, e.entity_id, e.sample, known)
    facts = []
    for eid in table.node_ids:
        effects = [lk.effect for lk in graph.effects[eid]]
        near = max((evidence[e] for e in effects), default=0.0)
        label = subgraph.nodes[eid].label
        # Without evidence of its own, only a datastore or host (through its users or residents), a
        # changed entity or one its callers fail to authenticate against can fire a rule.
        silent_suspect = (label in ("Datastore", "Host") and near >= DEGRADED) or eid in changes \
            or (auth_peers and any(_against(auth_peers, e, subgraph.nodes[eid].name) for e in effects))
        if evidence[eid] < 0.05 and not silent_suspect:
            continue
        users = [e for e in effects if subgraph.nodes[e].label == "Service"]
        name = subgraph.nodes[eid].name
        failing = [u for u in users if _against(failing_peers, u, name)
                   or (u not in failing_peers and _degraded_after(u, evidence, onsets, onsets.get(eid)))]
        auth = [u for u in users if _against(auth_peers, u, name)]
        residents = [e for e in effects if subgraph.nodes[e].label in ("Instance", "Datastore")] if label == "Host" else []
        degraded_residents = [r for r in residents if evidence[r] >= DEGRADED or table.value(r, "log_crash") > 0]
        own = onsets.get(eid)
        later = [e for e in effects if evidence[e] >= DEGRADED and e in onsets]
        lead = min(onsets[e] for e in later) - own if own is not None and later else -1.0
        degraded_later = [e for e in later if own is not None and onsets[e] >= own - ONSET_TOLERANCE_S]
        facts.append({
            "entity": eid, "kind": label, "name": subgraph.nodes[eid].name,
            "evidence": round(float(evidence[eid]), 4),
            "errors": table.value(eid, "anomaly_errors"), "latency": table.value(eid, "anomaly_latency"),
            "saturation": table.value(eid, "anomaly_saturation"), "traffic": table.value(eid, "anomaly_traffic"),
            "crash_lines": _count(table, eid, "log_crash"), "oom_lines": _count(table, eid, "log_oom"),
            "auth_lines": _count(table, eid, "log_auth"), "restarts": int(table.value(eid, "restarts")),
            "users_total": len(users), "users_failing": len(failing),
            "users_failing_share": len(failing) / len(users) if users else 0.0,
            "users_auth_share": len(auth) / len(users) if users else 0.0,
            "residents_total": len(residents), "residents_degraded": len(degraded_residents),
            "residents_share": len(degraded_residents) / len(residents) if residents else 0.0,
            "change_gap_s": alert - changes[eid] if eid in changes else -1.0,
            "change_evidence": max(float(evidence[eid]), near),
            "lead_s": lead, "later_share": table.value(eid, "effects_later"),
            "degraded_later": len(degraded_later),
        })
    return facts


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


def _degraded_after(user: str, evidence, onsets, own_onset) -> bool:
    started = onsets.get(user)
    # Users merely degrading say nothing about a silent datastore: count them only after its own onset.
    return evidence[user] >= DEGRADED and own_onset is not None and (started is None or started >= own_onset - ONSET_TOLERANCE_S)
