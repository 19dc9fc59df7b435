"""logs/ of a case folder: raw syslog lines as they are, or `TIME<TAB>ENTITY<TAB>MESSAGE` lines.

A tab-separated line becomes an RFC 5424 line whose APP-NAME is the entity and whose severity is the
first level word of the message (ERROR, WARN, ...; info without one), so both kinds go through the
same syslog pipeline. Files ending in .gz are read decompressed.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import re
from pathlib import Path

from graph_schema.model import Label
from rca.cli.diagnose.errors import CaseError, parse_time

FACILITY_LOCAL0 = 16
LEVEL = re.compile(r"\b(FATAL|CRITICAL|CRIT|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE)\b")
SEVERITY = {
    "FATAL": 2,
    "CRITICAL": 2,
    "CRIT": 2,
    "SEVERE": 3,
    "ERROR": 3,
    "ERR": 3,
    "WARNING": 4,
    "WARN": 4,
    "NOTICE": 5,
    "INFO": 6,
    "DEBUG": 7,
    "TRACE": 7,
}
CASE_HOST = "case"


def read_logs(folder: Path, labels: dict[str, Label]) -> list[bytes]:
    """Every line of every file under ``folder`` (name order), as raw syslog lines."""
    out: list[bytes] = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            raw = gzip.decompress(file.read_bytes()) if file.suffix == ".gz" else file.read_bytes()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise CaseError(f"{file}: cannot read: {exc}") from None
        # a byte-order mark (an editor's) would otherwise be part of the first line's time or syslog header
        raw = raw.removeprefix(codecs.BOM_UTF8)
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            if _is_tab_line(line, labels):
                out.append(_tab_line(file, number, line, labels))
            else:
                out.append(line)
    return out


def _is_tab_line(line: bytes, labels: dict[str, Label]) -> bool:
    """TIME<TAB>ENTITY<TAB>MESSAGE: three fields, and a time first or an entity second.

    A raw syslog line may carry tabs in its message (`key=value<TAB>key=value`, a stack trace): it is one
    when neither of its first two fields reads as the tab format's, and goes through as it is.
    """
    if line.count(b"\t") < 2 or line.startswith(b"<"):
        return False
    when, entity, _ = line.split(b"\t", 2)
    if entity.strip().decode("utf-8", errors="replace") in labels:
        return True
    try:
        parse_time(when.decode("utf-8", errors="replace"), "")
    except CaseError:
        return False
    return True


def _tab_line(file: Path, number: int, line: bytes, labels: dict[str, Label]) -> bytes:
    raw_when, raw_entity, message = line.split(b"\t", 2)
    try:
        when, entity = raw_when.decode("utf-8"), raw_entity.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(f"{file}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    seconds = parse_time(when, f"{file}:{number}:1: time")
    entity = entity.strip()
    if entity not in labels:
        raise CaseError(f"{file}:{number}:2: entity {entity!r} is not in topology.yaml")
    level = LEVEL.search(message[:200].decode("utf-8", errors="replace"))
    pri = FACILITY_LOCAL0 * 8 + (SEVERITY[level.group(1)] if level else 6)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    # the message's bytes go through as they are: one that is not UTF-8 is dead-lettered and counted by the
    # syslog pipeline, as a raw line's would be, rather than failing the whole case
    return f"<{pri}>1 {stamp} {CASE_HOST} {entity} - - - ".encode() + message.rstrip()


def entity_rules(labels: dict[str, Label]) -> list[dict]:
    """Syslog entity rules, run before the built-in ones, that map an APP-NAME equal to an entity id to it."""
    by_label: dict[str, list[str]] = {}
    for entity_id, label in labels.items():
        by_label.setdefault(str(label), []).append(entity_id)
    return [
        {
            "name": f"case folder {label.lower()} entities",
            "match": {"app_name": "^(?:" + "|".join(re.escape(i) for i in sorted(ids)) + ")$"},
            "entity": {"label": label, "id": "{app}", "name": "{app}"},
        }
        for label, ids in sorted(by_label.items())
    ]
