"""Generator knobs: simulator constants a benchmark or a training run may move by name.

Each knob is a module constant of the simulator (its value in the committed code is the one the
shipped model was trained with). `bench/accuracy.py --knob` moves them after its models are built,
so only the suite moves; `rca train --knob` moves them before the training suites are simulated, so
the model learns the generator so set. `knob_values` reads them all, for the training suites' cache
key and for the record a trained model keeps of what it learned from.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

# name -> (module, constant): what the knob sets
KNOBS: dict[str, tuple[str, str]] = {
    "missing_signal": ("rca.simulator.incident", "MISSING_SIGNAL"),  # a reached entity's anomaly unnoticed
    "quiet_symptom": ("rca.simulator.incident", "QUIET_SYMPTOM"),  # the detector saw nothing on a symptom
    "unwatched_share": ("rca.simulator.incident", "UNWATCHED_SHARES"),  # share of each kind nothing watches
    "root_missing": ("rca.simulator.incident", "ROOT_MISSING"),  # factor on the chance a root's own signals are absent
    "weak_root": ("rca.simulator.incident", "WEAK_ROOT"),  # the root's own shift under the detector's threshold
    "strong_root": ("rca.simulator.incident", "STRONG_ROOT"),  # the root's own shift far beyond that threshold
    "noise_deviation": ("rca.simulator.signals", "NOISE_DEVIATION"),  # chance deviations of watched families
    "noise_deviation_size": ("rca.simulator.signals", "NOISE_DEVIATION_SIZE"),  # how far past the floor they go
    "weak_reached": ("rca.simulator.incident", "WEAK_REACHED"),  # unnoticed reached entities that still deviate
    "half_watched_share": ("rca.simulator.incident", "HALF_WATCHED_SHARES"),  # metrics or logs unwatched, per kind
    "restless_family": ("rca.simulator.signals", "RESTLESS_FAMILY"),  # one family anomalous on most entities
    "family_gap": ("rca.simulator.incident", "FAMILY_GAP"),  # a family monitored on no entity of a kind
    "prior_incident": ("rca.simulator.incident", "PRIOR_INCIDENT"),  # an earlier fault's footprint in the window
    "root_blames": ("rca.simulator.incident", "ROOT_BLAMES"),  # the root's own new errors name a dependency
    "stray_blame": ("rca.simulator.incident", "STRAY_BLAME"),  # other services' new errors name a healthy peer
    "synchronous": ("rca.simulator.incident", "SYNCHRONOUS"),  # the fault spreads along calls in the same second
    "coarse_step": ("rca.simulator.incident", "COARSE_STEP"),  # anomaly onsets on a 15 s - 5 min scrape grid
}


class KnobError(ValueError):
    """A knob setting that names no knob or gives no number."""


def set_knobs(settings: Iterable[str]) -> list[str]:
    """Apply NAME=VALUE settings (a tuple knob takes the one value for every entry); returns how each
    moved ("name before -> after"). Raises KnobError naming the setting before applying any."""
    parsed = []
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in KNOBS:
            raise KnobError(f"{setting!r}: expected NAME=VALUE with NAME one of {', '.join(KNOBS)}")
        try:
            parsed.append((name, float(value)))
        except ValueError:
            raise KnobError(f"{setting!r}: the value of {name} must be a number") from None
    applied = []
    for name, number in parsed:
        module, constant = KNOBS[name]
        target = importlib.import_module(module)
        before = getattr(target, constant)
        setattr(target, constant, (number,) if isinstance(before, tuple) else number)
        applied.append(f"{name} {before} -> {getattr(target, constant)}")
    return applied


def knob_values() -> dict[str, float | tuple]:
    """Every knob's current value, by name."""
    return {name: getattr(importlib.import_module(module), constant) for name, (module, constant) in KNOBS.items()}
