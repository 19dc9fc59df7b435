"""Writes anomaly changes and coverage to the graph, keeping unwritten ones for the next try on an outage."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from graph_schema.coverage import CoverageSpan, coverage_rows, merge_spans, write_coverage_in
from graph_schema.cypher import anomalies as cypher
from graph_schema.cypher.deviations import UPSERT_DEVIATION
from graph_schema.model import Label
from graph_schema.store import write_rows_in
from ingest.metrics.anomaly_detector import Baseline
from ingest.metrics.anomaly_tracker import AnomalyChange, OpenAnomaly
from ingest.metrics.deviation import DeviationPeak, deviation_row, merge_peaks

log = logging.getLogger(__name__)
# A coverage span already in the graph is written again only when it moved on this much (or
# restarted, or began earlier): every poll would cost ArcadeDB ~2.5 s per 8000 spans (2000
# entities), every fifth minute costs a tenth of it. The span counts that much longer (holds_s).
COVERAGE_WRITE_EVERY_S = 300.0


class AnomalyWriter:
    """Buffers anomaly rows by id (latest wins) and flushes them in UNWIND batches."""

    def __init__(self, store, source: str = "metrics"):
        self.store = store
        self.source = source
        self._pending: dict[str, tuple[Label, dict]] = {}
        self._coverage: list[CoverageSpan] = []  # merged per entity and family
        self._covered: dict[tuple[str, str, str], CoverageSpan] = {}  # what the graph holds (as written)
        self._deviations: dict[tuple[str, str, str, float], DeviationPeak] = {}  # the largest per bucket

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
        """Queue what a poll judged (entity, family, span); spans of one entity and family merge.

        A span is queued only when the graph's copy needs it: new, begun earlier, restarted after a
        pause longer than its holds, or COVERAGE_WRITE_EVERY_S beyond what was written.
        """
        due = []
        for span in spans:
            span = replace(span, holds_s=span.holds_s + COVERAGE_WRITE_EVERY_S)
            written = self._covered.get((span.entity_label, span.entity_id, span.family))
            if (
                written is None
                or span.first_seen < written.first_seen
                or span.first_seen > written.last_seen + written.holds_s
                or span.last_seen >= written.last_seen + COVERAGE_WRITE_EVERY_S
                or span.holds_s > written.holds_s
            ):
                due.append(span)
        self._coverage = merge_spans([*self._coverage, *due])

    def add_deviations(self, peaks: Iterable[DeviationPeak]) -> None:
        """Queue deviation peaks; peaks of one bucket merge to the largest."""
        self._deviations = merge_peaks([*self._deviations.values(), *peaks])

    @property
    def pending_coverage(self) -> int:
        """Coverage rows waiting for the graph."""
        return len(self._coverage)

    def flush(self) -> int:
        """Write every queued row (anomalies, deviations, then coverage); on failure they stay queued and the
        error propagates.

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
        if self._deviations:
            deviations: dict[Label, list[dict]] = {}
            for peak in self._deviations.values():
                deviations.setdefault(Label(peak.entity_label), []).append(deviation_row(peak))
            for label, rows in deviations.items():
                _write(self.store, UPSERT_DEVIATION[label], rows, self.source)
            self._deviations = {}
        if self._coverage:
            rows_by_label = coverage_rows(self._coverage)
            store = self.store
            store.transaction(lambda tx: write_coverage_in(tx, rows_by_label, store.batch_size, self.source))
            for span in self._coverage:
                key = (span.entity_label, span.entity_id, span.family)
                self._covered[key] = merge_spans([*filter(None, [self._covered.get(key)]), span])[0]
            self._coverage = []
        return written

    def open_anomalies(self) -> list[tuple[tuple[str, str, str], OpenAnomaly]]:
        """Open anomalies of this source in the graph, as tracker state keyed (label, entity id, signal)."""
        out = []
        for row in self.store.read(cypher.OPEN_ANOMALIES, source=self.source):
            if row["baseline_scale"] is None:
                continue
            # stored without the range the reference window held: the restored line is not clamped
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
