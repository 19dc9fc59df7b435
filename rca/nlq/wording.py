"""How answers say times, counts and lists: short, with the zone the question was asked in."""

from __future__ import annotations

from datetime import datetime, tzinfo


def when(ts: float, tz: tzinfo, now: float) -> str:
    """'14:32' on the reference day, 'Dec 5 14:32' on another day (in ``tz``)."""
    moment = datetime.fromtimestamp(ts, tz)
    if moment.date() == datetime.fromtimestamp(now, tz).date():
        return moment.strftime("%H:%M")
    return f"{moment:%b} {moment.day} {moment:%H:%M}"


def span(start: float, end: float, tz: tzinfo, now: float) -> str:
    """'between 13:42 and 14:42 UTC'."""
    return f"between {when(start, tz, now)} and {when(end, tz, now)} {zone_name(tz, now)}"


def zone_name(tz: tzinfo, now: float) -> str:
    """The zone's abbreviation at ``now`` ('UTC', 'CET')."""
    return datetime.fromtimestamp(now, tz).tzname() or str(tz)


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 change', '3 changes'."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def listing(items: list[str], limit: int = 4) -> str:
    """'a, b and c'; 'a, b, c, d and 3 more'."""
    if not items:
        return ""
    shown, rest = items[:limit], len(items) - limit
    if rest > 0:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def number(value: float | None) -> str:
    """A value to three significant figures ('5.08', '0.18', '481')."""
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def clip(text: str | None, limit: int = 90) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
