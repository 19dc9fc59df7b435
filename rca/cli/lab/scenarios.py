"""Scenario files of `rca lab run`: which fault, on which entity, for how long, and what the truth is.

    version: 1
    estate: estate-shop.yaml            # default estate of the scenarios (relative to this file)
    warmup: 7m                          # history before the first fault (the detector's baseline)
    defaults: {steady: 40s, duration: 75s, alert_timeout: 150s, recovery_timeout: 120s}
    scenarios:
      - name: payments-latency          # unique; names the recorded case folder
        fault: latency                  # a fault kind of `rca lab inject`
        target: payments                # an entity of the estate
        duration: 75s                   # optional (defaults.duration)
        expect: [payments]              # optional: the expected root cause(s); default [target]
        params: {delay_ms: 400}         # optional: passed to the injector as they are
        estate: estate-bank.yaml        # optional: another estate for this scenario

Every error names the file, the line and the field (docs/lab.md, section Scenarios).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.topology.yaml_lines import read_located

# The fault kinds of `rca lab inject` (rca/cli/lab/injectors.py, docs/lab.md section Faults).
FAULT_KINDS = (
    "latency",
    "errors",
    "crash",
    "crash_loop",
    "cpu",
    "memory",
    "disk",
    "connection",
    "datastore_outage",
    "datastore_config",
    "bad_deploy",
)
TOP_KEYS = ("version", "estate", "warmup", "defaults", "scenarios")
TIMING_KEYS = ("steady", "duration", "alert_timeout", "recovery_timeout")
SCENARIO_KEYS = ("name", "fault", "target", "expect", "params", "estate", "description", *TIMING_KEYS)
DEFAULT_TIMING = {"steady": 40.0, "duration": 75.0, "alert_timeout": 150.0, "recovery_timeout": 120.0}
DEFAULT_WARMUP_S = 420.0  # the metrics detector's gap (300 s) plus 20 points at the lab's 5 s step, and some
MAX_SCENARIO_S = 3600.0  # a typo guard: no phase of a scenario lasts an hour
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file, line and field."""


@dataclass(frozen=True)
class Scenario:
    """One fault to inject and the root cause the diagnosis should name."""

    name: str
    fault: str
    target: str
    expect: tuple[str, ...]
    estate: Path
    steady_s: float
    duration_s: float
    alert_timeout_s: float
    recovery_timeout_s: float
    params: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class ScenarioFile:
    """A checked scenario file."""

    path: Path
    warmup_s: float
    scenarios: tuple[Scenario, ...]

    def estates(self) -> list[Path]:
        """The estates the scenarios run on, in the order they first appear."""
        return list(dict.fromkeys(s.estate for s in self.scenarios))


