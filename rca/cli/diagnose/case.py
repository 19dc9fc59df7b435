"""A case folder (`rca diagnose` format) read and checked in full before anything reaches the graph.

    CASE_DIR/
      case.yaml      alert (at, symptoms), optional signals (name -> family, or family and thresholds),
                     optional root_causes
      topology.yaml  the project's topology format (ingest/data/topology.schema.json)
      metrics.csv    `time` (unix s, ms, us or ns, or ISO 8601), then one column per `entity/signal`
      logs/          optional: raw syslog lines, or `TIME<TAB>ENTITY<TAB>MESSAGE` lines

Every error names the file and the line (and the column or field where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from graph_schema.model import SIGNAL_FAMILIES, Label
from ingest.metrics.promql_templates import DIRECTIONS
from ingest.topology.file import TopologyFileError, load_topology_file
from ingest.topology.snapshot import TopologySnapshot
from ingest.topology.yaml_lines import read_located
from rca.cli.diagnose.case_logs import read_logs
from rca.cli.diagnose.case_metrics import MetricColumn, read_metrics
from rca.cli.diagnose.errors import CaseError, parse_time
from rca.service.requests import EARLIEST_TIME, LATEST_TIME

CASE_FILE = "case.yaml"
TOPOLOGY_FILE = "topology.yaml"
METRICS_FILE = "metrics.csv"
LOGS_DIR = "logs"
CASE_KEYS = ("alert", "signals", "root_causes", "description", "source", "fault")
SIGNAL_KEYS = ("family", "direction", "min_scale", "min_delta")


@dataclass(frozen=True)
class CaseSignal:
    """How a case's signal name is judged: its family and, when the exporter knew them, the detector's floors.

    None means "not given": a name the project knows keeps its own direction and floors only when the
    case does not map it at all (rca/cli/diagnose/session.py).
    """

    family: str
    direction: str | None = None
    min_scale: float | None = None
    min_delta: float | None = None


@dataclass(frozen=True)
class Symptom:
    """What the alert fired on."""

    entity: str
    family: str
    at: float


@dataclass
class Case:
    """A checked case folder."""

    path: Path
    name: str
    topology: TopologySnapshot
    labels: dict[str, Label]  # entity id -> label
    alert_at: float
    symptoms: list[Symptom]
    signals: dict[str, CaseSignal]  # signal names the case maps to a family (and thresholds)
    root_causes: list[str]
    metrics: list[MetricColumn]
    step_s: float
    log_lines: list[bytes] = field(default_factory=list)
    # the moment the diagnosis is made, if not the end of the Infer window: nothing later is evidence
    # (a live diagnosis replayed as the on-call saw it)
    as_of: float | None = None


def load_case(path: Path, known_signals: dict[str, str]) -> Case:
    """Read and check the case folder at ``path``; ``known_signals`` maps the project's signal names to families."""
    path = Path(path)
    if not path.is_dir():
        raise CaseError(f"{path}: not a case folder (expected a directory with {CASE_FILE}, {TOPOLOGY_FILE}, ...)")
    for required in (CASE_FILE, TOPOLOGY_FILE, METRICS_FILE):
        if not (path / required).is_file():
            needs = f"{CASE_FILE}, {TOPOLOGY_FILE}, {METRICS_FILE}"
            raise CaseError(f"{path / required}: missing (a case folder needs {needs})")
    try:
        topology = load_topology_file(path / TOPOLOGY_FILE)
    except TopologyFileError as exc:
        raise CaseError(str(exc)) from None
    labels = {e.id: e.label for e in topology.entities}
    spec = _read_case_yaml(path / CASE_FILE, labels)
    families = {**known_signals, **{name: signal.family for name, signal in spec["signals"].items()}}
    metrics, step_s = read_metrics(path / METRICS_FILE, labels, families)
    if (path / LOGS_DIR).exists() and not (path / LOGS_DIR).is_dir():
        # a file where the folder belongs would otherwise be passed over, and the case diagnosed without its logs
        raise CaseError(f"{path / LOGS_DIR}: expected a folder of log files, found a file")
    log_lines = read_logs(path / LOGS_DIR, labels) if (path / LOGS_DIR).is_dir() else []
    return Case(
        path,
        path.name,
        topology,
        labels,
        spec["at"],
        spec["symptoms"],
        spec["signals"],
        spec["root_causes"],
        metrics,
        step_s,
        log_lines,
        spec["as_of"],
    )


