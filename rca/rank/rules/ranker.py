"""Ranking by the rule packs alone: the strongest finding per entity, its own evidence breaking ties."""

from __future__ import annotations

import time

import numpy as np

from rca.rank.analysis import RULE_COLUMNS, analyse
from rca.rank.ranker import check_subgraph, finish
from rca.rank.rules.evaluate import RuleEngine
from rca.rank.types import IncidentSubgraph, RankingResult


class RulesRanker:
    """Ranks by the strongest rule finding per entity (evidence breaks ties): rules alone."""

    name = "rules"

    def __init__(self, rules: RuleEngine):
        self.rules = rules

    def rank(self, subgraph: IncidentSubgraph, top_k: int) -> RankingResult:
        """Candidates by rule strength."""
        started = time.perf_counter()
        check_subgraph(subgraph, top_k)
        analysis = analyse(subgraph, self.rules)
        table = analysis.table
        scores = np.clip(
            table.matrix[:, [table.columns[c] for c in RULE_COLUMNS]].max(axis=1) + 0.01 * table.column("evidence"),
            0.0,
            1.0,
        )
        return finish(
            subgraph,
            analysis.graph,
            table,
            scores,
            top_k,
            analysis.findings,
            {"rules": self.rules.version, "ranker": self.name},
            analysis.timings_ms,
            started,
        )
