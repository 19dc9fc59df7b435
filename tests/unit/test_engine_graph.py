"""The graph's link arrays, symptom distances and the walk equal their plain formulations exactly."""

import heapq
import math

import numpy as np
import pytest
from scipy import sparse

from rca.rank.graph import PropagationGraph
from rca.rank.types import Edge, EntityNode, IncidentSubgraph, Symptom
from rca.rank.walk import walk_scores

KINDS = ("CALLS", "DEPENDS_ON", "RUNS_ON", "INSTANCE_OF", "OWNS")  # OWNS: a relation faults do not travel over


def _random_subgraph(seed: int, n: int = 40, edges: int = 90) -> IncidentSubgraph:
    rng = np.random.default_rng(seed)
    nodes = {f"e{i}": EntityNode(f"e{i}", "Service", f"e{i}") for i in range(n)}
    pairs = [
        Edge(f"e{a}", f"e{b}", KINDS[k])
        for a, b, k in zip(rng.integers(0, n, edges), rng.integers(0, n, edges), rng.integers(0, len(KINDS), edges))
    ]
    symptoms = [Symptom(f"e{i}", "errors", 0.0) for i in rng.integers(0, n, 3)]
    return IncidentSubgraph(nodes, pairs, [], [], [], symptoms, 0.0, 1.0)


def test_links_follow_edge_order_and_the_propagation_rules():
    nodes = {n: EntityNode(n, "Service", n) for n in ("a", "b", "i", "h")}
    sub = IncidentSubgraph(
        nodes,
        [Edge("a", "b", "CALLS"), Edge("i", "a", "INSTANCE_OF"), Edge("a", "h", "OWNS"), Edge("i", "h", "RUNS_ON")],
        [],
        [],
        [],
        [],
        0.0,
        1.0,
    )
    graph = PropagationGraph(sub)
    links = [graph.link(k) for k in range(len(graph.cause_rows))]
    assert [(lk.cause, lk.effect, lk.relation, lk.weight) for lk in links] == [
        ("b", "a", "CALLS (reverse)", 1.0),
        ("i", "a", "INSTANCE_OF", 0.9),
        ("a", "i", "INSTANCE_OF (reverse)", 0.5),
        ("h", "i", "RUNS_ON (reverse)", 0.9),
    ]
    (from_start, from_links), (into_start, into_links) = graph.links_from, graph.links_into
    i = graph.index["i"]
    assert from_links[from_start[i] : from_start[i + 1]].tolist() == [1]
    assert into_links[into_start[i] : into_start[i + 1]].tolist() == [2, 3]
    assert graph.edge_rows["OWNS"].tolist() == [[graph.index["a"], graph.index["h"]]]


def _dijkstra(graph: PropagationGraph, target: str, gap: dict[str, float]) -> dict[str, tuple[float, int]]:
    """The per-symptom search over entity ids the features were first written with."""
    causes: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for k in range(len(graph.cause_rows)):
        causes[graph.nodes[graph.effect_rows[k]]].append(graph.nodes[graph.cause_rows[k]])
    best = {target: (0.0, 0)}
    queue = [(0.0, 0, target)]
    while queue:
        cost, hops, node = heapq.heappop(queue)
        if best[node][0] < cost:
            continue
        through = 0.0 if node == target else gap[node]
        for cause in causes[node]:
            new = cost + 1.0 + through
            if new < best.get(cause, (math.inf, 0))[0]:
                best[cause] = (new, hops + 1)
                heapq.heappush(queue, (new, hops + 1, cause))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_symptom_distances_equal_a_dijkstra_per_symptom_ties_included(seed):
    sub = _random_subgraph(seed)
    graph = PropagationGraph(sub)
    rng = np.random.default_rng(100 + seed)
    evidence = rng.choice([0.0, 0.5, 1.0], len(graph.nodes)) if seed % 2 else rng.random(len(graph.nodes))
    gap = 2.0 * (1.0 - evidence)
    targets = sorted({graph.index[s.entity_id] for s in sub.symptoms})
    cost, hops = graph.symptom_distances(targets, gap)
    for j, target in enumerate(targets):
        expected = _dijkstra(graph, graph.nodes[target], dict(zip(graph.nodes, gap.tolist())))
        got = {n: (cost[i, j], int(hops[i, j])) for i, n in enumerate(graph.nodes) if math.isfinite(cost[i, j])}
        assert got == expected  # the same floats, not merely close


def _sparse_walk(sub, graph, weight, damping=0.85, backward=0.2, iterations=60):
    """The walk as first written with scipy.sparse: the reference of the compiled power iteration."""
    n = len(graph.nodes)
    cause, effect = graph.cause_rows, graph.effect_rows
    strongest = np.zeros(n)
    np.maximum.at(strongest, effect, weight[cause])
    rows = np.concatenate([effect, cause, np.arange(n)])
    cols = np.concatenate([cause, effect, np.arange(n)])
    vals = np.concatenate([weight[cause] + 0.01, backward * weight[effect], np.maximum(0.0, weight - strongest)])
    w = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    sums = np.asarray(w.sum(axis=1)).ravel()
    dangling = sums == 0
    wt = (sparse.diags(np.divide(1.0, sums, out=np.zeros(n), where=sums > 0)) @ w).T.tocsr()
    personal = weight.copy()
    for s in sub.symptoms:
        personal[graph.index[s.entity_id]] += 0.5
    personal = personal / personal.sum() if personal.sum() > 0 else np.full(n, 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = damping * (wt @ rank + rank[dangling].sum() * personal) + (1 - damping) * personal
        done = np.abs(new - rank).sum() < 1e-9
        rank = new
        if done:
            break
    return rank / rank.max()


@pytest.mark.parametrize("seed", range(6))
def test_walk_equals_the_sparse_matrix_formulation(seed):
    sub = _random_subgraph(seed)
    graph = PropagationGraph(sub)
    rng = np.random.default_rng(200 + seed)
    weight = rng.choice([0.0, 0.3, 1.0], len(graph.nodes)) if seed % 2 else rng.random(len(graph.nodes))
    # the kernel adds in turn where scipy and numpy add pairwise: equal to rounding, and to the walk's tolerance
    np.testing.assert_allclose(
        walk_scores(sub, graph, graph.nodes, weight), _sparse_walk(sub, graph, weight), rtol=0, atol=1e-8
    )
