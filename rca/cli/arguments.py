"""Command-line argument helpers: time values (ISO 8601, epoch seconds, now-2h) and one-line user errors."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RELATIVE = re.compile(r"^(?:now)?\s*(?:-\s*(\d+(?:\.\d+)?)\s*([smhd]))?$")


def parse_time(text: str, now: float | None = None) -> float:
    """Epoch seconds for ``text``; ValueError naming the accepted forms otherwise."""
    now = time.time() if now is None else now
    value = text.strip()
    match = _RELATIVE.match(value)
    if value and match and value.startswith(("now", "-")):
        amount, unit = match.groups()
        return now - (float(amount) * _UNITS[unit] if amount else 0.0)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: use ISO 8601 (2026-11-23T14:00:00Z), epoch seconds, or now-2h / -90m"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more (a count of things to show)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def user_error(message: str) -> int:
    """Print a one-line error about the user's input; returns exit status 2."""
    # printed rather than raised: `python -m rca.cli.main` runs main as __main__, whose UserError is another class
    print(f"rca: error: {message}", file=sys.stderr)
    return 2
