"""The one interface every ranker implements, and the shared way a score vector becomes a result."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import numpy as np

from rca.rank.ensemble import Composition
from rca.rank.explain import explain
from rca.rank.features import FeatureTable
from rca.rank.graph import PropagationGraph
from rca.rank.paths import PathContext, find_paths
from rca.rank.types import (
    Candidate,
    EngineInputError,
    Finding,
    IncidentSubgraph,
    RankingResult,
)

PATH_CANDIDATES = 10  # paths for up to this many top candidates (each costs well under a millisecond)


@runtime_checkable
class Ranker(Protocol):
    """Ranks the entities of an incident subgraph as root causes."""

    name: str

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """The top_k candidates with scores in [0, 1], findings, paths and explanation."""
        ...


def check_subgraph(subgraph: IncidentSubgraph, top_k: int) -> None:
    """Raise EngineInputError naming what is wrong with the input."""
    if top_k < 1:
        raise EngineInputError(f"top_k must be at least 1, got {top_k}")
    if not subgraph.nodes:
        raise EngineInputError("the subgraph holds no entities")
    for s in subgraph.symptoms:
        if s.entity_id not in subgraph.nodes:
            raise EngineInputError(f"symptom entity {s.entity_id!r} is not in the subgraph")


def order(node_ids: list[str], scores: np.ndarray) -> list[int]:
    """Indices by descending score, ties broken by entity id so results are deterministic."""
    return np.lexsort((np.array(node_ids), -np.asarray(scores, dtype=float))).tolist()


def finish(
    subgraph: IncidentSubgraph,
    graph: PropagationGraph,
    table: FeatureTable,
    scores: np.ndarray,
    top_k: int,
    findings: list[Finding],
    versions: dict[str, str],
    timings: dict[str, float],
    started: float,
    with_features: bool = False,
    composition: Composition | None = None,
) -> RankingResult:
    """Candidates, paths and explanation from one score per entity (scores already in [0, 1]); with the
    composition that made the scores, every candidate carries its breakdown."""
    t = time.perf_counter()
    ranked = order(table.node_ids, scores)[:top_k]
    candidates = [_candidate(table.node_ids[i], scores[i], r + 1, i, composition) for r, i in enumerate(ranked)]
    context = PathContext.build(subgraph, graph, table)  # shared by every candidate's search
    paths = {
        c.entity_id: find_paths(subgraph, graph, table, c.entity_id, context) for c in candidates[:PATH_CANDIDATES]
    }
    timings["paths"] = (time.perf_counter() - t) * 1000
    result = RankingResult(
        candidates=candidates,
        findings=findings,
        paths=paths,
        versions=versions,
        timings_ms=timings,
        feature_table=table if with_features else None,
    )
    result.explanation = explain(subgraph, result, context.signals)
    timings["total"] = (time.perf_counter() - started) * 1000
    return result


def _candidate(entity_id: str, score: float, rank: int, row: int, composition: Composition | None) -> Candidate:
    if composition is None:
        return Candidate(entity_id, round(float(score), 6), rank)
    breakdown = composition.breakdown(row)
    return Candidate(
        entity_id,
        round(float(score), 6),
        rank,
        tuple((n, round(v, 6)) for n, v in breakdown),
        round(float(composition.logits[row]), 6),
    )
