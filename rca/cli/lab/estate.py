"""The lab's estate file: a topology file in the project's own format plus a `lab:` section.

The topology part is validated by the topology loader itself (ingest/topology/file.py), so an estate
file loads with `rca topology load` as it is. The `lab:` section says how the estate behaves when it
runs: the user load at the entry services, each service's own work and its calls per request, the
entry SLOs the alert rules watch. Every error names the file, the line and the field (docs/lab.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from graph_schema.model import Label
from ingest.topology.file import TopologyFileError, parse_topology
from ingest.topology.snapshot import EdgeRecord, EntityRecord, TopologySnapshot
from ingest.topology.yaml_lines import line_of, load_with_lines

# technology names of the topology format -> the datastore kind the lab runs (Debian's servers)
DATASTORE_KINDS = {"redis": "redis", "postgres": "postgresql", "postgresql": "postgresql"}

LAB_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["load"],
    "properties": {
        "load": {
            "type": "object",
            "description": "entry service -> user requests per second",
            "minProperties": 1,
            "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": 200},
        },
        "timeout_ms": {"type": "number", "exclusiveMinimum": 0, "maximum": 60000},
        "work_ms": {"type": "number", "minimum": 0, "maximum": 5000},
        "scrape_interval_s": {"type": "number", "minimum": 1, "maximum": 60},
        "slo": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "error_ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "latency_p99_ms": {"type": "number", "exclusiveMinimum": 0},
                "for_s": {"type": "number", "minimum": 0, "maximum": 3600},
            },
        },
        "services": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "work_ms": {"type": "number", "minimum": 0, "maximum": 5000},
                    "calls": {
                        "type": "object",
                        "description": "callee -> calls per request (fractions are probabilities)",
                        "additionalProperties": {"type": "number", "minimum": 0, "maximum": 10},
                    },
                },
            },
        },
    },
}


class EstateError(ValueError):
    """An estate file the lab cannot run; the message names file, line and field."""


@dataclass(frozen=True)
class Slo:
    """The entry services' objectives the lab's alert rules watch."""

    error_ratio: float = 0.05
    latency_p99_ms: float = 500.0
    for_s: float = 15.0


@dataclass(frozen=True)
class LabService:
    """One service as the lab runs it: one process on its host."""

    name: str
    instance: str
    host: str
    work_ms: float
    calls: dict[str, float]  # callee (service or datastore) -> calls per request


@dataclass(frozen=True)
class LabDatastore:
    """One datastore the lab runs from Debian's server."""

    name: str
    kind: str  # redis | postgresql
    host: str


@dataclass(frozen=True)
class Estate:
    """A parsed and validated estate file."""

    path: Path
    name: str
    snapshot: TopologySnapshot
    services: dict[str, LabService]
    datastores: dict[str, LabDatastore]
    hosts: tuple[str, ...]
    load: dict[str, float]  # entry service -> requests per second
    timeout_ms: float = 1000.0
    scrape_interval_s: float = 5.0
    slo: Slo = field(default_factory=Slo)

    @property
    def entities(self) -> list[EntityRecord]:
        """Every entity of the topology part."""
        return self.snapshot.entities

    @property
    def edges(self) -> list[EdgeRecord]:
        """Every structural edge of the topology part."""
        return self.snapshot.edges

    def host_of(self, entity: str) -> str:
        """The host a service or datastore of the lab runs on."""
        if entity in self.services:
            return self.services[entity].host
        return self.datastores[entity].host

    def members(self, host: str) -> list[str]:
        """The services and datastores that run on ``host``."""
        return [n for n, s in self.services.items() if s.host == host] + [
            n for n, d in self.datastores.items() if d.host == host
        ]


