"""Ask answers for people and scripts: readable text, and the one JSON object `rca ask --json` prints."""

from __future__ import annotations

from datetime import datetime, tzinfo


def _iso(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def _entity(e) -> dict:
    return {"id": e.id, "name": e.name, "label": e.label}


def ask_json(response, tz: tzinfo) -> dict:
    """The answer as {"intent", "entities", "window", "answer", "rows", "clarify", "refused"} (times ISO 8601 in tz)."""
    window = None
    if response.HasField("window"):
        w = response.window
        window = {"start": _iso(w.start, tz), "end": _iso(w.end, tz), "source": w.source}
    return {
        "intent": response.intent,
        "entities": [_entity(e) for e in response.entities],
        "window": window,
        "answer": response.answer,
        "rows": {"columns": list(response.table.columns), "values": [list(r.values) for r in response.table.rows]},
        "clarify": [_entity(e) for e in response.clarification.candidates],
        "refused": response.refusal.reason if response.HasField("refusal") else None,
    }


def format_ask(response, tz: tzinfo, *, max_rows: int = 10) -> str:
    """The answer, its window and entities, and its table, for a terminal."""
    lines = [response.answer]
    if response.HasField("window"):
        w = response.window
        said = f' ("{w.text}")' if w.text else " (the default: the question named no time)"
        lines.append(f"window: {_iso(w.start, tz)} to {_iso(w.end, tz)}{said}")
    if response.entities:
        lines.append(
            "entities: "
            + ", ".join(f'{e.name} [{e.label}] from "{e.matched_text}" ({e.score:.0f})' for e in response.entities)
        )
    if response.HasField("refusal") and response.refusal.suggestions:
        lines.append("try: " + "; ".join(response.refusal.suggestions))
    columns = list(response.table.columns)
    if columns and response.table.rows:
        rows = [list(r.values) for r in response.table.rows[:max_rows]]
        widths = [min(48, max(len(c), *(len(r[i]) for r in rows))) for i, c in enumerate(columns)]
        lines.append("")
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip())
        for row in rows:
            lines.append("  ".join(v[: widths[i]].ljust(widths[i]) for i, v in enumerate(row)).rstrip())
        if len(response.table.rows) > max_rows:
            lines.append(f"... and {len(response.table.rows) - max_rows} more rows")
    timings = response.timings_ms
    lines.append(
        f"({response.intent}, understood by {response.understood_by}; {timings.get('total_ms', 0.0):.1f} ms"
        + (f", of which Infer {timings['infer_ms']:.1f} ms" if "infer_ms" in timings else "")
        + ")"
    )
    return "\n".join(lines)
