"""The compiled copies (rca.fast) against their references: each kernel and the whole ranking, within a tolerance."""

import numpy as np
import pytest

from rca import fast
from rca.fast import engine_kernels as kernels
from rca.rank.engine import model_engine
from rca.rank.graph import PropagationGraph
from rca.rank.paths import PathContext
from rca.rank.walk import walk_scores
from rca.simulator import simulate


@pytest.fixture
def copies_off():
    fast.use(False)
    yield
    fast.use(True)


def test_the_switch_runs_the_source_interpreted(copies_off):
    assert not fast.enabled()
    assert fast.choose(kernels.walk) is kernels.walk.py_func
    fast.use(True)
    assert fast.choose(kernels.walk) is kernels.walk


@pytest.mark.parametrize(
    "seed,size,fault", [(1, 60, "datastore_outage"), (2, 120, "latency"), (3, 300, "host_failure")]
)
def test_kernels_compiled_equal_their_source_interpreted(seed, size, fault):
    incident = simulate(seed, size, fault)
    sub = incident.to_subgraph(max_hops=4)
    graph = PropagationGraph(sub)
    targets = sorted({graph.index[s.entity_id] for s in sub.symptoms})
    gap = np.random.default_rng(seed).random(len(graph.nodes))
    args = (len(graph.nodes), np.asarray(targets, dtype=np.int64), gap, *graph.links_into, graph.cause_rows)
    for got, expected in zip(kernels.symptom_distances(*args), kernels.symptom_distances.py_func(*args)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    weight = np.random.default_rng(seed + 1).random(len(graph.nodes))
    compiled = walk_scores(sub, graph, graph.nodes, weight)
    fast.use(False)
    try:
        interpreted = walk_scores(sub, graph, graph.nodes, weight)
    finally:
        fast.use(True)
    np.testing.assert_allclose(compiled, interpreted, rtol=0, atol=1e-12)
    from rca.rank.analysis import analyse
    from rca.rank.rules.evaluate import default_rule_engine

    table = analyse(sub, default_rule_engine(), graph).table
    context = PathContext.build(sub, graph, table)
    start = graph.index[incident.root_cause_id] if incident.root_cause_id in graph.index else 0
    path_args = (start, context.log_p, context.order_key, *graph.links_from, graph.effect_rows, 6)
    for got, expected in zip(kernels.cheapest_paths(*path_args), kernels.cheapest_paths.py_func(*path_args)):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed,size,fault", [(4, 80, "bad_deploy"), (5, 300, "errors"), (6, 150, "cert_expiry")])
def test_the_ranking_with_every_copy_off_equals_the_ranking_with_them_on(seed, size, fault):
    engine = model_engine()
    sub = simulate(seed, size, fault).to_subgraph(max_hops=4)
    on = engine.rank(sub, 5)
    fast.use(False)
    try:
        off = engine.rank(sub, 5)
    finally:
        fast.use(True)
    assert [c.entity_id for c in on.candidates] == [c.entity_id for c in off.candidates]
    np.testing.assert_allclose([c.score for c in on.candidates], [c.score for c in off.candidates], atol=1e-5)
    assert {(f.rule, f.entity_id) for f in on.findings if f.rule != "model_attribution"} == {
        (f.rule, f.entity_id) for f in off.findings if f.rule != "model_attribution"
    }
    assert on.paths == off.paths
    np.testing.assert_allclose(on.embedding, off.embedding, atol=1e-5)
