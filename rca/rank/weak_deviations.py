"""Deviations under the detector's threshold, summarised for people: one line per entity and family.

A family that has an anomaly says so through it; here only the families that strayed clearly
(WEAK_DEVIATION or more) without one, with when they first did and how far at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from rca.rank.features import WEAK_DEVIATION
from rca.rank.types import IncidentSubgraph


@dataclass(frozen=True)
class WeakDeviation:
    """One entity's family that deviated under the anomaly threshold."""

    entity_id: str
    family: str
    first_at: float  # first bucket at WEAK_DEVIATION or more
    peak: float

    @property
    def text(self) -> str:
        """The evidence line."""
        return f"{self.family} strayed from its baseline (robust z up to {self.peak:.1f}, under the anomaly threshold)"


def weak_deviations(subgraph: IncidentSubgraph) -> list[WeakDeviation]:
    """Per entity and family without an anomaly, its clear deviations, in time order."""
    anomalous = {(a.entity_id, a.family) for a in subgraph.anomalies}
    found: dict[tuple[str, str], WeakDeviation] = {}
    for d in subgraph.deviations:
        key = (d.entity_id, d.family)
        if d.peak < WEAK_DEVIATION or key in anomalous:
            continue
        old = found.get(key)
        found[key] = WeakDeviation(
            d.entity_id, d.family, min(d.at, old.first_at) if old else d.at, max(d.peak, old.peak) if old else d.peak
        )
    return sorted(found.values(), key=lambda w: (w.first_at, w.entity_id, w.family))
