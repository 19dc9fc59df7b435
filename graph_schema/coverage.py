"""Coverage rows (what is monitored) in the shape graph_schema.cypher.coverage writes, and their write."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from graph_schema.cypher import coverage as cypher
from graph_schema.model import COVERAGE_FAMILIES, ENTITY_LABELS, Label
from graph_schema.store import write_rows_in


@dataclass(frozen=True)
class CoverageSpan:
    """One entity observed for one family between two times (epoch s), and for how long after."""

    entity_label: str
    entity_id: str
    family: str
    first_seen: float
    last_seen: float
    holds_s: float = 0.0  # how long after last_seen silence is expected (a scrape step, a poll, a quiet log)


def coverage_id(entity_label: str, entity_id: str, family: str) -> str:
    """Deterministic id of an entity's coverage for one family."""
    return f"coverage:{entity_label}:{family}:{entity_id}"


def merge_spans(spans: Iterable[CoverageSpan]) -> list[CoverageSpan]:
    """One span per (entity, family): the earliest first_seen and the latest last_seen."""
    merged: dict[tuple[str, str, str], CoverageSpan] = {}
    for span in spans:
        key = (span.entity_label, span.entity_id, span.family)
        old = merged.get(key)
        if old is not None:
            span = CoverageSpan(
                *key,
                min(old.first_seen, span.first_seen),
                max(old.last_seen, span.last_seen),
                max(old.holds_s, span.holds_s),
            )
        merged[key] = span
    return list(merged.values())


def coverage_rows(spans: Iterable[CoverageSpan]) -> dict[Label, list[dict]]:
    """Rows per entity label for UPSERT_COVERAGE; a label or family the model does not have is a ValueError."""
    by_label: dict[Label, list[dict]] = defaultdict(list)
    for span in merge_spans(spans):
        if span.entity_label not in ENTITY_LABELS:
            raise ValueError(f"coverage: {span.entity_label!r} is not an entity label")
        if span.family not in COVERAGE_FAMILIES:
            raise ValueError(
                f"coverage: unknown family {span.family!r}; expected one of {', '.join(COVERAGE_FAMILIES)}"
            )
        by_label[Label(span.entity_label)].append(
            {
                "id": coverage_id(span.entity_label, span.entity_id, span.family),
                "entity_id": span.entity_id,
                "family": span.family,
                "first_seen": float(span.first_seen),
                "last_seen": float(span.last_seen),
                "holds_s": float(span.holds_s),
            }
        )
    return dict(by_label)


def write_coverage_in(tx, rows: dict[Label, list[dict]], batch_size: int, source: str) -> int:
    """Write coverage rows inside the caller's transaction; returns how many rows were sent."""
    return sum(
        write_rows_in(tx, cypher.UPSERT_COVERAGE[label], batch, batch_size, source=source)
        for label, batch in rows.items()
    )


def write_coverage(store, spans: Iterable[CoverageSpan], *, source: str) -> int:
    """Write coverage spans in one transaction; returns how many rows were sent."""
    rows = coverage_rows(spans)
    if not rows:
        return 0
    return store.transaction(lambda tx: write_coverage_in(tx, rows, store.batch_size, source))
