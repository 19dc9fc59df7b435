"""One rule fact per entity with evidence: the numbers the rule packs reason about."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from rca.rank.features import ONSET_TOLERANCE_S, WEAK_DEVIATION, FeatureTable, onset_array
from rca.rank.graph import PropagationGraph
from rca.rank.types import IncidentSubgraph

DEGRADED = 0.3  # evidence level from which an entity counts as degraded
PEER_TOKEN = re.compile(r"[A-Za-z0-9_.\-]+")  # how entity names appear inside log lines


def build_facts(
    subgraph: IncidentSubgraph,
    table: FeatureTable,
    graph: PropagationGraph,
    keep: Callable[[dict], object] | None = None,
) -> list[dict]:
    """Facts for every entity that has evidence itself or around it (the rest cannot fire a rule).

    The counts over each entity's effects are taken for all entities at once over the graph's link
    arrays. `keep` (the rule engine's prefilter, see rca/fast/rule_prefilter.py) sees the facts as
    columns first; only those it keeps become dicts of plain Python numbers.
    """
    n = len(graph.nodes)
    cause, effect = graph.cause_rows, graph.effect_rows
    ev = table.column("evidence")
    onset = onset_array(table.onsets or {}, graph)
    alert = subgraph.alert_time
    labels = graph.labels
    names = [node.name for node in subgraph.nodes.values()]
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
    chosen = (ev >= 0.05) | (((labels == "Datastore") | (labels == "Host")) & (near >= DEGRADED))
    chosen[list(changes)] = True
    chosen[cause[named_in_auth]] = True
    rows = np.flatnonzero(chosen)

    has = ~np.isnan(onset)
    degraded = ev >= DEGRADED
    # Users merely degrading say nothing about a silent datastore: count them only after its own onset.
    after = degraded[effect] & has[cause] & (~has[effect] | (onset[effect] >= onset[cause] - ONSET_TOLERANCE_S))
    in_failing = _flags(n, [graph.index[u] for u in failing_peers if u in graph.index])[effect]
    # (only the chosen entities' counts are kept: their users' lines are all that need reading)
    failing = user & (
        _named_by(failing_peers, graph, cause, effect, names, among=user & chosen[cause]) | (~in_failing & after)
    )
    resident = (labels[cause] == "Host") & ((labels[effect] == "Instance") | (labels[effect] == "Datastore"))
    crashing = table.column("log_crash") > 0
    later = degraded[effect] & has[effect]
    lead = np.full(n, np.inf)
    np.minimum.at(lead, cause[later], onset[effect[later]])
    lead = np.where(has & np.isfinite(lead), lead - onset, -1.0)
    degraded_later = later & has[cause] & (onset[effect] >= onset[cause] - ONSET_TOLERANCE_S)

    def count(links: np.ndarray) -> np.ndarray:
        return np.bincount(cause[links], minlength=n)[rows]

    def share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
        return np.divide(part, whole, out=np.zeros(len(rows)), where=whole > 0)

    def column(name: str) -> np.ndarray:
        return table.column(name)[rows]

    def family(name: str) -> np.ndarray:
        """How strongly the family deviates: its anomaly score, or a clear deviation under the threshold."""
        deviation = column(f"deviation_{name}")
        return np.maximum(column(f"anomaly_{name}"), np.where(deviation >= WEAK_DEVIATION, deviation, 0.0))

    users, failing_n, auth_n = count(user), count(failing), count(auth)
    residents, residents_bad = count(resident), count(resident & (degraded[effect] | crashing[effect]))
    facts = {  # one column per fact field, one entry per chosen entity (field order as the dicts')
        "entity": np.array(graph.nodes, dtype=object)[rows],
        "kind": labels[rows],
        "name": np.array(names, dtype=object)[rows],
        "evidence": np.array([round(v, 4) for v in ev[rows].tolist()]),
        "errors": family("errors"),
        "latency": family("latency"),
        "saturation": family("saturation"),
        "traffic": family("traffic"),
        "crash_lines": _counts(column("log_crash")),
        "oom_lines": _counts(column("log_oom")),
        "auth_lines": _counts(column("log_auth")),
        "restarts": column("restarts").astype(np.int64),
        "users_total": users,
        "users_failing": failing_n,
        "users_failing_share": share(failing_n, users),
        "users_auth_share": share(auth_n, users),
        "residents_total": residents,
        "residents_degraded": residents_bad,
        "residents_share": share(residents_bad, residents),
        "change_gap_s": np.array([alert - changes[i] if i in changes else -1.0 for i in rows.tolist()]),
        "change_evidence": np.maximum(ev, near)[rows],
        "lead_s": lead[rows],
        "later_share": column("effects_later"),
        "degraded_later": count(degraded_later),
    }
    if keep is not None:
        kept = np.broadcast_to(np.asarray(keep(facts), dtype=bool), rows.shape)
        facts = {name: values[kept] for name, values in facts.items()}
    values = [values.tolist() for values in facts.values()]  # plain Python numbers and strings
    return [dict(zip(facts, fact)) for fact in zip(*values)]


def _counts(log_values: np.ndarray) -> np.ndarray:
    """Log-line counts back from their log1p features."""
    return np.array([round(math.expm1(v)) for v in log_values.tolist()], dtype=np.int64)


def _flags(n: int, rows: list[int]) -> np.ndarray:
    """n booleans, True at rows (a lookup table: cheaper than np.isin on small sets)."""
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


def _named_by(
    peers: dict[str, set[str] | None],
    graph: PropagationGraph,
    cause: np.ndarray,
    effect: np.ndarray,
    names: list[str],
    among: np.ndarray | None = None,
) -> np.ndarray:
    """Per link: the effect's lines point at the cause (see _against); checked only for effects in
    peers, and only on the links `among` (where given; the rest stay False)."""
    out = np.zeros(len(cause), dtype=bool)
    rows = {graph.index[u]: u for u in peers if u in graph.index}
    if rows:
        check = _flags(len(graph.nodes), list(rows))[effect]
        if among is not None:
            check &= among
        links = np.flatnonzero(check)
        for k, e, c in zip(links.tolist(), effect[links].tolist(), cause[links].tolist()):
            out[k] = _against(peers, rows[e], names[c])
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