def _read_case_yaml(file: Path, labels: dict[str, Label]) -> dict:
    data, at = read_located(file, CaseError)

    if not isinstance(data, dict):
        raise CaseError(f"{file}:1: expected a mapping with 'alert' (at, symptoms)")
    for key in data:
        if key not in CASE_KEYS:
            raise CaseError(f"{at(key)}: unknown key (known: {', '.join(CASE_KEYS)})")
    alert = data.get("alert")
    if not isinstance(alert, dict):
        raise CaseError(f"{at('alert')}: required: a mapping with 'at' and 'symptoms'")
    if "at" not in alert:
        raise CaseError(f"{at('alert')}.at: required (unix seconds or ISO 8601)")
    alert_at = _alert_time(alert["at"], at("alert", "at"))
    raw_symptoms = alert.get("symptoms")
    if not isinstance(raw_symptoms, list) or not raw_symptoms:
        raise CaseError(f"{at('alert', 'symptoms')}: required: a list of {{entity: ..., family: ...}}")
    symptoms = []
    for i, item in enumerate(raw_symptoms):
        if not isinstance(item, dict):
            raise CaseError(f"{at('alert', 'symptoms', i)}: expected {{entity: ..., family: ...}}")
        entity, family = item.get("entity"), item.get("family")
        if not _names_entity(entity, labels):
            raise CaseError(f"{at('alert', 'symptoms', i, 'entity')}: {entity!r} is not an entity of {TOPOLOGY_FILE}")
        if family not in SIGNAL_FAMILIES:
            raise CaseError(
                f"{at('alert', 'symptoms', i, 'family')}: {family!r} is not a signal family "
                f"(one of {', '.join(SIGNAL_FAMILIES)})"
            )
        when = _alert_time(item["at"], at("alert", "symptoms", i, "at")) if "at" in item else alert_at
        symptoms.append(Symptom(str(entity), str(family), when))
    as_of = _alert_time(alert["as_of"], at("alert", "as_of")) if alert.get("as_of") is not None else None
    if as_of is not None and as_of < max(s.at for s in symptoms):
        raise CaseError(f"{at('alert', 'as_of')}: the diagnosis cannot come before the alert's symptoms")
    signals = data.get("signals") or {}
    if not isinstance(signals, dict):
        raise CaseError(f"{at('signals')}: expected a mapping of signal name to family, e.g. {{p90_s: latency}}")
    case_signals = {
        str(name): _case_signal(entry, lambda *keys, n=name: at("signals", n, *keys)) for name, entry in signals.items()
    }
    roots = data.get("root_causes") or []
    if not isinstance(roots, list):
        raise CaseError(f"{at('root_causes')}: expected a list of entity ids")
    for i, root in enumerate(roots):
        if not _names_entity(root, labels):
            raise CaseError(f"{at('root_causes', i)}: {root!r} is not an entity of {TOPOLOGY_FILE}")
    return {
        "at": alert_at,
        "symptoms": symptoms,
        "signals": case_signals,
        "root_causes": [str(r) for r in roots],
        "as_of": as_of,
    }


def _alert_time(value, where: str) -> float:
    """A time of the alert: one Infer accepts, or an error naming the field (not INVALID_ARGUMENT from Infer)."""
    seconds = parse_time(value, where)
    if not EARLIEST_TIME <= seconds < LATEST_TIME:
        raise CaseError(f"{where}: {value!r} is not a time from 2000-01-01 to 2100-01-01 UTC (what Infer accepts)")
    return seconds


def _names_entity(value, labels: dict[str, Label]) -> bool:
    # a YAML list or mapping where an id belongs ({entity: x} under root_causes) cannot be looked up in a
    # dict at all (unhashable): it is an id of no entity, and said so, not a TypeError
    return isinstance(value, str) and value in labels


def _case_signal(entry, at) -> CaseSignal:
    """One `signals:` entry: a family name, or {family, direction, min_scale, min_delta}."""
    if not isinstance(entry, dict):
        entry = {"family": entry}
    for key in entry:
        if key not in SIGNAL_KEYS:
            raise CaseError(f"{at(key)}: unknown key (known: {', '.join(SIGNAL_KEYS)})")
    family = entry.get("family")
    if family not in SIGNAL_FAMILIES:
        raise CaseError(f"{at()}: {family!r} is not a signal family (one of {', '.join(SIGNAL_FAMILIES)})")
    direction = entry.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise CaseError(f"{at('direction')}: {direction!r} is not a direction (one of {', '.join(DIRECTIONS)})")
    floors = {}
    for key in ("min_scale", "min_delta"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise CaseError(f"{at(key)}: {value!r} is not a number >= 0")
        floors[key] = None if value is None else float(value)
    return CaseSignal(str(family), direction, **floors)
