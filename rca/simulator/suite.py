"""Named incident suites: which (seed, size, fault type) triples make up a benchmark or a fit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rca.simulator.incident import FAULT_TYPES

# Seed ranges of the suites never overlap, so weights fitted on one are judged on another.
# "validation" fits the engine's weights; "heldout" is the benchmark (its failures were also read
# while the rules were developed); "final" is a second benchmark suite nobody looked into.
SUITE_SEED_BASE = {"heldout": 0, "validation": 1_000_000, "training": 2_000_000, "final": 3_000_000}


@dataclass(frozen=True)
class IncidentSpec:
    """One incident of a suite."""

    seed: int
    size: int
    fault_type: str


def suite(
    name: str, per_cell: int, sizes: tuple[int, ...], fault_types: tuple[str, ...] = FAULT_TYPES
) -> Iterator[IncidentSpec]:
    """per_cell incidents for every (size, fault type) cell, with the suite's own seeds."""
    if name not in SUITE_SEED_BASE:
        raise ValueError(f"unknown suite {name!r}; known: {', '.join(SUITE_SEED_BASE)}")
    base = SUITE_SEED_BASE[name]
    for k in range(per_cell):
        for size in sizes:
            for fault in fault_types:
                yield IncidentSpec(base + k, size, fault)
