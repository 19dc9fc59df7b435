"""Ask answers for people and scripts: readable text, and the one JSON object `rca ask --json` prints."""

from __future__ import annotations

from datetime import datetime, tzinfo


def _iso(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def _entity(e) -> dict:
    return {"id": e.id, "name": e.name, "label": e.label}


def _window_json(message, tz: tzinfo) -> dict | None:
    if not message.HasField("window"):
        return None
    w = message.window
    return {"start": _iso(w.start, tz), "end": _iso(w.end, tz), "source": w.source}


def _rows_json(message) -> dict:
    return {"columns": list(message.table.columns), "values": [list(r.values) for r in message.table.rows]}


def ask_json(response, tz: tzinfo) -> dict:
    """The answer as {"intent", "entities", "window", "answer", "rows", "clarify", "refused"} (times ISO 8601 in tz).

    A question that asks several things adds "parts": one {"text", "intent", "entities", "window", "answer",
    "rows"} each; the fields above then hold the first part's intent, window and rows (docs/ask.md).
    """
    out = {
        "intent": response.intent,
        "entities": [_entity(e) for e in response.entities],
        "window": _window_json(response, tz),
        "answer": response.answer,
        "rows": _rows_json(response),
        "clarify": [_entity(e) for e in response.clarification.candidates],
        "refused": response.refusal.reason if response.HasField("refusal") else None,
    }
    if response.parts:
        out["parts"] = [
            {
                "text": part.text,
                "intent": part.intent,
                "entities": [_entity(e) for e in part.entities],
                "window": _window_json(part, tz),
                "answer": part.answer,
                "rows": _rows_json(part),
            }
            for part in response.parts
        ]
    return out


def _window_lines(message, tz: tzinfo) -> list[str]:
    if not message.HasField("window"):
        return []
    w = message.window
    said = f' ("{w.text}")' if w.text else " (the default: the question named no time)"
    return [f"window: {_iso(w.start, tz)} to {_iso(w.end, tz)}{said}"]


def _table_lines(message, max_rows: int) -> list[str]:
    columns = list(message.table.columns)
    if not columns or not message.table.rows:
        return []
    rows = [list(r.values) for r in message.table.rows[:max_rows]]
    widths = [min(48, max(len(c), *(len(r[i]) for r in rows))) for i, c in enumerate(columns)]
    lines = ["", "  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip()]
    for row in rows:
        lines.append("  ".join(v[: widths[i]].ljust(widths[i]) for i, v in enumerate(row)).rstrip())
    if len(message.table.rows) > max_rows:
        lines.append(f"... and {len(message.table.rows) - max_rows} more rows")
    return lines


def format_ask(response, tz: tzinfo, *, max_rows: int = 10) -> str:
    """The answer, its window and entities, and its table (one section per part when it asks several things)."""
    if response.parts:
        lines = []
        for number, part in enumerate(response.parts, 1):
            lines += [f"[{number}/{len(response.parts)}] {part.intent}: {part.text}", part.answer]
            lines += _window_lines(part, tz) + _table_lines(part, max_rows) + [""]
    else:
        lines = [response.answer, *_window_lines(response, tz)]
    if response.entities:
        lines.append(
            "entities: "
            + ", ".join(f'{e.name} [{e.label}] from "{e.matched_text}" ({e.score:.0f})' for e in response.entities)
        )
    if response.HasField("refusal") and response.refusal.suggestions:
        lines.append("try: " + "; ".join(response.refusal.suggestions))
    if not response.parts:
        lines += _table_lines(response, max_rows)
    timings = response.timings_ms
    intents = " + ".join(part.intent for part in response.parts) or response.intent
    lines.append(
        f"({intents}, understood by {response.understood_by}; {timings.get('total_ms', 0.0):.1f} ms"
        + (f", of which Infer {timings['infer_ms']:.1f} ms" if "infer_ms" in timings else "")
        + ")"
    )
    return "\n".join(lines)
