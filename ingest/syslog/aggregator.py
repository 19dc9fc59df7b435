"""Aggregation of classified lines into Event rows per (entity, template, time bucket), and Change rows."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ingest.syslog.buffer import Batch
from ingest.syslog.entities import EntityRef

SAMPLE_CHARS = 2000


@dataclass(slots=True)
class _Open:
    count: int
    first_ts: float
    last_ts: float
    severity: int
    signature_class: str
    sample: str


class EventAggregator:
    """Counts lines per (entity, template, bucket); ``drain`` turns them into a write batch."""

    def __init__(self, bucket_seconds: float):
        self.bucket_seconds = bucket_seconds
        self._open: dict[tuple, _Open] = {}
        self._entities: dict[tuple, EntityRef] = {}
        self._changes: dict[str, dict] = {}

    def __len__(self) -> int:
        return len(self._open)

    def has_pending(self) -> bool:
        """True when a flush would produce rows."""
        return bool(self._open or self._changes)

    def add(
        self,
        entity: EntityRef,
        template_id: str,
        ts: float,
        severity: int,
        signature_class: str,
        raw: str,
        change_type: str | None = None,
        message: str = "",
    ) -> None:
        """Count one line."""
        bucket = ts - ts % self.bucket_seconds
        key = (entity.label, entity.id, template_id, bucket)
        agg = self._open.get(key)
        if agg is None:
            self._open[key] = _Open(1, ts, ts, severity, signature_class, raw[:SAMPLE_CHARS])
            self._entities[(entity.label, entity.id)] = entity
        else:
            agg.count += 1
            if ts < agg.first_ts:
                agg.first_ts = ts
            elif ts > agg.last_ts:
                agg.last_ts = ts
            agg.severity = min(agg.severity, severity)
        if change_type:
            # Same entity, type, time and text is the same change (a resend); anything else is new.
            change_id = f"{entity.label}:{entity.id}|{change_type}|{ts:.6f}|{zlib.crc32((message or raw).encode()):08x}"
            self._changes[change_id] = {
                **_entity_fields(entity, ts, ts),
                "id": change_id,
                "at": ts,
                "change_type": change_type,
                "description": (message or raw)[:SAMPLE_CHARS],
            }

    def drain(self, template_text: Callable[[str], str]) -> Batch:
        """Every open aggregate and change as rows; the aggregator starts empty again.

        Each drain's event rows carry one fresh write token (``batch``): the graph adds a row's
        count only once per token, so a batch written again after a commit whose outcome was
        lost (the connection died during it) does not count its lines twice.
        """
        # 64 random bits: unique among the batches that ever touch one Event, and short, since an
        # Event keeps the tokens of its last 16 batches (graph_schema.cypher.events.TOKENS_KEPT)
        token = secrets.token_hex(8)
        events = []
        for (label, entity_id, template_id, bucket), agg in self._open.items():
            entity = self._entities[(label, entity_id)]
            events.append(
                {
                    **_entity_fields(entity, agg.first_ts, agg.last_ts),
                    "id": f"{label}:{entity_id}|{template_id}|{bucket:.0f}",
                    "template_id": template_id,
                    "template": template_text(template_id),
                    "bucket": bucket,
                    "bucket_seconds": self.bucket_seconds,
                    "count": agg.count,
                    "severity": agg.severity,
                    "signature_class": agg.signature_class,
                    "sample": agg.sample,
                    "batch": token,
                }
            )
        changes = list(self._changes.values())
        self._open.clear()
        self._entities.clear()
        self._changes.clear()
        return {"events": events, "changes": changes}


def _entity_fields(entity: EntityRef, first_ts: float, last_ts: float) -> dict:
    return {
        "entity_id": entity.id,
        "entity_label": str(entity.label),
        "entity_name": entity.name,
        "kind": str(entity.label).lower(),
        "first_ts": first_ts,
        "last_ts": last_ts,
    }


def merge_batches(into: Batch, batch: Batch) -> None:
    """Fold ``batch`` into ``into`` as the graph would: counts add, times widen, severity takes the worst.

    ``into`` has never been written (WriteBuffer merges only into batches no write has started on),
    so its rows keep their write tokens; rows new to it keep their own.
    """
    events = {row["id"]: row for row in into.setdefault("events", [])}
    for row in batch.get("events", ()):
        old = events.get(row["id"])
        if old is None:
            events[row["id"]] = dict(row)
            continue
        old["count"] += row["count"]
        old["first_ts"] = min(old["first_ts"], row["first_ts"])
        old["last_ts"] = max(old["last_ts"], row["last_ts"])
        old["severity"] = min(old["severity"], row["severity"])
        old["template"] = row["template"]
    into["events"] = list(events.values())
    changes = {row["id"]: row for row in into.setdefault("changes", [])}
    for row in batch.get("changes", ()):
        changes.setdefault(row["id"], row)
    into["changes"] = list(changes.values())
