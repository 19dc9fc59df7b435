"""The topology snapshot's neighbourhoods: the same entities and edges as a walk, reused, ranked alike."""

import dataclasses

import numpy as np

from rca.rank.engine import model_engine
from rca.rank.graph import PropagationGraph
from rca.service.topology_cache import TopologyIndex
from rca.simulator import simulate


def _snapshot(incident, **kept) -> TopologyIndex:
    entities = [{k: e.get(k) for k in ("id", "label", "name", "technology")} for e in incident.topology["entities"]]
    edges = [
        {"source_id": e["source"], "type": e["type"], "target_id": e["target"]} for e in incident.topology["edges"]
    ]
    return TopologyIndex.build(entities, edges, loaded_at=0.0, **kept)


def test_a_neighbourhood_holds_the_entities_within_the_radius_and_the_edges_among_them():
    incident = simulate(3, 60, "latency")
    snapshot = _snapshot(incident)
    seed = incident.symptoms[0]["entity_id"]
    near = snapshot.neighbourhood([seed], 1)
    assert seed in near.nodes and list(near.nodes) == sorted(near.nodes)
    assert set(near.nodes) == {seed} | snapshot.adjacent[seed]
    expected = sorted(
        (e["source"], e["target"], e["type"])
        for e in incident.topology["edges"]
        if e["source"] in near.nodes and e["target"] in near.nodes
    )
    assert [(e.source, e.target, e.type) for e in near.edges] == expected
    assert len(snapshot.neighbourhood([seed], 3).nodes) > len(near.nodes)


def test_the_same_seeds_and_radius_reuse_one_neighbourhood_under_one_key():
    incident = simulate(4, 60, "errors")
    snapshot = _snapshot(incident)
    a, b = sorted(snapshot.nodes)[:2]
    first = snapshot.neighbourhood([a, b], 2)
    assert snapshot.neighbourhood([b, a, a], 2) is first  # order and repeats do not matter
    assert first.key is not None
    assert snapshot.neighbourhood([a, b], 1) is not first and snapshot.neighbourhood([a, b], 1).key != first.key
    reloaded = _snapshot(incident)  # a reload starts afresh
    again = reloaded.neighbourhood([a, b], 2)
    assert again is not first and again.nodes == first.nodes and again.key != first.key
    keeping_none = _snapshot(incident, neighbourhoods_kept=0)
    assert keeping_none.neighbourhood([a, b], 2) is not keeping_none.neighbourhood([a, b], 2)
    assert keeping_none.neighbourhood([a, b], 2).key is None  # nothing for a ranker to keep either


def test_ranking_a_kept_neighbourhood_equals_ranking_a_fresh_one():
    incident = simulate(5, 120, "datastore_outage")
    snapshot = _snapshot(incident)
    subgraph = incident.to_subgraph(max_hops=3)
    near = snapshot.neighbourhood([s.entity_id for s in subgraph.symptoms], 3)
    assert list(near.nodes) == sorted(subgraph.nodes)
    fresh = dataclasses.replace(subgraph, nodes=dict(near.nodes), edges=list(near.edges))
    reused = dataclasses.replace(fresh, neighbourhood_key=near.key)
    engine = model_engine()
    kept = engine.graphs.of(reused)
    assert engine.graphs.of(reused) is kept  # the engine keeps the view by the neighbourhood's key
    built = PropagationGraph(fresh)
    assert np.array_equal(built.cause_rows, kept.cause_rows) and built.nodes == kept.nodes
    for _ in range(2):  # the second time the kept graph's lazily built parts are in place
        with_graph, without = engine.rank(reused, 5), engine.rank(fresh, 5)
        assert [(c.entity_id, c.score) for c in with_graph.candidates] == [
            (c.entity_id, c.score) for c in without.candidates
        ]
        assert with_graph.paths == without.paths
