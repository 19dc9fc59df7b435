"""One incident subgraph analysed once for every ranker: the propagation view, the feature table,
the rule findings and the outputs of the structural rankers (propagation consistency, random walk).

The table holds the base features (rca.rank.features) followed by the columns the rankers add:
each rule's finding strength, the strongest one (`rule_max`), `propagation_score`, `walk_score`
`log_burst` (rca.rank.log_change.log_bursts' surprise), `log_sequence` (rca.rank.log_sequence's
surprise of a broken sequence) and `hop_slowdown` (how many times its usual time the hops into the
entity take: its largest anomaly of graph_schema.model.TRACE_HOP_SIGNAL, value over baseline), the last
three read by unfitted terms of the composition.
The structural rankers read base evidence only, never another ranker's output, so when
rca.rank.ensemble composes the final score every piece of evidence enters it once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from graph_schema.model import TRACE_HOP_SIGNAL
from rca import fast
from rca.rank.features import FeatureTable, build_features
from rca.rank.graph import PropagationGraph, propagation_graph
from rca.rank.log_change import log_bursts
from rca.rank.log_sequence import broken_sequences, sequence_surprise
from rca.rank.propagation import propagation_scores
from rca.rank.rules.evaluate import RuleEngine
from rca.rank.rules.facts import build_facts
from rca.rank.rules.packs import RULES
from rca.rank.types import EngineInputError, Finding, IncidentSubgraph
from rca.rank.walk import walk_scores

RULE_COLUMNS = [f"rule_{name}" for name in RULES]
LOG_DERIVED_COLUMNS = ["log_burst", "log_sequence", "hop_slowdown"]  # read by the composition's unfitted terms
RANKER_COLUMNS = [*RULE_COLUMNS, "rule_max", "propagation_score", "walk_score", *LOG_DERIVED_COLUMNS]


@dataclass
class Analysis:
    """What every ranker reads: the subgraph's propagation view, its full table and the findings."""

    graph: PropagationGraph
    table: FeatureTable
    findings: list[Finding]
    timings_ms: dict[str, float]


def analyse(subgraph: IncidentSubgraph, rules: RuleEngine, graph: PropagationGraph | None = None) -> Analysis:
    """Features, rule findings and structural ranker outputs; caller-supplied features applied last.

    `graph` is the subgraph's propagation view when the caller keeps one (built here otherwise).
    """
    t0 = time.perf_counter()
    graph = graph or propagation_graph(subgraph)
    table = build_features(subgraph, graph)
    t1 = time.perf_counter()
    # the prefilter (rca.fast) keeps facts no rule can fire on out of durable-rules; without it, every fact goes in
    keep = rules.may_fire if fast.enabled() else None
    findings = rules.evaluate(build_facts(subgraph, table, graph, keep), subgraph.alert_time, prefiltered=True)
    t2 = time.perf_counter()
    strengths = np.zeros((len(table.node_ids), len(RULE_COLUMNS)))
    for f in findings:
        j = RULE_COLUMNS.index(f"rule_{f.rule}")
        i = table.index[f.entity_id]
        strengths[i, j] = max(strengths[i, j], f.strength)
    propagation = propagation_scores(table)
    walk = walk_scores(subgraph, graph, table.node_ids, table.column("evidence_distinct"))
    t3 = time.perf_counter()
    bursts = log_bursts(subgraph.events, subgraph.alert_time)
    burst = np.array([bursts[entity].surprise if entity in bursts else 0.0 for entity in table.node_ids])
    sequences = broken_sequences(subgraph.events, subgraph.alert_time)
    sequence = sequence_surprise(sequences, table.node_ids)
    slowdown = hop_slowdowns(subgraph, table)
    table = replace(table, log_bursts=bursts, broken_sequences=sequences).with_columns(
        RANKER_COLUMNS,
        np.column_stack([strengths, strengths.max(axis=1), propagation, walk, burst, sequence, slowdown]),
    )
    table = with_caller_features(table, subgraph)
    timings = {
        "features": (t1 - t0) * 1000,
        "rules": (t2 - t1) * 1000,
        "propagation": (t3 - t2) * 1000,
        "log_bursts": (time.perf_counter() - t3) * 1000,  # and broken sequences, with the table's last columns
    }
    return Analysis(graph, table, findings, timings)


def hop_slowdowns(subgraph: IncidentSubgraph, table: FeatureTable) -> np.ndarray:
    """Per entity, in table order: its hops' largest slowdown (an anomaly's value over its baseline) in the
    window, 1 where it has none."""
    out = np.ones(len(table.node_ids))
    for a in subgraph.anomalies:
        if a.signal == TRACE_HOP_SIGNAL and a.baseline > 0 and a.entity_id in table.index:
            row = table.index[a.entity_id]
            out[row] = max(out[row], a.value / a.baseline)
    return out


def with_caller_features(table: FeatureTable, subgraph: IncidentSubgraph) -> FeatureTable:
    """Caller-supplied feature values replace computed ones by name; unknown feature names are ignored."""
    extra = subgraph.extra_features
    if not extra:
        return table
    unknown = [n for n in extra if n not in table.index]
    if unknown:
        raise EngineInputError(f"extra features name entities not in the subgraph: {', '.join(sorted(unknown)[:5])}")
    matrix = table.matrix.copy()
    for entity, values in extra.items():
        for name, value in values.items():
            if name in table.columns:
                matrix[table.index[entity], table.columns[name]] = float(value)
    return replace(table, matrix=matrix)
