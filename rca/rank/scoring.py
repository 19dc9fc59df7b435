"""Accuracy figures of a ranker over incidents with a known root cause (the field's AC@k and Avg@5)."""

from __future__ import annotations

TOP = 5


def summarise(ranks: list[int]) -> tuple[float, float, float]:
    """AC@1, AC@3, Avg@5 of a list of 1-based ranks (0 = not ranked, or ranked below the top 5).

    AC@k is the share of incidents whose true root cause is in the top k; Avg@5 the mean of AC@1..AC@5.
    """
    n = len(ranks) or 1
    ac = [sum(1 for r in ranks if 0 < r <= k) / n for k in range(1, TOP + 1)]
    return ac[0], ac[2], sum(ac) / TOP