def parse_duration(value, where: str) -> float:
    """Seconds from a number or text like '90s', '1m30s', '2m', '1.5h'."""
    if isinstance(value, bool) or value is None:
        raise ScenarioError(f"{where}: expected a duration such as 90s, 1m30s or 75, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ScenarioError(f"{where}: {value!r} is not a duration (e.g. 90s, 1m30s, 75)")
        h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    if not 0 < seconds <= MAX_SCENARIO_S:
        raise ScenarioError(f"{where}: {value!r} must be more than 0 s and at most {MAX_SCENARIO_S:.0f} s")
    return seconds


def load_scenarios(
    path: Path,
    entities_of: Callable[[Path], set[str]],
    *,
    estate_override: Path | None = None,
    kinds: tuple[str, ...] = FAULT_KINDS,
    check_fault: Callable[[str, str, Path, dict], None] | None = None,
) -> ScenarioFile:
    """Read and check a scenario file; ``entities_of(estate)`` gives the entity ids of an estate file.

    ``check_fault(kind, target, estate, params)``, when given, raises ValueError for a fault the injectors
    would refuse (a kind that does not apply to the target, an unknown or bad parameter).
    """
    path = Path(path)
    data, at = read_located(path, ScenarioError)

    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: expected a mapping with 'scenarios' (and 'estate', 'defaults', ...)")
    _only_known(data, TOP_KEYS, at, ())
    if data.get("version", 1) != 1:
        raise ScenarioError(f"{at('version')}: {data['version']!r} is not a known version (1)")
    warmup = parse_duration(data["warmup"], at("warmup")) if "warmup" in data else DEFAULT_WARMUP_S
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ScenarioError(f"{at('defaults')}: expected a mapping of {', '.join(TIMING_KEYS)}")
    _only_known(defaults, TIMING_KEYS, at, ("defaults",))
    timing = {k: parse_duration(v, at("defaults", k)) for k, v in defaults.items()}
    timing = {**DEFAULT_TIMING, **timing}
    default_estate = _estate(data.get("estate"), path, at("estate")) if "estate" in data else None
    raw = data.get("scenarios")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{at('scenarios')}: required: a list of scenarios (name, fault, target, ...)")
    known_entities: dict[Path, set[str]] = {}
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        here = ("scenarios", i)
        if not isinstance(item, dict):
            raise ScenarioError(f"{at(*here)}: expected a mapping with name, fault and target")
        _only_known(item, SCENARIO_KEYS, at, here)
        for required in ("name", "fault", "target"):
            if item.get(required) in (None, ""):
                raise ScenarioError(f"{at(*here)}.{required}: required")
        name = str(item["name"])
        if not _NAME.match(name):
            raise ScenarioError(f"{at(*here, 'name')}: {name!r}: use letters, digits, '.', '_' and '-' only")
        if name in seen:
            raise ScenarioError(f"{at(*here, 'name')}: {name!r} is already the name of scenarios[{seen[name]}]")
        seen[name] = i
        fault = str(item["fault"])
        if fault not in kinds:
            raise ScenarioError(f"{at(*here, 'fault')}: {fault!r} is not a fault kind (one of {', '.join(kinds)})")
        if estate_override is not None:
            estate = Path(estate_override)
        elif "estate" in item:
            estate = _estate(item["estate"], path, at(*here, "estate"))
        elif default_estate is not None:
            estate = default_estate
        else:
            raise ScenarioError(f"{at(*here)}.estate: required (here, at the top of the file, or --estate)")
        if estate not in known_entities:
            known_entities[estate] = entities_of(estate)
        entities = known_entities[estate]
        target = str(item["target"])
        if target not in entities:
            raise ScenarioError(f"{at(*here, 'target')}: {target!r} is not an entity of the estate {estate}")
        expect = item.get("expect", [target])
        expect = [expect] if isinstance(expect, str) else expect
        if not isinstance(expect, list) or not expect:
            raise ScenarioError(f"{at(*here, 'expect')}: expected an entity id or a list of them")
        for j, entity in enumerate(expect):
            if str(entity) not in entities:
                raise ScenarioError(f"{at(*here, 'expect', j)}: {entity!r} is not an entity of the estate {estate}")
        params = item.get("params") or {}
        if not isinstance(params, dict):
            raise ScenarioError(f"{at(*here, 'params')}: expected a mapping of parameter name to value")
        if check_fault is not None:
            try:
                check_fault(fault, target, estate, dict(params))
            except ValueError as exc:
                raise ScenarioError(f"{at(*here)}: {exc}") from None
        own = {k: parse_duration(item[k], at(*here, k)) for k in TIMING_KEYS if k in item}
        t = {**timing, **own}
        scenarios.append(
            Scenario(
                name=name,
                fault=fault,
                target=target,
                expect=tuple(str(e) for e in expect),
                estate=estate,
                steady_s=t["steady"],
                duration_s=t["duration"],
                alert_timeout_s=t["alert_timeout"],
                recovery_timeout_s=t["recovery_timeout"],
                params=dict(params),
                description=str(item.get("description") or ""),
            )
        )
    return ScenarioFile(path, warmup, tuple(scenarios))


def _only_known(mapping: dict, known: tuple[str, ...], at: Callable[..., str], prefix: tuple) -> None:
    for key in mapping:
        if key not in known:
            raise ScenarioError(f"{at(*prefix, key)}: unknown key (known: {', '.join(known)})")


def _estate(value, scenario_file: Path, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: expected the path of an estate file")
    estate = Path(value)
    estate = estate if estate.is_absolute() else (scenario_file.parent / estate)
    if not estate.is_file():
        raise ScenarioError(f"{where}: {value!r}: no such estate file ({estate})")
    return estate.resolve()
