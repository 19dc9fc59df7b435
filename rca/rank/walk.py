"""Personalized random walk from the symptoms towards possible causes (MicroRCA-style PageRank).

The walk moves from an entity to its causes in proportion to how anomalous they are, sometimes
back to its effects, and stays on an entity that is more anomalous than all of its causes; it
restarts at the symptoms and anomalous entities. The stationary probability says where the walk
ends up: the baseline ranks by it on metric anomalies alone, the engine uses it as one more
propagation-consistency feature computed on all evidence.

The transition matrix is built straight from the graph's link arrays with numpy (a few hundred
entities make scipy.sparse's per-call overhead the bulk of the cost) and the power iteration
runs compiled (rca/fast/engine_kernels.py); tests/unit/test_engine_graph.py holds it to the scipy
formulation within 1e-8.
"""

from __future__ import annotations

import numpy as np

from rca import fast
from rca.fast import engine_kernels as kernels
from rca.rank.graph import PropagationGraph
from rca.rank.types import IncidentSubgraph

TOLERANCE = 1e-9


def _transitions(
    graph: PropagationGraph, weight: np.ndarray, backward: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The row-normalised transition matrix, transposed, as (rows, columns, values) sorted by row then
    column (zeros left out), and which entities have no way out (dangling)."""
    n = len(graph.nodes)
    cause, effect = graph.cause_rows, graph.effect_rows
    strongest_cause = np.zeros(n)
    np.maximum.at(strongest_cause, effect, weight[cause])
    diagonal = np.arange(n)
    rows = np.concatenate([effect, cause, diagonal])
    cols = np.concatenate([cause, effect, diagonal])
    vals = np.concatenate([weight[cause] + 0.01, backward * weight[effect], np.maximum(0.0, weight - strongest_cause)])
    # canonical sparse form: sorted by (row, column), repeated positions summed
    key = rows * n + cols
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    key, vals = key[starts], np.add.reduceat(vals[order], starts)
    rows, cols = key // n, key % n
    sums = np.add.reduceat(vals, np.searchsorted(rows, diagonal))  # every row holds its diagonal entry
    scaled = vals * np.divide(1.0, sums, out=np.zeros(n), where=sums > 0)[rows]
    keep = scaled != 0
    rows, cols, scaled = rows[keep], cols[keep], scaled[keep]
    order = np.argsort(cols * n + rows, kind="stable")  # transposed: by column of the original, then row
    return cols[order], rows[order], scaled[order], sums == 0


def walk_scores(
    subgraph: IncidentSubgraph,
    graph: PropagationGraph,
    node_ids: list[str],
    weight: np.ndarray,
    damping: float = 0.85,
    backward: float = 0.2,
    iterations: int = 60,
) -> np.ndarray:
    """Stationary probabilities scaled so the largest is 1; weight in [0, 1] is each entity's anomaly.

    node_ids must be the graph's entities in its order (the feature table's order).
    """
    if node_ids != graph.nodes:
        raise ValueError("walk_scores needs the entities in the graph's order")
    n = len(node_ids)
    weight = np.asarray(weight, dtype=float)
    to_row, from_col, probability, dangling = _transitions(graph, weight, backward)
    personal = weight.copy()
    for s in subgraph.symptoms:
        personal[graph.index[s.entity_id]] += 0.5
    personal = personal / personal.sum() if personal.sum() > 0 else np.full(n, 1.0 / n)
    restart = (1 - damping) * personal
    rank = fast.choose(kernels.walk)(
        to_row, from_col, probability, dangling, personal, restart, np.full(n, 1.0 / n), damping, iterations, TOLERANCE
    )
    return rank / rank.max()
