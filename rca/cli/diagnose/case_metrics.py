"""metrics.csv of a case folder: `time`, then one column per `entity/signal`, checked cell by cell."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graph_schema.model import Label
from rca.cli.diagnose.errors import CaseError, finite_number, parse_time

# compared lowercased: exports write NULL (SQL), None (Python), N/A (spreadsheets) as readily as null
MISSING = {"", "nan", "na", "n/a", "null", "none"}


@dataclass
class MetricColumn:
    """One series of the case: its entity, signal, family, and the samples that are present."""

    entity: str
    label: Label
    signal: str
    family: str
    ts: np.ndarray
    values: np.ndarray
    missing: int  # empty cells, not samples
    idle: int = 0  # latencies of exactly 0, read as no sample (a percentile over no requests)


def read_metrics(file: Path, labels: dict[str, Label], families: dict[str, str]) -> tuple[list[MetricColumn], float]:
    """The columns of ``file`` and the sampling step; ``families`` maps every accepted signal name to its family."""
    with io.StringIO(_text_of(file), newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header:
                raise CaseError(f"{file}:1: empty file (expected a header: time,entity/signal,...)")
            columns = _columns(file, header, labels, families)
            times: list[float] = []
            cells: list[list[str]] = []
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise CaseError(f"{file}:{line}: {len(row)} cells, the header has {len(header)}")
                times.append(parse_time(row[0], f"{file}:{line}:1: time"))
                if len(times) > 1 and times[-1] <= times[-2]:
                    raise CaseError(f"{file}:{line}:1: time {row[0]!r} is not after the previous row's")
                cells.append(row)
                _check_numbers(file, line, row)
        except csv.Error as exc:
            raise CaseError(f"{file}:{reader.line_num}: not valid CSV: {exc}") from None
    if len(times) < 2:
        raise CaseError(f"{file}: needs at least two rows of samples, has {len(times)}")
    ts = np.asarray(times, dtype=float)
    step = float(np.median(np.diff(ts)))
    out = []
    for index, (entity, signal) in columns.items():
        raw = [row[index].strip() for row in cells]
        present = np.array([not _is_missing(c) for c in raw])
        values = np.array([float(c) if ok else math.nan for c, ok in zip(raw, present)], dtype=float)
        # exports write a latency percentile of 0 for a minute without requests; judged as a latency it
        # is a drop to nothing and then a rise from nothing (robust z in the millions on the first
        # request), so it is read as what it is: no sample
        idle = present & (values == 0.0) if families[signal] == "latency" else np.zeros(len(raw), dtype=bool)
        present &= ~idle
        out.append(
            MetricColumn(
                entity,
                labels[entity],
                signal,
                families[signal],
                ts[present],
                values[present],
                int((~present).sum()) - int(idle.sum()),
                int(idle.sum()),
            )
        )
    return out, step


def _columns(
    file: Path, header: list[str], labels: dict[str, Label], families: dict[str, str]
) -> dict[int, tuple[str, str]]:
    if header[0].strip().lower() != "time":
        # a spreadsheet in a decimal-comma locale separates with ';': the whole header is then one cell
        hint = " (metrics.csv is separated by commas, not ';')" if ";" in header[0] else ""
        raise CaseError(f"{file}:1:1: the first column must be 'time', not {header[0]!r}{hint}")
    seen: dict[tuple[str, str], int] = {}
    columns = {}
    for index, name in enumerate(header[1:], start=1):
        where = f"{file}:1:{index + 1}: column {name!r}"
        entity, signal = _split_column(name, labels)
        if not entity or not signal:
            raise CaseError(f"{where}: expected 'entity/signal', e.g. checkout/latency_p99")
        if entity not in labels:
            raise CaseError(f"{where}: entity {entity!r} is not in topology.yaml")
        if signal not in families:
            raise CaseError(
                f"{where}: signal {signal!r} is neither one of the project's signal names nor mapped to a family "
                "under 'signals:' in case.yaml (e.g. signals: {" + signal + ": latency})"
            )
        if (entity, signal) in seen:
            raise CaseError(f"{where}: the same series as column {seen[(entity, signal)] + 1}")
        seen[(entity, signal)] = index
        columns[index] = (entity, signal)
    return columns


def _check_numbers(file: Path, line: int, row: list[str]) -> None:
    for index, cell in enumerate(row[1:], start=2):
        text = cell.strip()
        if _is_missing(text):
            continue
        finite_number(cell, f"{file}:{line}:{index}")


def _is_missing(text: str) -> bool:
    return text.lower() in MISSING


def _text_of(file: Path) -> str:
    """The file's text; a decoding error names its line (a streamed decoder's line count is off by a buffer)."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise CaseError(f"{file}: cannot read: {exc}") from None
    try:
        # utf-8-sig: spreadsheets write a byte-order mark, which would otherwise be part of 'time'
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CaseError(f"{file}:{line}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _split_column(name: str, labels: dict[str, Label]) -> tuple[str, str]:
    """(entity, signal) of a header cell, ('', '') when it has no '/'.

    Entity ids and signal names may both hold a '/' (`ns/pod`, `requests/s`): the split is at the
    rightmost '/' that leaves an entity of the topology before it, else at the rightmost one (whose
    entity the caller then names as unknown). Spaces around either part are an export's, not the name's.
    """
    text = name.strip()
    splits = [i for i, char in enumerate(text) if char == "/"]
    if not splits:
        return "", ""
    at = next((i for i in reversed(splits) if text[:i].strip() in labels), splits[-1])
    return text[:at].strip(), text[at + 1 :].strip()
