"""Propagation consistency: how well a fault at an entity explains what was seen around it.

An entity scores high when it shows evidence itself, its effects (callers, users, residents) are
anomalous too and started after it, the symptoms can be reached from it along the propagation
direction through entities that show evidence, and no anomalous cause of its own started earlier.
"""

from __future__ import annotations

import time

import numpy as np

from rca.rank.features import FeatureTable, build_features
from rca.rank.graph import propagation_graph
from rca.rank.ranker import check_subgraph, finish
from rca.rank.types import IncidentSubgraph, RankingResult

HOP_DECAY = 0.85


def propagation_scores(table: FeatureTable) -> np.ndarray:
    """One consistency score in [0, 1] per entity, in table order."""
    evidence = table.column("evidence")  # the entity's own metrics and logs: rule findings enter the score apart
    hops = table.column("symptom_hops") * 6.0
    coverage = table.column("symptom_reach") * HOP_DECAY**hops / (1.0 + table.column("path_gaps"))
    coverage = np.maximum(coverage, table.column("is_symptom"))
    spread = np.maximum(table.column("effects_anomalous"), table.column("is_symptom"))
    order = 0.5 + 0.5 * table.column("effects_later")
    explained = 1.0 - 0.7 * table.column("causes_earlier")
    return np.clip(evidence * (0.2 + 0.8 * coverage) * (0.4 + 0.6 * spread) * order * explained, 0.0, 1.0)


class PropagationRanker:
    """Ranks by propagation consistency alone (no rules, no learned weights)."""

    name = "propagation"

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by propagation consistency."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        graph = propagation_graph(subgraph)
        table = build_features(subgraph, graph)
        timings = {"features": (time.perf_counter() - started) * 1000}
        scores = propagation_scores(table)
        return finish(subgraph, graph, table, scores, top_k, [], {"ranker": self.name}, timings, started)
