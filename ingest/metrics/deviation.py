"""Deviation peaks: how far each entity's signal families strayed per time bucket, anomaly or not.

The detector opens an :Anomaly only past its threshold, so a level shift that stays under it would
leave its entity looking healthy. Every judged point at DEVIATION_FLOOR or more (SeriesTracker.
deviations) is kept instead as the peak of its entity, family and bucket: one row per bucket where
something strayed, so noise, which rarely reaches the floor, costs little (graph_schema.model).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graph_schema.model import DEVIATION_BUCKET_S


@dataclass(frozen=True)
class DeviationPeak:
    """The largest deviation of one entity's family in one bucket, and the signal it came from."""

    entity_label: str
    entity_id: str
    family: str
    at: float  # bucket start
    peak: float
    signal: str

    @property
    def key(self) -> tuple[str, str, str, float]:
        """What identifies the bucket (one graph node)."""
        return (self.entity_label, self.entity_id, self.family, self.at)


def bucket_start(t: float) -> float:
    """Start of the bucket holding time t."""
    return float(t // DEVIATION_BUCKET_S * DEVIATION_BUCKET_S)


def peaks(
    entity_label: str, entity_id: str, family: str, signal: str, points: Iterable[tuple[float, float]]
) -> list[DeviationPeak]:
    """One peak per bucket of the (time, score) points of one series."""
    best: dict[float, float] = {}
    for t, score in points:
        at = bucket_start(t)
        if score > best.get(at, 0.0):
            best[at] = score
    return [DeviationPeak(entity_label, entity_id, family, at, round(p, 3), signal) for at, p in best.items()]


def merge_peaks(found: Iterable[DeviationPeak]) -> dict[tuple[str, str, str, float], DeviationPeak]:
    """The largest peak per entity, family and bucket (a family has several series)."""
    merged: dict[tuple[str, str, str, float], DeviationPeak] = {}
    for peak in found:
        old = merged.get(peak.key)
        if old is None or peak.peak > old.peak:
            merged[peak.key] = peak
    return merged


def deviation_row(peak: DeviationPeak) -> dict:
    """The row graph_schema.cypher.deviations.UPSERT_DEVIATION writes (its id is deterministic)."""
    return {
        "id": f"deviation:{peak.entity_label}:{peak.family}:{peak.entity_id}:{int(peak.at)}",
        "entity_id": peak.entity_id,
        "family": peak.family,
        "at": peak.at,
        "peak": peak.peak,
        "signal": peak.signal,
    }
