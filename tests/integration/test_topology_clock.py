"""The topology clock against the real Bolt server: writers advance it, the service's snapshot reloads on it."""

from __future__ import annotations

from graph_schema.cypher import topology as cypher
from ingest.topology.reconcile import reconcile
from rca.service.topology_cache import TopologyCache
from tests.support import signal_writes

from .test_topology_reconcile import GRACE, estate

ADD_CALL_BY_HAND = """
MATCH (a:Service {id: $source}), (b:Service {id: $target})
CREATE (a)-[:CALLS {status: 'active', sources: ['by-hand']}]->(b)
"""


def generation(store) -> int | None:
    rows = store.read(cypher.READ_CLOCK)
    return rows[0]["generation"] if rows else None


def services(store, p: str, *names: str) -> None:
    signal_writes.write_entities(store, [{"id": f"{p}{n}", "label": "Service", "name": f"{p}{n}"} for n in names])


def calls(snapshot, source: str) -> set[str]:
    return {e.target for e in snapshot.out_edges.get(source, ()) if e.type == "CALLS"}


def test_the_snapshot_reloads_when_rca_changes_the_topology_and_only_then(store, unique_prefix):
    p = unique_prefix
    services(store, p, "web", "cart", "pay")
    cache = TopologyCache(store, refresh_s=30.0, full_refresh_s=3600.0)
    first = cache.snapshot()
    assert f"{p}web" in first.nodes and first.generation == generation(store) is not None

    assert cache.refresh() is False and cache.snapshot() is first  # nothing changed: not even read again

    # written around rca's writers: the clock does not move, so the snapshot does not see it yet
    store.write(ADD_CALL_BY_HAND, source=f"{p}web", target=f"{p}cart")
    assert cache.refresh() is False and calls(cache.snapshot(), f"{p}web") == set()

    # written through rca: the clock moves and the next look reloads (taking the hand-made edge along)
    signal_writes.write_edges(
        store,
        [
            {
                "source": f"{p}web",
                "source_label": "Service",
                "target": f"{p}pay",
                "target_label": "Service",
                "type": "CALLS",
            }
        ],
    )
    assert cache.refresh() is True
    assert calls(cache.snapshot(), f"{p}web") == {f"{p}cart", f"{p}pay"}
    assert cache.snapshot().generation == generation(store)
    assert cache.refresh() is False


def test_a_snapshot_older_than_the_full_refresh_is_read_again_even_when_the_clock_stood_still(store, unique_prefix):
    p = unique_prefix
    services(store, p, "web", "cart")
    cache = TopologyCache(store, refresh_s=30.0, full_refresh_s=3600.0)
    cache.snapshot()
    store.write(ADD_CALL_BY_HAND, source=f"{p}web", target=f"{p}cart")
    assert cache.refresh() is False
    cache.full_refresh_s = 0.0
    assert cache.refresh() is True and calls(cache.snapshot(), f"{p}web") == {f"{p}cart"}


def test_a_reconcile_advances_the_clock_when_it_changes_something_and_not_otherwise(store, unique_prefix):
    p = unique_prefix
    before = generation(store) or 0
    reconcile(store, estate(p), source="test", now=1000.0, grace_period_s=GRACE)
    assert generation(store) == before + 1
    reconcile(store, estate(p), source="test", now=1060.0, grace_period_s=GRACE)  # only last-seen times move
    assert generation(store) == before + 1
    reconcile(store, estate(p), source="test", now=1080.0, grace_period_s=GRACE, dry_run=True)
    reconcile(store, estate(p, cart_tech="java"), source="test", now=1120.0, grace_period_s=GRACE, dry_run=True)
    assert generation(store) == before + 1  # a dry run writes nothing, the clock included
    reconcile(store, estate(p, cart_tech="java"), source="test", now=1120.0, grace_period_s=GRACE)
    assert generation(store) == before + 2
