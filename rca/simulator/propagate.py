"""How a fault spreads through an estate: callee to caller, datastore to users, host to residents.

This is the simulator's ground-truth physics, kept apart from the engine's model of it on purpose:
spreading is probabilistic, attenuates (sometimes amplifies, as retries do), takes time per hop,
and may die out before it reaches the users.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from rca.simulator.estate import Estate


@dataclass
class Affected:
    """An entity the fault reached: how strongly, when, and from which entity."""

    entity_id: str
    strength: float
    onset: float
    parent: str | None
    side_effect: bool = False  # a service-wide fault seen on its instances; spreads no further


def spread_targets(estate: Estate) -> dict[str, list[tuple[str, str]]]:
    """For each entity, the entities a fault on it can reach next, with the edge type."""
    out: dict[str, list[tuple[str, str]]] = {eid: [] for eid in estate.entities}
    for source, target, kind in estate.edges:
        if kind in ("CALLS", "DEPENDS_ON"):
            out[target].append((source, kind))  # callee/datastore -> caller
        elif kind == "RUNS_ON":
            out[target].append((source, kind))  # host -> instance or datastore on it
        elif kind == "INSTANCE_OF":
            out[source].append((target, kind))  # instance -> its service
    return out


def instances_of(estate: Estate) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source, target, kind in estate.edges:
        if kind == "INSTANCE_OF":
            out.setdefault(target, []).append(source)
    return out


def spread(
    estate: Estate, rng: random.Random, root: str, onset: float, hop_delay_s: tuple[float, float] = (5.0, 60.0)
) -> dict[str, Affected]:
    """Every entity the fault on root reaches, first arrival wins; each hop takes hop_delay_s (a range)."""
    targets = spread_targets(estate)
    affected: dict[str, Affected] = {}
    queue: list[tuple[float, int, str, float, str | None]] = [(onset, 0, root, 1.0, None)]
    tick = 0
    while queue:
        at, _, eid, strength, parent = heapq.heappop(queue)
        if eid in affected:
            continue
        affected[eid] = Affected(eid, strength, at, parent)
        for nxt, kind in targets[eid]:
            if nxt in affected:
                continue
            if kind == "INSTANCE_OF":
                n_siblings = len(instances_of(estate).get(nxt, [])) or 1
                # One bad instance of many is partly hidden by the load balancer.
                p, gain = (0.9, 1.0) if n_siblings == 1 else (0.75, rng.uniform(0.5, 0.9))
            elif kind == "RUNS_ON":
                p, gain = 0.85, rng.uniform(0.7, 1.1)
            else:
                p, gain = 0.55 + 0.35 * min(1.0, strength), rng.uniform(0.55, 1.25)
            child = strength * gain
            if child < 0.2 or rng.random() > p:
                continue
            tick += 1
            heapq.heappush(queue, (at + rng.uniform(*hop_delay_s), tick, nxt, min(child, 1.6), eid))
    if estate.entities[root].label == "Service":
        # A service-wide fault shows on (some of) its own instances at about the same time.
        for iid in instances_of(estate).get(root, []):
            if iid not in affected and rng.random() < 0.5:
                affected[iid] = Affected(iid, rng.uniform(0.6, 1.0), onset + rng.uniform(-10, 20), root, True)
    return affected


def reach_a_service(estate: Estate, rng: random.Random, affected: dict[str, Affected], root: str) -> None:
    """Make sure the fault reached at least one service (an alert needs a service to fire on)."""
    if any(estate.entities[e].label == "Service" for e in affected):
        return
    targets = spread_targets(estate)
    current = root
    for _ in range(6):
        options = [t for t, _ in targets[current]]
        if not options:
            return
        nxt = rng.choice(sorted(options))
        if nxt not in affected:
            parent = affected[current]
            affected[nxt] = Affected(nxt, max(0.4, parent.strength * 0.8), parent.onset + rng.uniform(5, 60), current)
        current = nxt
        if estate.entities[current].label == "Service":
            return
