"""Peers named in changed error lines: who blames whom (rca.rank.log_mentions, features named_by_peers/names_peer)."""

from __future__ import annotations

from rca.rank.features import build_features
from rca.rank.log_change import TemplateChange
from rca.rank.log_mentions import named_peers
from rca.rank.types import Edge, EntityNode, EventSignal, IncidentSubgraph, Symptom

T = 1_750_000_000.0


def _nodes(*names: str) -> dict[str, EntityNode]:
    return {n: EntityNode(n, "Service", n) for n in names}


def _change(entity: str, template: str, sample: str = "", severity: int = 3) -> TemplateChange:
    return TemplateChange(entity, template, "connection", severity, "new", 10, 0, T, 1.0, sample)


def test_names_are_whole_tokens_of_the_template_or_its_sample():
    nodes = _nodes("session", "redis-feed", "profile", "ledger")
    changes = [
        _change("edge", "call to session failed: connection reset by peer"),
        _change("feed", "dial tcp <*>: connection refused", "dial tcp redis-feed:6379: connection refused"),
        _change("profile", "GET http://ledger.default.svc:8080/balance answered 503"),
        _change("ledger", "sessions table is full"),  # 'sessions' is not 'session'
        _change("profile", "worker for profile stalled"),  # itself
    ]
    assert named_peers(changes, nodes) == {"edge": {"session"}, "feed": {"redis-feed"}, "profile": {"ledger"}}


def test_informational_lines_short_names_and_shared_names_do_not_count():
    nodes = _nodes("api", "catalog")
    nodes["catalog-0"] = EntityNode("catalog-0", "Instance", "catalog")  # a second entity answering to 'catalog'
    changes = [_change("web", "calling api, catalog and catalog-0"), _change("web", "retrying catalog-0", severity=6)]
    assert named_peers(changes[1:], nodes) == {}
    assert named_peers(changes[:1], nodes) == {"web": {"catalog-0"}}


def test_the_blamed_peer_and_the_blaming_victims_are_features():
    nodes = _nodes("edge", "session", "profile")
    edges = [Edge("edge", "session", "CALLS"), Edge("session", "profile", "CALLS")]
    line = "ERROR call to session failed: connection reset by peer"
    routine = EventSignal("profile", "ERROR call to session failed: slow", "other", 3, 5, T - 1500, T - 1450, "")
    events = [
        EventSignal("edge", line, "connection", 3, 40, T + 10, T + 60, line),
        # profile blamed session long before this incident: routine, not a change
        routine,
        EventSignal("profile", routine.template, "other", 3, 5, T + 10, T + 60, ""),
    ]
    subgraph = IncidentSubgraph(nodes, edges, [], events, [], [Symptom("edge", "errors", T + 120)], T - 1800, T + 300)
    table = build_features(subgraph)
    assert table.value("session", "named_by_peers") > 0 and table.value("edge", "names_peer") == 1.0
    assert table.value("profile", "names_peer") == 0.0 and table.value("edge", "named_by_peers") == 0.0


def test_an_entity_never_blames_its_own_host_instances_or_service():
    nodes = {
        **_nodes("catalog", "session"),
        "catalog-0": EntityNode("catalog-0", "Instance", "catalog-0"),
        "shop-node-1": EntityNode("shop-node-1", "Host", "shop-node-1"),
        "shop-db-1": EntityNode("shop-db-1", "Host", "shop-db-1"),
    }
    edges = [Edge("catalog-0", "catalog", "INSTANCE_OF"), Edge("catalog-0", "shop-node-1", "RUNS_ON")]
    # the lab's live lines: the RFC 5424 HOSTNAME is the host the service's instance runs on
    raw = "<131>1 2026-12-06T12:03:50Z shop-node-1 catalog - - - ERROR query failed: timeout"
    assert named_peers([_change("catalog", "ERROR query failed: <*>", raw)], nodes, edges) == {}
    assert named_peers([_change("catalog-0", "worker catalog stalled on shop-node-1")], nodes, edges) == {}
    # ... a host it does not run on, and a peer it called, are named
    bsd = "<131>Dec  6 12:03:50 shop-node-1 catalog[42]: ERROR call to session failed, db host shop-db-1"
    changes = [_change("catalog", "ERROR call to <*> failed, db host <*>", bsd)]
    assert named_peers(changes, nodes, edges) == {"catalog": {"session", "shop-db-1"}}
