"""Loader of the fault profiles (faults.yaml): what each fault type looks like."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

PROFILES_FILE = Path(__file__).with_name("faults.yaml")


@dataclass(frozen=True)
class OwnAnomaly:
    """An anomaly the faulty entity shows itself."""

    signal: str
    family: str
    direction: str
    score: tuple[float, float]


@dataclass(frozen=True)
class FaultProfile:
    """How one fault type shows itself and its consequences."""

    name: str
    root: str
    own: tuple[OwnAnomaly, ...]
    missing: float
    victim: str
    own_logs: dict[str, float] = field(default_factory=dict)
    victim_logs: dict[str, float] = field(default_factory=dict)
    caller_logs: dict[str, float] = field(default_factory=dict)
    change: str | None = None
    change_probability: float = 0.0
    dark: bool = False  # when its metrics are missing, it reports nothing at all (a dead host)
    host_echo: float = 0.0  # chance that each host the root runs on shows its resource anomaly too
    host_echo_family: str | None = None  # the family the hosts echo in, if not the root's own
    starves_callees: float = 0.0  # chance that each dependency of the root sees its load fall


@lru_cache(maxsize=4)
def load_profiles(path: Path = PROFILES_FILE) -> dict[str, FaultProfile]:
    """Every fault profile by fault type name; raises ValueError naming a malformed entry."""
    data = yaml.safe_load(path.read_text())
    profiles = {}
    for name, spec in data.items():
        try:
            own = tuple(
                OwnAnomaly(a["signal"], a["family"], a["direction"], tuple(a["score"])) for a in spec.get("own", [])
            )
            profiles[name] = FaultProfile(
                name=name,
                root=spec["root"],
                own=own,
                missing=float(spec.get("missing", 0.0)),
                victim=spec["victim"],
                own_logs=dict(spec.get("own_logs", {})),
                victim_logs=dict(spec.get("victim_logs", {})),
                caller_logs=dict(spec.get("caller_logs", {})),
                change=spec.get("change"),
                change_probability=float(spec.get("change_probability", 0.0)),
                dark=bool(spec.get("dark", False)),
                host_echo=float(spec.get("host_echo", 0.0)),
                host_echo_family=spec.get("host_echo_family"),
                starves_callees=float(spec.get("starves_callees", 0.0)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"fault profile {name!r} in {path} is malformed: {exc}") from exc
    return profiles
