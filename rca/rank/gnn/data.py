"""The graph model's input: one incident's feature matrix, typed edges and (for training) true root cause.

A sample's matrix is the analysed table (rca.rank.analysis: base features and the rankers'
columns, in `names` order); the network reads its own columns of it (rca.rank.gnn.serving).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from rca.rank.features import FEATURE_SCHEMA_VERSION, FeatureTable
from rca.rank.graph import PropagationGraph
from rca.rank.types import IncidentSubgraph

EDGE_TYPES = ("CALLS", "INSTANCE_OF", "RUNS_ON", "DEPENDS_ON")
# Every graph relation carries messages both ways, each direction with its own parameters.
RELATIONS: tuple[str, ...] = tuple(r for t in EDGE_TYPES for r in (t, f"rev_{t}"))


@dataclass
class Sample:
    """One incident as the model sees it."""

    x: np.ndarray  # (entities, features) float32
    edges: dict[str, np.ndarray]  # relation -> (2, E) int64, source row -> target row
    y: int  # row of the true root cause, -1 when unknown
    fault_type: str = ""
    size: int = 0
    node_ids: list[str] = field(default_factory=list)
    weight: float = 1.0  # loss weight (confirmed incidents weigh more than simulated ones)
    teacher: np.ndarray | None = None  # (entities,) float32 logits of teacher models, when distilling


def schema_id(names: list[str]) -> str:
    """The feature schema a model is bound to: the schema version plus a digest of the column names."""
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]
    return f"{FEATURE_SCHEMA_VERSION}+{digest}"


def typed_edges(edges, index: dict[str, int]) -> dict[str, np.ndarray]:
    """Edge index per relation and direction (edges: records with source, target, type), in the rows of `index`."""
    pairs: dict[str, list[tuple[int, int]]] = {t: [] for t in EDGE_TYPES}
    for e in edges:
        if e.type in EDGE_TYPES and e.source in index and e.target in index:
            pairs[e.type].append((index[e.source], index[e.target]))
    return _both_ways({t: np.array(p, dtype=np.int64).reshape(-1, 2) for t, p in pairs.items()})


def graph_edges(graph: PropagationGraph) -> dict[str, np.ndarray]:
    """typed_edges of the graph's subgraph in the graph's rows, from the rows it already holds."""
    return _both_ways({t: graph.edge_rows.get(t, np.zeros((0, 2), dtype=np.int64)) for t in EDGE_TYPES})


def _both_ways(rows_by_type: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(2, E) source/target rows per relation (RELATIONS order), from (E, 2) rows per edge type."""
    out = {}
    for t in EDGE_TYPES:
        rows = rows_by_type[t]
        out[t] = np.ascontiguousarray(rows.T)
        out[f"rev_{t}"] = np.ascontiguousarray(rows[:, ::-1].T)
    return out


def sample_from(subgraph: IncidentSubgraph, table: FeatureTable, root: str | None = None, **extra) -> Sample:
    """A sample from an analysed subgraph (root may be None when unknown)."""
    y = table.index.get(root, -1) if root is not None else -1
    return Sample(
        table.matrix.astype(np.float32),
        typed_edges(subgraph.edges, table.index),
        y,
        node_ids=list(table.node_ids),
        **extra,
    )
