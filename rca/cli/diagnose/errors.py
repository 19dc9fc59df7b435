"""The one error of a case folder, and the time parser every part of it shares."""

from __future__ import annotations

import datetime as dt
import math


class CaseError(ValueError):
    """A case folder that cannot be diagnosed; the message names the file, line and column or field."""


def parse_time(value, where: str) -> float:
    """Unix seconds (number or numeric text) or ISO 8601 (a naive time is UTC) as epoch seconds."""
    if isinstance(value, bool):
        raise CaseError(f"{where}: expected a time (unix seconds or ISO 8601), got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, dt.datetime):
        seconds = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise CaseError(f"{where}: {value!r} is neither unix seconds nor an ISO 8601 time") from None
            seconds = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    else:
        raise CaseError(f"{where}: expected a time (unix seconds or ISO 8601), got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise CaseError(f"{where}: {value!r} is not a valid time")
    return seconds


def finite_number(text: str, where: str) -> float:
    """A cell's number; CaseError naming ``where`` (file:line:column) when it is none or not finite."""
    try:
        value = float(text)
    except ValueError:
        raise CaseError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CaseError(f"{where}: {text!r} is not a finite number")
    return value
