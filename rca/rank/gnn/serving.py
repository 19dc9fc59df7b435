"""Serving the graph model: running a trained network over an analysed incident, and ranking by it alone.

The network reads the base features (evidence and structure) and the topology, never another
ranker's output: rule findings, propagation consistency and the random walk enter the final score
only through rca.rank.ensemble. Inference runs under torch.inference_mode, where the attention layers
may take their compiled loop (rca.fast); the attribution of a candidate's score to its features
takes the gradient of its own path only, with torch's autograd.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from rca.rank.analysis import Analysis, analyse
from rca.rank.features import BASE_FEATURES, FEATURE_SCHEMA_VERSION, FeatureTable
from rca.rank.gnn.artifact import SHIPPED_DEFAULT, Artifact, Registry, load
from rca.rank.gnn.attribution import gradient_attribution, own_path_gradient
from rca.rank.gnn.data import graph_edges
from rca.rank.gnn.model import DiagMLP, RcaGnn, embedding
from rca.rank.graph import PropagationGraph
from rca.rank.ranker import check_subgraph, finish
from rca.rank.rules.evaluate import RuleEngine, default_rule_engine
from rca.rank.types import IncidentSubgraph, RankingResult

# The columns the network reads, in its input order.
FEATURE_NAMES: list[str] = list(BASE_FEATURES)


@dataclass
class ModelRun:
    """One forward pass over an incident: logits per entity, what attribution needs, the embedding."""

    logits: np.ndarray  # float64, table order
    x: torch.Tensor
    messages: list[torch.Tensor]
    embedding: list[float]
    ms: float


class GraphModel:
    """A trained network (GNN, or the DiagMLP ablation) ready to score analysed incidents."""

    def __init__(self, artifact: Artifact, attribute: bool = True):
        self.artifact = artifact
        self.network = artifact.model()
        self.columns: list[int] | None = None
        self.attributes = attribute and artifact.kind == "gnn"
        self.feature_mean = self.network.scale.mean.numpy().astype(np.float64)

    @property
    def version(self) -> str:
        """The artifact's version."""
        return self.artifact.version

    def run(self, table: FeatureTable, graph: PropagationGraph) -> ModelRun:
        """Logits of every entity of the table, and the incident's embedding."""
        started = time.perf_counter()
        if self.columns is None:  # the artifact's column order, checked against what the code builds
            missing = [n for n in self.artifact.feature_names if n not in table.columns]
            if missing:
                raise ValueError(f"model {self.version} needs features this code does not build: {missing[:5]}")
            self.columns = [table.columns[n] for n in self.artifact.feature_names]
        x = torch.from_numpy(table.matrix[:, self.columns].astype(np.float32))
        messages: list[torch.Tensor] = []
        with torch.inference_mode():
            if self.artifact.kind == "gnn":
                assert isinstance(self.network, RcaGnn), "build_model makes an RcaGnn for kind gnn"
                edges = {r: torch.from_numpy(e) for r, e in graph_edges(graph).items()}
                states = self.network.states(x, edges, messages)
            else:
                assert isinstance(self.network, DiagMLP), "build_model makes a DiagMLP for kind mlp"
                states = self.network.states(x)
            logits = self.network.readout(states)
            vector = embedding(states, logits)
        return ModelRun(
            logits.numpy().astype(np.float64),
            x,
            messages,
            [round(v, 6) for v in vector.tolist()],  # tolist: no per-element tensors
            (time.perf_counter() - started) * 1000,
        )

    def drivers(self, run: ModelRun, rows: list[int]) -> dict[int, list[tuple[str, float]]]:
        """Per row: (feature, contribution to the network's logit), largest first; empty without attribution."""
        if not self.attributes or not rows:
            return {}
        assert isinstance(self.network, RcaGnn), "attribution is on for kind gnn only"
        return gradient_attribution(
            partial(own_path_gradient, self.network),
            self.feature_mean,
            run.x,
            run.messages,
            rows,
            self.artifact.feature_names,
        )


class GnnRanker:
    """The network's own ranking (the GNN-only row of the benchmark; DiagMLP with an MLP artifact)."""

    def __init__(self, artifact: Artifact, rules: RuleEngine | None = None, name: str | None = None):
        self.model = GraphModel(artifact, attribute=False)
        self.rules = rules or default_rule_engine()
        self.name = name or ("gnn" if artifact.kind == "gnn" else "diag-mlp")

    @property
    def versions(self) -> dict[str, str]:
        """Versions of the rules, the model and the feature schema."""
        return {
            "rules": self.rules.version,
            "model": self.model.version,
            "features": FEATURE_SCHEMA_VERSION,
            "ranker": self.name,
        }

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by the network's softmax over the incident's entities."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        analysis: Analysis = analyse(subgraph, self.rules)
        run = self.model.run(analysis.table, analysis.graph)
        analysis.timings_ms["gnn"] = run.ms
        p = np.exp(run.logits - run.logits.max())
        result = finish(
            subgraph,
            analysis.graph,
            analysis.table,
            p / p.sum(),
            top_k,
            analysis.findings,
            self.versions,
            analysis.timings_ms,
            started,
        )
        result.embedding = run.embedding
        return result


def load_artifact(model_dir: Path | None = None, version: str | None = None) -> Artifact:
    """The active (or named) model version of a registry directory, or the shipped default."""
    if model_dir is None:
        return load(SHIPPED_DEFAULT, FEATURE_NAMES)
    registry = Registry(model_dir)
    return load(registry.path_of(version or registry.active_version()), FEATURE_NAMES)
