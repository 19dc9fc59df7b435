"""Writes anomaly changes and coverage to the graph, keeping unwritten ones for the next try on an outage."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from graph_schema.coverage import CoverageSpan, coverage_rows, merge_spans, write_coverage_in
from graph_schema.cypher import anomalies as cypher
from graph_schema.model import Label
from graph_schema.store import write_rows_in
from ingest.metrics.anomaly_detector import Baseline
from ingest.metrics.anomaly_tracker import AnomalyChange, OpenAnomaly

log = logging.getLogger(__name__)


class AnomalyWriter:
    """Buffers anomaly rows by id (latest wins) and flushes them in UNWIND batches."""

    def __init__(self, store, source: str = "metrics"):
        self.store = store
        self.source = source
        self._pending: dict[str, tuple[Label, dict]] = {}
        self._coverage: list[CoverageSpan] = []  # merged per entity and family

    @property
    def pending(self) -> int:
        """Rows waiting for the graph."""
        return len(self._pending)

    def add(
        self, change: AnomalyChange, *, label: Label, entity_id: str, signal: str, family: str, seen: float
    ) -> None:
        """Queue one change (an update of an id already queued replaces it)."""
        model = change.model
        self._pending[change.id] = (
            label,
            {
                "id": change.id,
                "entity_id": entity_id,
                "entity_label": str(label),
                "entity_kind": label.lower(),
                "signal": signal,
                "family": family,
                "onset": change.onset,
                "last_ts": change.last_ts,
                "end": change.end,
                "status": change.state,
                "direction": change.direction,
                "score": round(change.score, 3),
                "value": change.value,
                "baseline": change.baseline,
                "seen": seen,
                "baseline_t0": model.t0,
                "baseline_level": model.level,
                "baseline_slope": model.slope,
                "baseline_scale": model.scale,
                "baseline_horizon_s": model.horizon_s,
            },
        )

    def add_coverage(self, spans: Iterable[CoverageSpan]) -> None:
        """Queue what a poll judged (entity, family, span); spans of one entity and family merge."""
        self._coverage = merge_spans([*self._coverage, *spans])

    @property
    def pending_coverage(self) -> int:
        """Coverage rows waiting for the graph."""
        return len(self._coverage)

    def flush(self) -> int:
        """Write every queued row (anomalies, then coverage); on failure they stay queued and the error propagates.

        Returns the anomaly rows written.
        """
        by_label: dict[Label, list[dict]] = {}
        for label, row in self._pending.values():
            by_label.setdefault(label, []).append(row)
        written = 0
        for label, rows in by_label.items():
            written += _write(self.store, cypher.UPSERT_ANOMALIES[label], rows, self.source)
            for row in rows:
                self._pending.pop(row["id"], None)
        if self._coverage:
            rows_by_label = coverage_rows(self._coverage)
            store = self.store
            store.transaction(lambda tx: write_coverage_in(tx, rows_by_label, store.batch_size, self.source))
            self._coverage = []
        return written

    def open_anomalies(self) -> list[tuple[tuple[str, str, str], OpenAnomaly]]:
        """Open anomalies of this source in the graph, as tracker state keyed (label, entity id, signal)."""
        out = []
        for row in self.store.read(cypher.OPEN_ANOMALIES, source=self.source):
            if row["baseline_scale"] is None:
                continue
            model = Baseline(
                row["baseline_t0"],
                row["baseline_level"],
                row["baseline_slope"],
                row["baseline_scale"],
                row["baseline_horizon_s"],
            )
            out.append(
                (
                    (row["entity_label"], row["entity_id"], row["signal"]),
                    OpenAnomaly(
                        id=row["id"],
                        onset=row["onset"],
                        direction=row["direction"],
                        baseline=model,
                        last_ts=row["last_ts"],
                        score=row["score"],
                        value=row["value"],
                        expected=row["baseline"],
                    ),
                )
            )
        return out


def _write(store, statement: str, rows: list[dict], source: str) -> int:
    return store.transaction(lambda tx: write_rows_in(tx, statement, rows, store.batch_size, source=source))
