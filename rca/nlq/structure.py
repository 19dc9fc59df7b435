"""The estate's structure in memory, walked downstream (dependencies) or upstream (blast radius).

Built from the rows of ``graph_schema.cypher.ask.STRUCTURE_EDGES``, read in the same read
transaction as the entity names and refreshed with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

DOWNSTREAM_HOPS = 4
UPSTREAM_HOPS = 6


@dataclass(frozen=True)
class Reached:
    """An entity reached from another, how far away and, one hop away, over which relation."""

    id: str
    depth: int
    relation: str  # the relation of the first hop ("" further away)


class Structure:
    """Who calls, uses and runs on whom."""

    def __init__(self, rows: Iterable[dict]):
        self.down: dict[str, list[tuple[str, str]]] = defaultdict(list)  # id -> [(relation, target)]
        self.up: dict[str, list[tuple[str, str]]] = defaultdict(list)  # id -> [(relation, source)], fault direction
        self.instances: dict[str, list[str]] = defaultdict(list)  # service -> its instances
        for row in rows:
            source, relation, target = row["source"], row["relation"], row["target"]
            self.down[source].append((relation, target))
            if relation == "INSTANCE_OF":  # a fault travels from an instance to its service
                self.up[source].append((relation, target))
                self.instances[target].append(source)
            else:  # ... from a callee to its callers, from a host to what runs on it
                self.up[target].append((relation, source))

    def downstream(self, entity_id: str, hops: int = DOWNSTREAM_HOPS) -> list[Reached]:
        """What the entity calls, depends on and runs on (a service: where its instances run), transitively."""
        first = [
            ("RUNS_ON", host) for i in self.instances.get(entity_id, ()) for r, host in self.down[i] if r == "RUNS_ON"
        ]
        return self._walk(entity_id, self.down, hops, first)

    def upstream(self, entity_id: str, hops: int = UPSTREAM_HOPS) -> list[Reached]:
        """What a failure of the entity can reach: its callers and users, what runs on it, transitively."""
        return self._walk(entity_id, self.up, hops, [])

    @staticmethod
    def _walk(
        start: str, edges: dict[str, list[tuple[str, str]]], hops: int, extra: list[tuple[str, str]]
    ) -> list[Reached]:
        seen = {start}
        reached: list[Reached] = []
        frontier = [start]
        for depth in range(1, hops + 1):
            nxt = []
            pairs = [p for node in frontier for p in edges.get(node, ())] + (extra if depth == 1 else [])
            for relation, other in pairs:
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
                    reached.append(Reached(other, depth, relation if depth == 1 else ""))
            if not nxt:
                break
            frontier = nxt
        return reached
