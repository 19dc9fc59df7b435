"""Training samples for the GNN: one incident's feature matrix, typed edges and true root cause.

The features are the engine's full table (base features, rule strengths, propagation and walk
scores) built by `rca.rank.combined.analyse`, the one code path the service uses too. Suites of
simulator incidents are built once and cached on disk, so a training run, the calibration of the
combination and the benchmark never simulate the same incident twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rca.rank.features import FEATURE_SCHEMA_VERSION, FeatureTable
from rca.rank.graph import PropagationGraph
from rca.rank.types import IncidentSubgraph
from rca.rank.rules.evaluate import RuleEngine
from rca.simulator.suite import IncidentSpec, analysed, suite

log = logging.getLogger(__name__)

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
    return Sample(table.matrix.astype(np.float32), typed_edges(subgraph.edges, table.index), y,
                  node_ids=list(table.node_ids), **extra)


def simulate_samples(specs: list[IncidentSpec], rules: RuleEngine, max_hops: int | None = None,
                     desc: str = "incidents", progress: bool = True) -> tuple[list[str], list[Sample]]:
    """Simulate and analyse incidents; skips the few whose root cause lies outside the subgraph."""
    names: list[str] = []
    out = []
    for spec, sub, table, root in analysed(specs, rules, max_hops, desc=desc, progress=progress, leave=False):
        names = table.names
        out.append(sample_from(sub, table, root, fault_type=spec.fault_type, size=spec.size))
    return names, out


def code_digest() -> str:
    """A digest of the simulator, feature and rule code and data: cached samples from other code are not reused."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for package in ("rank", "simulator"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".yaml", ".json") and path.name != "weights.json":
                h.update(path.name.encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cached_suite(cache_dir: Path | None, name: str, per_cell: int, sizes: tuple[int, ...], rules: RuleEngine,
                 max_hops: int | None = None, fault_types: tuple[str, ...] | None = None,
                 progress: bool = True) -> tuple[list[str], list[Sample]]:
    """The samples of a named suite, read from cache_dir when built before with the same rules."""
    kwargs = {"fault_types": fault_types} if fault_types else {}
    specs = list(suite(name, per_cell, sizes, **kwargs))
    key = hashlib.sha256(repr((name, per_cell, sizes, max_hops, fault_types, rules.version,
                               FEATURE_SCHEMA_VERSION, code_digest())).encode()).hexdigest()[:12]
    path = cache_dir / f"{name}-{key}.pt" if cache_dir else None
    if path is not None and path.exists():
        data = torch.load(path, weights_only=False)
        return data["names"], data["samples"]
    names, samples = simulate_samples(specs, rules, max_hops, desc=f"{name} incidents", progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"names": names, "samples": samples}, path)
    return names, samples
