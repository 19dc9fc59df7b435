"""Personalized random walk from the symptoms towards possible causes (MicroRCA-style PageRank).

The walk moves from an entity to its causes in proportion to how anomalous they are, sometimes
back to its effects, and stays on an entity that is more anomalous than all of its causes; it
restarts at the symptoms and anomalous entities. The stationary probability says where the walk
ends up: the baseline ranks by it on metric anomalies alone, the engine uses it as one more
propagation-consistency feature computed on all evidence.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from rca.engine.graph import PropagationGraph
from rca.engine.types import IncidentSubgraph

TOLERANCE = 1e-9


def walk_scores(subgraph: IncidentSubgraph, graph: PropagationGraph, node_ids: list[str], weight: np.ndarray,
                damping: float = 0.85, backward: float = 0.2, iterations: int = 60) -> np.ndarray:
    """Stationary probabilities scaled so the largest is 1; weight in [0, 1] is each entity's anomaly."""
    n = len(node_ids)
    idx = {node: i for i, node in enumerate(node_ids)}
    links = [(idx[lk.cause], idx[lk.effect]) for node in node_ids for lk in graph.causes[node]]
    cause = np.fromiter((c for c, _ in links), dtype=np.int64, count=len(links))
    effect = np.fromiter((e for _, e in links), dtype=np.int64, count=len(links))
    strongest_cause = np.zeros(n)
    np.maximum.at(strongest_cause, effect, weight[cause])
    rows = np.concatenate([effect, cause, np.arange(n)])
    cols = np.concatenate([cause, effect, np.arange(n)])
    vals = np.concatenate([weight[cause] + 0.01, backward * weight[effect], np.maximum(0.0, weight - strongest_cause)])
    w = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    sums = np.asarray(w.sum(axis=1)).ravel()
    dangling = sums == 0
    wt = (sparse.diags(np.divide(1.0, sums, out=np.zeros(n), where=sums > 0)) @ w).T.tocsr()
    personal = weight.astype(float).copy()
    for s in subgraph.symptoms:
        personal[idx[s.entity_id]] += 0.5
    personal = personal / personal.sum() if personal.sum() > 0 else np.full(n, 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = damping * (wt @ rank + rank[dangling].sum() * personal) + (1 - damping) * personal
        done = np.abs(new - rank).sum() < TOLERANCE
        rank = new
        if done:
            break
    return rank / rank.max()