def load_estate(path: Path) -> Estate:
    """Read and validate an estate file; raise EstateError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EstateError(f"{path}: cannot read: {exc}") from exc
    return parse_estate(text, path)


def parse_estate(text: str, path: Path) -> Estate:
    """Validate estate text: the topology part by the topology loader, then the lab section."""
    try:
        snapshot = parse_topology(text, str(path))
    except TopologyFileError as exc:
        raise EstateError(str(exc)) from None
    data, lines = load_with_lines(text)  # parse_topology has accepted the YAML already
    fail = _Locator(str(path), lines).error
    if "lab" not in data:
        raise fail((), "no 'lab:' section: an estate is a topology file plus a lab section (docs/lab.md)")
    lab = data["lab"]
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(LAB_SCHEMA).iter_errors(lab))
    if error is not None:
        where = ("lab", *error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            where = (*where, *[key for key in error.instance if key not in allowed][:1])  # the unexpected key itself
        raise fail(where, error.message)

    by_id = {e.id: e for e in snapshot.entities}
    datastores = _datastores(data, by_id, fail)
    services = _services(data, lab, by_id, datastores, fail)
    for name in lab["load"]:
        if name not in services:
            raise fail(("lab", "load", name), f"'{name}' is not a service of this estate")
    _check_acyclic(services, fail)
    slo = Slo(**lab.get("slo", {}))
    hosts = tuple(sorted({s.host for s in services.values()} | {d.host for d in datastores.values()}))
    return Estate(
        path=path.resolve(),
        name=str(data.get("estate") or path.stem),
        snapshot=snapshot,
        services=services,
        datastores=datastores,
        hosts=hosts,
        load={k: float(v) for k, v in lab["load"].items()},
        timeout_ms=float(lab.get("timeout_ms", 1000.0)),
        scrape_interval_s=float(lab.get("scrape_interval_s", 5.0)),
        slo=slo,
    )


def _datastores(data: dict, by_id: dict[str, EntityRecord], fail) -> dict[str, LabDatastore]:
    out = {}
    for index, item in enumerate(data.get("datastores") or []):
        technology = (item.get("technology") or "").lower()
        if technology not in DATASTORE_KINDS:
            raise fail(
                ("datastores", index, "technology"),
                f"the lab runs only redis and postgres datastores, not '{technology or '(none)'}'",
            )
        if "runs_on" not in item:
            raise fail(("datastores", index), f"datastore '{item['id']}' needs runs_on: the host it runs on")
        out[item["id"]] = LabDatastore(item["id"], DATASTORE_KINDS[technology], item["runs_on"])
    return out


def _services(data: dict, lab: dict, by_id, datastores, fail) -> dict[str, LabService]:
    tuning = lab.get("services") or {}
    out = {}
    service_ids = {s["id"] for s in data.get("services") or []}
    for name in tuning:
        if name not in service_ids:
            raise fail(("lab", "services", name), f"'{name}' is not a service of this estate")
    for index, item in enumerate(data.get("services") or []):
        name = item["id"]
        instances = item.get("instances") or []
        if len(instances) != 1 or "runs_on" not in instances[0]:
            raise fail(
                ("services", index, "instances"),
                f"service '{name}' needs exactly one instance with runs_on: the lab runs one process per service",
            )
        callees = list(item.get("calls") or []) + list(item.get("depends_on") or [])
        for callee_index, callee in enumerate(item.get("calls") or []):
            if by_id[callee].label not in (Label.SERVICE, Label.DATASTORE):
                raise fail(("services", index, "calls", callee_index), f"'{callee}' is neither service nor datastore")
        calls = dict.fromkeys(callees, 1.0)
        own = tuning.get(name) or {}
        for callee, per_request in (own.get("calls") or {}).items():
            if callee not in calls:
                raise fail(
                    ("lab", "services", name, "calls", callee),
                    f"'{callee}' is not among the calls/depends_on of service '{name}' in the topology",
                )
            calls[callee] = float(per_request)
        out[name] = LabService(
            name=name,
            instance=instances[0]["id"],
            host=instances[0]["runs_on"],
            work_ms=float(own.get("work_ms", lab.get("work_ms", 3.0))),
            calls=calls,
        )
    return out


def _check_acyclic(services: dict[str, LabService], fail) -> None:
    """A cycle of calls between services would make one request call itself for ever."""
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for callee, per_request in services[name].calls.items():
            if callee not in services or per_request == 0:
                continue
            if state.get(callee) == 1:
                cycle = " -> ".join([*trail[trail.index(callee) :], callee])
                raise fail(("lab",), f"services call each other in a cycle ({cycle}); the lab needs acyclic calls")
            if callee not in state:
                visit(callee, [*trail, callee])
        state[name] = 2

    for name in services:
        if name not in state:
            visit(name, [name])


class _Locator:
    """Turns a path into the document into 'file:line: field: message' errors."""

    def __init__(self, filename: str, lines: dict):
        self.filename, self.lines = filename, lines

    def error(self, path: tuple, message: str) -> EstateError:
        line = line_of(self.lines, path)
        name = ""
        for part in path:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        location = f"{self.filename}:{line}" if line else self.filename
        return EstateError(f"{location}: {name + ': ' if name else ''}{message}")
