"""Serving the GNN: the combined engine (GNN + rules + propagation) and the GNN-only ranker.

Both implement the engine's Ranker interface over the same analysed subgraph, so the service
and the benchmark call them like every other ranker. Inference runs under torch.inference_mode
(where the attention layers take their compiled loop, rca.fast.gnn_attention); the per-candidate
attribution takes the gradient of the top candidates' scores only, written out in numpy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rca.rank.combined import (
    RULE_COLUMNS,
    Weights,
    _override,
    _with_extra_features,
    analyse,
    load_weights,
)
from rca.rank.features import BASE_FEATURES, FEATURE_SCHEMA_VERSION
from rca.rank.ranker import PATH_CANDIDATES, check_subgraph, finish, order
from rca.rank.types import IncidentSubgraph, RankingResult
from rca.rank.gnn.artifact import SHIPPED_DEFAULT, Artifact, Registry, load
from rca.rank.gnn.attribution import (
    LocalScorer,
    attribution_findings,
    attribution_sentence,
    gradient_attribution,
)
from rca.rank.gnn.combine import TERMS, combined_logits, terms
from rca.rank.gnn.data import graph_edges
from rca.rank.gnn.model import embedding
from rca.rank.rules.evaluate import RuleEngine, default_rule_engine

log = logging.getLogger(__name__)
FEATURE_NAMES = [*BASE_FEATURES, *RULE_COLUMNS, "rule_max", "propagation_score", "walk_score"]


@dataclass
class ModelRankingResult(RankingResult):
    """A ranking that also carries the incident's embedding (for similar past incidents)."""

    embedding: list[float] = field(default_factory=list)


class _ModelRanker:
    """Shared part: analyse the subgraph, run the network, keep states for the embedding."""

    name = "gnn"

    def __init__(self, artifact: Artifact, rules: RuleEngine | None = None):
        self.artifact = artifact
        self.model = artifact.model()
        self.rules = rules or default_rule_engine()
        self.cols = None

    def _forward(self, subgraph: IncidentSubgraph):
        graph, table, findings, timings = analyse(subgraph, self.rules)
        table = _override(table, subgraph.extra_features)
        if self.cols is None:  # the artifact's column order, checked against what the code built
            missing = [n for n in self.artifact.feature_names if n not in table.columns]
            if missing:
                raise ValueError(f"model {self.artifact.version} needs features this code does not build: {missing[:5]}")
            self.cols = [table.columns[n] for n in self.artifact.feature_names]
        t = time.perf_counter()
        x = torch.from_numpy(table.matrix[:, self.cols].astype(np.float32))
        edges = {r: torch.from_numpy(e) for r, e in graph_edges(graph).items()}
        messages: list = []
        with torch.inference_mode():
            states = self.model.states(x, edges, messages) if self.artifact.kind == "gnn" else self.model.states(x)
            logits = self.model.readout(states)
            vector = embedding(states, logits)
        timings["gnn"] = (time.perf_counter() - t) * 1000
        return graph, table, findings, timings, x, messages, logits.numpy().astype(np.float64), vector

    @property
    def versions(self) -> dict[str, str]:
        """Versions of the rules, the model and the feature schema."""
        return {"rules": self.rules.version, "model": self.artifact.version, "features": FEATURE_SCHEMA_VERSION,
                "ranker": self.name}


class GnnRanker(_ModelRanker):
    """The network's own ranking (the GNN-only row of the benchmark; DiagMLP with an MLP artifact)."""

    def __init__(self, artifact: Artifact, rules: RuleEngine | None = None, name: str | None = None):
        super().__init__(artifact, rules)
        self.name = name or ("gnn" if artifact.kind == "gnn" else "diag-mlp")

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by the network's softmax over the incident's entities."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        graph, table, findings, timings, _, _, logits, _ = self._forward(subgraph)
        p = np.exp(logits - logits.max())
        return finish(subgraph, graph, table, p / p.sum(), top_k, findings, self.versions, timings, started)


class GnnEngine(_ModelRanker):
    """GNN scores, rule findings and propagation consistency combined (the service's engine)."""

    name = "engine"

    def __init__(self, artifact: Artifact, rules: RuleEngine | None = None, base: Weights | None = None,
                 attribute: bool = True):
        super().__init__(artifact, rules)
        self.base = base or load_weights()
        if list(artifact.combination.get("names", [])) != list(TERMS):
            raise ValueError(f"model {artifact.version} carries no combination for the terms {TERMS}; retrain it")
        self.weights = np.array(artifact.combination["weights"])
        self.attribute = attribute
        self.local_scorer = LocalScorer.of(self.model) if attribute else None
        if artifact.combination.get("base_weights") != self.base.version:
            log.warning("model %s was combined with engine weights %s, the engine now has %s; retrain with `rca train`",
                        artifact.version, artifact.combination.get("base_weights"), self.base.version)

    @property
    def versions(self) -> dict[str, str]:
        """Versions of rules, model (its artifact holds the fitted combination), feature schema, engine weights."""
        return {**super().versions, "engine_weights": self.base.version}

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates with combined calibrated scores, findings, paths, attribution and embedding."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        subgraph = _with_extra_features(subgraph)
        graph, table, findings, timings, x, messages, logits, vector = self._forward(subgraph)
        t = terms(logits, table.matrix, table.names, self.base)
        z = combined_logits(t, self.weights)
        p = np.exp(z - z.max())
        scores = p / p.sum()
        contributions: dict[str, list[tuple[str, float]]] = {}
        if self.attribute:
            a0 = time.perf_counter()
            top_rows = order(table.node_ids, scores)[:min(top_k, PATH_CANDIDATES)]
            grads = gradient_attribution(self.local_scorer, x, messages, top_rows, self.artifact.feature_names)
            mean_t = t.mean(axis=0)
            for row in top_rows:
                # the GNN's drivers scaled by its weight, next to the combination's own linear terms
                items = [(n, v * self.weights[0]) for n, v in grads[row]]
                items += [(name, float(self.weights[j] * (t[row, j] - mean_t[j])))
                          for j, name in enumerate(TERMS) if name in ("rule_max", "engine_logit")]
                contributions[table.node_ids[row]] = sorted(items, key=lambda nv: -abs(nv[1]))
            findings = findings + attribution_findings(list(contributions), contributions, subgraph.alert_time)
            timings["attribution"] = (time.perf_counter() - a0) * 1000
        result = finish(subgraph, graph, table, scores, top_k, findings, self.versions, timings, started,
                        with_features=True)
        if contributions and result.candidates:
            top = result.candidates[0].entity_id
            sentence = attribution_sentence(subgraph.nodes[top].name, contributions.get(top, []))
            result.explanation = f"{result.explanation} {sentence}".strip()
        return ModelRankingResult(**result.__dict__, embedding=[round(v, 6) for v in vector.tolist()])  # tolist: no per-element tensors


def load_engine(model_dir: Path | None = None, version: str | None = None, threads: int = 1) -> GnnEngine:
    """The combined engine with the active (or named) model version; torch threads set for latency."""
    torch.set_num_threads(threads)
    if model_dir is None:
        artifact = load(SHIPPED_DEFAULT, FEATURE_NAMES)
    else:
        registry = Registry(model_dir)
        artifact = load(registry.path_of(version or registry.active_version()), FEATURE_NAMES)
    return GnnEngine(artifact)
