"""Syslog line parser: RFC 5424, RFC 3164 / BSD and its common deviations, never raising.

The common forms go through a fast path (string splits for RFC 5424, one precompiled regex for
BSD lines, cached timestamp conversion); anything that fits no format becomes an ``unparsed``
record carrying its raw text, so a caller can count it and keep it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

RFC5424 = "rfc5424"
RFC3164 = "rfc3164"
UNPARSED = "unparsed"
FORMATS = (RFC5424, RFC3164, UNPARSED)

# RFC 3164 4.3.3: a relay that receives a line without PRI treats it as user.notice.
DEFAULT_PRI = 13
_NIL = "-"
_BOM = "\ufeff"
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_CACHE_LIMIT = 4096


@dataclass(slots=True)
class SyslogRecord:
    """One syslog line, parsed as far as its format allows."""

    format: str
    raw: str
    message: str
    facility: int | None = None
    severity: int | None = None
    timestamp: float | None = None
    hostname: str | None = None
    app_name: str | None = None
    proc_id: str | None = None
    msg_id: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)


# BSD header: optional PRI, Cisco sequence number and host prefix, a BSD or ISO timestamp
# (optionally with year, milliseconds, zone), an optional hostname, a busybox facility.level,
# then TAG[PID]: MSG. A hostname never ends with ':' nor holds brackets, which keeps
# journald-forwarded lines (no hostname, "systemd[1]: ...") from losing their tag.
_BSD = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?"
    r"(?:\d+: )?(?:(?P<chost>[A-Za-z][\w.-]*): )?[*.]?"
    r"(?:(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(?P<day>\d{1,2})"
    r"(?: (?P<year>\d{4}))? (?P<time>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?(?: (?P<tz>[A-Z]{3,5}))?"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?)):? +"
    r"(?:(?P<host>[^\s\[\]]*[^\s\[\]:])(?: :)? +)?"
    r"(?:(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])"
    r"\.(?:emerg|alert|crit|err|error|warn|warning|notice|info|debug) )?"
    r"(?:-- )?(?:(?P<tag>[^\s\[\]:]+(?: v?\d[\d.]*)?)(?:\[(?P<pid>[^\]\s]*)\])?: ?)?"
    r"(?P<msg>.*)",
    re.DOTALL,
)
_ZONES = {"UTC": UTC, "GMT": UTC, "Z": UTC}


class SyslogParser:
    """Parses lines; BSD timestamps without zone are read in ``default_tz``."""

    def __init__(self, default_tz: tzinfo = UTC, now: float | None = None):
        self.default_tz = default_tz
        self._now = now
        self._bsd_ts_cache: dict[tuple, float] = {}
        self._iso_cache: dict[str, float | None] = {}

    # -- public -------------------------------------------------------------------------------

    def parse_bytes(self, data: bytes) -> SyslogRecord:
        """Parse raw bytes; invalid UTF-8 is replaced, never raised."""
        return self.parse(data.decode("utf-8", errors="replace"))

    def parse(self, line: str) -> SyslogRecord:
        """Parse one line (without its trailing newline) into a record; never raises."""
        line = line.rstrip("\r\n\x00")
        try:
            if line.startswith("<"):
                close = line.find(">", 1, 5)
                if close > 1 and line[close + 1 : close + 3] == "1 ":
                    record = self._parse_5424(line, close)
                    if record is not None:
                        return record
            record = self._parse_bsd(line)
            if record is not None:
                return record
        except (ValueError, OverflowError, IndexError):
            pass  # fall through: a line that trips a converter is still kept, as unparsed
        return SyslogRecord(UNPARSED, line, line.strip())

    # -- RFC 5424 -----------------------------------------------------------------------------

    def _parse_5424(self, line: str, close: int) -> SyslogRecord | None:
        pri = _pri(line[1:close])
        if pri is None:
            return None
        parts = line[close + 3 :].split(" ", 5)
        if len(parts) < 5:
            return None
        if len(parts) == 5:
            parts.append("")
        ts_text, host, app, procid, msgid, rest = parts
        timestamp = None if ts_text == _NIL else self._iso(ts_text)
        if timestamp is None and ts_text != _NIL:
            return None
        if rest.startswith(_NIL) and (len(rest) == 1 or rest[1] == " "):
            sd: dict[str, dict[str, str]] = {}
            msg = rest[2:]
        elif rest.startswith("["):
            parsed = _structured_data(rest)
            if parsed is None:
                return None
            sd, end = parsed
            msg = rest[end + 1 :] if end < len(rest) and rest[end] == " " else rest[end:]
        elif rest == "":
            sd, msg = {}, ""
        else:
            return None
        if msg.startswith(_BOM):
            msg = msg[1:]
        return SyslogRecord(
            RFC5424,
            line,
            msg,
            facility=pri >> 3,
            severity=pri & 7,
            timestamp=timestamp,
            hostname=None if host == _NIL else host,
            app_name=None if app == _NIL else app,
            proc_id=None if procid == _NIL else procid,
            msg_id=None if msgid == _NIL else msgid,
            structured_data=sd,
        )

    # -- RFC 3164 / BSD -----------------------------------------------------------------------

    def _parse_bsd(self, line: str) -> SyslogRecord | None:
        m = _BSD.match(line)
        if m is None:
            return None
        # One groups() call instead of a dozen group() calls: this is the hot path.
        pri_text, chost, mon, day, year, hms, frac, zone, iso, host, tag, pid, msg = m.groups()
        pri = DEFAULT_PRI if pri_text is None else _pri(pri_text)
        if pri is None:
            return None
        if iso:
            timestamp = self._iso(iso)
            if timestamp is None:
                return None
        else:
            key = (mon, day, year, hms, zone)
            timestamp = self._bsd_ts_cache.get(key)
            if timestamp is None:
                timestamp = self._bsd_base(*key)
                if len(self._bsd_ts_cache) >= _CACHE_LIMIT:
                    self._bsd_ts_cache.clear()
                self._bsd_ts_cache[key] = timestamp
            if frac:
                timestamp += float(frac)
        host = host or chost
        if tag is None and host is None and " " not in msg.strip():
            return None  # a timestamp followed by one word is not a syslog line worth trusting
        return SyslogRecord(
            RFC3164,
            line,
            msg.rstrip(),
            facility=pri >> 3,
            severity=pri & 7,
            timestamp=timestamp,
            hostname=host,
            app_name=tag,
            proc_id=pid or None,
        )

    def _bsd_base(self, mon: str, day: str, year: str | None, hms: str, zone: str | None) -> float:
        tz = _ZONES.get(zone or "", self.default_tz)
        hour, minute, second = (int(x) for x in hms.split(":"))
        now = datetime.fromtimestamp(self._now, tz) if self._now is not None else datetime.now(tz)
        when = datetime(int(year) if year else now.year, _MONTHS[mon], int(day), hour, minute, second, tzinfo=tz)
        # Without a year, a date more than a day ahead is last year's (logs read around New Year).
        if not year and when - now > timedelta(days=1):
            when = when.replace(year=when.year - 1)
        return when.timestamp()

    def _iso(self, text: str) -> float | None:
        cached = self._iso_cache.get(text)
        if cached is not None or text in self._iso_cache:
            return cached
        try:
            when = datetime.fromisoformat(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=self.default_tz)
            value: float | None = when.timestamp()
        except ValueError:
            value = None
        if len(self._iso_cache) >= _CACHE_LIMIT:
            self._iso_cache.clear()
        self._iso_cache[text] = value
        return value


def _pri(text: str) -> int | None:
    if not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        return None
    value = int(text)
    return value if value <= 191 else None


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], int] | None:
    """Parse SD-ELEMENTs from the start of ``text``; returns them and the index after the last."""
    elements: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        j = i + 1
        while j < n and text[j] not in " ]":
            j += 1
        sd_id = text[i + 1 : j]
        if not sd_id or j >= n:
            return None
        params: dict[str, str] = {}
        while text[j] == " ":
            eq = text.find("=", j + 1)
            if eq < 0 or eq + 1 >= n or text[eq + 1] != '"':
                return None
            name = text[j + 1 : eq]
            k = eq + 2
            value_chars: list[str] = []
            while k < n and text[k] != '"':
                # RFC 5424 6.3.3: only '"', '\' and ']' are escaped; other backslashes stay.
                if text[k] == "\\" and k + 1 < n and text[k + 1] in '"\\]':
                    k += 1
                value_chars.append(text[k])
                k += 1
            if k >= n:
                return None
            params[name] = "".join(value_chars)
            j = k + 1
            if j >= n:
                return None
        if text[j] != "]":
            return None
        elements[sd_id] = params
        i = j + 1
    return elements, i
