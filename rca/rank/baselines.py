"""Baselines the benchmark compares against, behind the same Ranker interface.

- AnomalyMagnitudeRanker (BARO / N-Sigma style): the entity with the largest metric deviation, an
  anomaly's score or a deviation under the detector's threshold.
- PageRankRanker (MicroRCA style): personalized PageRank on the anomaly-weighted graph, walking
  from effects to their possible causes, with a self-loop that keeps the walk on entities more
  anomalous than their own causes.
Both see metrics only, as the published methods do; neither reads logs, changes or rules.
"""

from __future__ import annotations

import time

import numpy as np

from rca.rank.features import SCORE_CAP, FeatureTable, build_features
from rca.rank.graph import PropagationGraph, propagation_graph
from rca.rank.ranker import check_subgraph, finish
from rca.rank.types import IncidentSubgraph, RankingResult
from rca.rank.walk import walk_scores


def _prepare(subgraph: IncidentSubgraph, top_k: int) -> tuple[PropagationGraph, FeatureTable, float]:
    started = time.perf_counter()
    check_subgraph(subgraph, top_k)
    graph = propagation_graph(subgraph)
    return graph, build_features(subgraph, graph), started


class AnomalyMagnitudeRanker:
    """Ranks entities by their largest anomaly score (BARO / N-Sigma style)."""

    name = "anomaly-magnitude"

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by deviation size, scaled so the largest is 1."""
        graph, table, started = _prepare(subgraph, top_k)
        size = np.minimum(np.maximum(table.column("anomaly_max"), table.column("deviation_max")), SCORE_CAP)
        scores = size / size.max() if size.max() > 0 else size
        return finish(subgraph, graph, table, scores, top_k, [], {"ranker": self.name}, {}, started)


class PageRankRanker:
    """Personalized PageRank on the anomaly-weighted propagation graph (MicroRCA style)."""

    name = "pagerank"

    def __init__(self, damping: float = 0.85, backward: float = 0.2, iterations: int = 60):
        self.damping, self.backward, self.iterations = damping, backward, iterations

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by stationary probability of the walk, scaled so the largest is 1."""
        graph, table, started = _prepare(subgraph, top_k)
        anomaly = np.minimum(table.column("anomaly_max") / 10.0, 1.0)
        scores = walk_scores(subgraph, graph, table.node_ids, anomaly, self.damping, self.backward, self.iterations)
        return finish(subgraph, graph, table, scores, top_k, [], {"ranker": self.name}, {}, started)
