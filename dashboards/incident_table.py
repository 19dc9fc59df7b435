"""The rows of the incidents list from ListIncidents summaries (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

STATUSES = ("open", "confirmed", "closed")


def status_of(summary) -> str:
    """closed once closed; else confirmed once feedback confirmed a root cause; else open."""
    if summary.closed_at:
        return "closed"
    return "confirmed" if summary.confirmed_root_cause_id else "open"


def symptoms_text(symptoms) -> str:
    """'checkout errors, payment latency'."""
    return ", ".join(f"{s.entity_name or s.entity_id} {s.family}" for s in symptoms)


def incident_rows(
    summaries: Iterable,
    names: Mapping[str, str],
    *,
    statuses: Iterable[str] = STATUSES,
    until: float | None = None,
) -> list[dict]:
    """One row per incident (newest first as given), keeping those with one of ``statuses`` created by ``until``."""
    keep = set(statuses)
    rows = []
    for s in summaries:
        status = status_of(s)
        if status not in keep or (until is not None and s.created_at > until):
            continue
        rows.append(
            {
                "time": datetime.fromtimestamp(s.created_at, tz=UTC),
                "symptoms": symptoms_text(s.symptoms),
                "top candidate": names.get(s.top_candidate_id, s.top_candidate_id),
                "score": round(float(s.top_score), 4),
                "confirmed root cause": names.get(s.confirmed_root_cause_id, s.confirmed_root_cause_id),
                "status": status,
                "incident": s.incident_id,
                "open": f"incident?id={s.incident_id}",
            }
        )
    return rows
