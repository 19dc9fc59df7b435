"""The engine: features, rule findings and propagation consistency combined into one calibrated score.

The combination is a conditional logit: score(entity) = softmax over the incident's entities of
w . x(entity), where x holds the base features, each rule's finding strength and the propagation
consistency score. w is fitted once on a validation split of simulator incidents (see
rca/training/calibrate.py), never per case, and shipped in weights.json together with the feature
schema it was fitted on; the softmax output is the probability that the entity is the root cause.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rca.rank.features import FEATURE_SCHEMA_VERSION, FeatureTable, build_features
from rca.rank.graph import PropagationGraph, propagation_graph
from rca.rank.propagation import propagation_scores
from rca.rank.ranker import check_subgraph, finish
from rca.rank.types import Finding, IncidentSubgraph, RankingResult
from rca.rank.walk import walk_scores
from rca.rank.rules.evaluate import RuleEngine, default_rule_engine
from rca.rank.rules.facts import build_facts
from rca.rank.rules.packs import RULES

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
RULE_COLUMNS = [f"rule_{name}" for name in RULES]


@dataclass(frozen=True)
class Weights:
    """Fitted combination weights, by feature name, and what they were fitted on."""

    version: str
    feature_schema_version: str
    names: tuple[str, ...]
    values: np.ndarray


def load_weights(path: Path = WEIGHTS_FILE) -> Weights:
    """Read weights.json; raise ValueError when it does not fit this feature schema."""
    data = json.loads(path.read_text())
    if data["feature_schema_version"] != FEATURE_SCHEMA_VERSION:
        raise ValueError(f"{path} was fitted on feature schema {data['feature_schema_version']}, "
                         f"this code builds {FEATURE_SCHEMA_VERSION}; re-run python -m rca.training.calibrate")
    return Weights(data["version"], data["feature_schema_version"], tuple(data["names"]), np.array(data["weights"]))


def analyse(subgraph: IncidentSubgraph, rules: RuleEngine) -> tuple[PropagationGraph, FeatureTable, list[Finding], dict[str, float]]:
    """Graph, full feature table (base + rule strengths + propagation score), findings and timings."""
    t0 = time.perf_counter()
    graph = propagation_graph(subgraph)
    table = build_features(subgraph, graph)
    t1 = time.perf_counter()
    findings = rules.evaluate(build_facts(subgraph, table, graph, rules.may_fire), subgraph.alert_time, prefiltered=True)
    t2 = time.perf_counter()
    strengths = np.zeros((len(table.node_ids), len(RULE_COLUMNS)))
    for f in findings:
        j = RULE_COLUMNS.index(f"rule_{f.rule}")
        i = table.index[f.entity_id]
        strengths[i, j] = max(strengths[i, j], f.strength)
    table = table.with_columns(RULE_COLUMNS + ["rule_max"], np.hstack([strengths, strengths.max(axis=1, keepdims=True)]))
    propagation = propagation_scores(table)
    # The walk runs on all evidence (metrics, logs, rule findings), not on metric anomalies alone.
    walk = walk_scores(subgraph, graph, table.node_ids, np.maximum(table.column("evidence"), table.column("rule_max")))
    table = table.with_columns(["propagation_score", "walk_score"], np.column_stack([propagation, walk]))
    timings = {"features": (t1 - t0) * 1000, "rules": (t2 - t1) * 1000, "propagation": (time.perf_counter() - t2) * 1000}
    return graph, table, findings, timings


def softmax_scores(table: FeatureTable, weights: Weights) -> np.ndarray:
    """The calibrated probability of each entity being the root cause."""
    cols = [table.columns[n] for n in weights.names]
    logits = table.matrix[:, cols] @ weights.values
    logits -= logits.max()
    p = np.exp(logits)
    return p / p.sum()


class Engine:
    """Rules + propagation consistency, combined by fitted weights (the service's ranker)."""

    name = "engine"

    def __init__(self, rules: RuleEngine, weights: Weights):
        self.rules, self.weights = rules, weights

    @property
    def versions(self) -> dict[str, str]:
        """Versions of the rules, the combination weights and the feature schema."""
        return {"rules": self.rules.version, "model": self.weights.version, "features": FEATURE_SCHEMA_VERSION,
                "ranker": self.name}

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates with calibrated scores, rule findings, paths, explanation; feature snapshot included."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        subgraph = _with_extra_features(subgraph)
        graph, table, findings, timings = analyse(subgraph, self.rules)
        table = _override(table, subgraph.extra_features)
        scores = softmax_scores(table, self.weights)
        return finish(subgraph, graph, table, scores, top_k, findings, self.versions, timings, started,
                      with_features=True)


class RulesRanker:
    """Ranks by the strongest rule finding per entity (evidence breaks ties): rules alone."""

    name = "rules"

    def __init__(self, rules: RuleEngine):
        self.rules = rules

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by rule strength."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        graph, table, findings, timings = analyse(subgraph, self.rules)
        scores = np.clip(table.matrix[:, [table.columns[c] for c in RULE_COLUMNS]].max(axis=1)
                         + 0.01 * table.column("evidence"), 0.0, 1.0)
        return finish(subgraph, graph, table, scores, top_k, findings,
                      {"rules": self.rules.version, "ranker": self.name}, timings, started)


def _with_extra_features(subgraph: IncidentSubgraph) -> IncidentSubgraph:
    unknown = [n for n in subgraph.extra_features if n not in subgraph.nodes]
    if unknown:
        from rca.rank.types import EngineInputError
        raise EngineInputError(f"extra features name entities not in the subgraph: {', '.join(sorted(unknown)[:5])}")
    return subgraph


def _override(table: FeatureTable, extra: dict[str, dict[str, float]]) -> FeatureTable:
    """Caller-supplied feature values replace computed ones by name; unknown names are ignored."""
    if not extra:
        return table
    matrix = table.matrix.copy()
    for entity, values in extra.items():
        for name, value in values.items():
            if name in table.columns:
                matrix[table.index[entity], table.columns[name]] = float(value)
    return FeatureTable(table.node_ids, table.names, matrix, table.version, table.onsets)


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine with the bundled rule thresholds and fitted weights (shared; rank() is thread-safe)."""
    return Engine(default_rule_engine(), load_weights())
