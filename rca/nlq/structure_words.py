"""The words of structure answers: what an entity calls, uses and runs on, or what its failure can reach."""

from __future__ import annotations

from rca.nlq import wording as w
from rca.nlq.entities import Entity
from rca.nlq.structure import Reached

_UP = {"CALLS": "calls it", "DEPENDS_ON": "depends on it", "RUNS_ON": "runs on it", "INSTANCE_OF": "is its service"}
_DOWN = {"CALLS": "called directly", "DEPENDS_ON": "used directly", "RUNS_ON": "runs on", "INSTANCE_OF": "its service"}


def relation_words(relation: str, downstream: bool) -> str:
    return (_DOWN if downstream else _UP)[relation]


def structure_sentence(entity: Entity, reached: list[Reached], downstream: bool) -> str:
    direct = [r for r in reached if r.depth == 1]
    further = [r.id for r in reached if r.depth > 1]
    if downstream:
        if not reached:
            return f"{entity.name} calls, uses and runs on nothing the graph knows of."
        verbs = (
            ("CALLS", "calls"),
            ("DEPENDS_ON", "depends on"),
            ("INSTANCE_OF", "is an instance of"),
            ("RUNS_ON", "runs on"),
        )
        said = [
            f"{verb} {w.listing(ids, 6)}" for key, verb in verbs if (ids := [r.id for r in direct if r.relation == key])
        ]
        text = f"{entity.name} {'; '.join(said)}" if said else f"{entity.name} has no direct dependency"
        return text + (f"; further downstream: {w.listing(further, 6)}." if further else ".")
    if not reached:
        return f"Nothing the graph knows of calls, uses or runs on {entity.name}: its blast radius is empty."
    text = f"If {entity.name} fails, {w.plural(len(reached), 'entity', 'entities')} can be affected"
    text += f": directly {w.listing([r.id for r in direct], 6)}" if direct else ""
    return text + (f"; further upstream {w.listing(further, 6)}." if further else ".")
