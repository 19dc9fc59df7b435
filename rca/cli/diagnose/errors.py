"""The one error of a case folder, and the time parser every part of it shares."""

from __future__ import annotations

import datetime as dt
import math

# Unix time in ms, us or ns read as seconds would land tens of thousands of years ahead, far from the
# alert, and the case would be diagnosed without its metrics and without a word. Each unit lands in
# 1973-2286 for a plausible time, so the magnitude tells them apart (unix_seconds).
EPOCH_UNITS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3))  # (from this magnitude, units per second)
LATEST_SECONDS = 1e11  # year 5138: anything later is no time an export holds


class CaseError(ValueError):
    """A case folder that cannot be diagnosed; the message names the file, line and column or field."""


def parse_time(value, where: str) -> float:
    """Unix time (number or numeric text; s, ms, us or ns told apart by magnitude) or ISO 8601 (a naive
    time is UTC) as epoch seconds."""
    if isinstance(value, bool):
        raise CaseError(f"{where}: expected a time (unix seconds or ISO 8601), got {value!r}")
    if isinstance(value, (int, float)):
        try:
            seconds = unix_seconds(float(value))
        except OverflowError:  # a YAML integer too large for a float: refused below as any other
            seconds = math.inf
    elif isinstance(value, dt.datetime):
        seconds = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = unix_seconds(float(text))
        except ValueError:
            try:
                when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise CaseError(f"{where}: {value!r} is neither unix seconds nor an ISO 8601 time") from None
            seconds = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    else:
        raise CaseError(f"{where}: expected a time (unix seconds or ISO 8601), got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or seconds >= LATEST_SECONDS:
        raise CaseError(f"{where}: {value!r} is not a valid time")
    return seconds


def unix_seconds(number: float) -> float:
    """Unix time in s, ms, us or ns (told apart by magnitude: any of them lands in 1973-2286) as seconds."""
    for magnitude, per_second in EPOCH_UNITS:
        if number >= magnitude:
            return number / per_second
    return number


def finite_number(text: str, where: str) -> float:
    """A cell's number; CaseError naming ``where`` (file:line:column) when it is none or not finite."""
    try:
        value = float(text)
    except ValueError:
        raise CaseError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CaseError(f"{where}: {text!r} is not a finite number")
    return value
