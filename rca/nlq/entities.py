"""Entity linking: which entities of the graph the words of a question name (rapidfuzz over names and aliases).

Each entity is known by its name, its id, the aliases its topology attributes list (`aliases`) and a
few derived ones (a datastore "postgres-payments" is also "payments db", "payments database" and
"payments postgres"; "frontend-0" is also "frontend0"). Words are matched, longest span first:
exactly (case, hyphen, underscore, dot and space variants alike), as a plural ("payments"), run
together ("check out"), as a distinctive part of one name ("kafka"), then with typos (rapidfuzz
ratio). A span that could be several entities, or is close to a name without matching it, is
returned unresolved with its closest candidates: the caller asks back instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from rca.nlq.tokens import tokenize

MAX_SPAN = 4
LINK_SCORE = 85.0  # a typo this close or closer to one name is that entity
SPAN_SCORE = 88.0  # several words this close to one multi-word name are that entity
ASK_SCORE = 70.0  # closer than this but not linked: ask back
MIN_FUZZY_CHARS = 4
CANDIDATES = 3
# Parts of names too common to stand for one entity on their own ("the db", "events").
GENERIC_PARTS = frozenset("db database cache node host service server events queue store data instance pod".split())
_DATASTORE_WORDS = ("db", "database", "store")
_CACHE_TECH = frozenset({"redis", "memcached"})


@dataclass(frozen=True)
class Entity:
    """An entity of the graph."""

    id: str
    name: str
    label: str


@dataclass(frozen=True)
class Link:
    """Words of the question (tokens first..end) linked to one entity, with how well they matched (0-100)."""

    entity: Entity
    text: str
    score: float
    first: int
    end: int


@dataclass(frozen=True)
class Unresolved:
    """Words that could be several entities, or are close to one without matching it."""

    text: str
    candidates: tuple[tuple[Entity, float], ...]
    first: int
    end: int


@dataclass
class Linking:
    """What the linker found in one question."""

    links: list[Link] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    @property
    def used(self) -> set[int]:
        """Token positions taken by links and unresolved spans."""
        spans = [(x.first, x.end) for x in self.links] + [(x.first, x.end) for x in self.unresolved]
        return {i for first, end in spans for i in range(first, end)}


def singular(word: str) -> str:
    """'payments' -> 'payment', 'caches' -> 'cache', 'entries' -> 'entry'; other words unchanged."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _aliases(row: dict) -> list[str]:
    name, entity_id, label = row["name"] or row["id"], row["id"], row["label"]
    forms = [name, entity_id]
    try:
        attrs = json.loads(row.get("attrs") or "{}")
    except (TypeError, ValueError):
        attrs = {}
    listed = attrs.get("aliases") if isinstance(attrs, dict) else None
    if isinstance(listed, list):
        forms += [str(a) for a in listed]
    words = tokenize(name)
    tech = (row.get("technology") or "").lower()
    if label == "Datastore" and len(words) > 1 and words[0] == tech:
        rest = " ".join(words[1:])
        kinds = (*_DATASTORE_WORDS, "cache") if tech in _CACHE_TECH else _DATASTORE_WORDS
        forms += [f"{rest} {kind}" for kind in kinds] + [f"{rest} {tech}"]
        forms += [rest] if len(words) > 2 else []  # "catalog cache" of redis-catalog-cache (one word would
        # be another entity's plural: "payments")
        forms += [f"{singular(words[-1])} {kind}" for kind in kinds] if len(words) == 2 else []
    if label in ("Instance", "Host") and len(words) == 2 and words[1].isdigit():
        forms.append(f"{words[0]} {'instance' if label == 'Instance' else 'host'} {words[1]}")
    return forms


class EntityCatalog:
    """The entities of the graph and the keys they are known by."""

    def __init__(self, rows: Iterable[dict]):
        self.entities: list[Entity] = []
        self.by_key: dict[str, set[Entity]] = {}
        self.by_joined: dict[str, set[Entity]] = {}
        self.by_part: dict[str, set[Entity]] = {}
        for row in rows:
            entity = Entity(row["id"], row["name"] or row["id"], row["label"])
            self.entities.append(entity)
            for form in _aliases(row):
                words = tokenize(form)
                if not words:
                    continue
                self.by_key.setdefault(" ".join(words), set()).add(entity)
                self.by_joined.setdefault("".join(words), set()).add(entity)
            for word in tokenize(entity.name):
                if not word.isdigit() and word not in GENERIC_PARTS and len(word) >= 3:
                    self.by_part.setdefault(word, set()).add(entity)
        self.keys = sorted(self.by_key)
        self.by_id = {e.id: e for e in self.entities}

    def __len__(self) -> int:
        return len(self.entities)

    def _exact(self, words: list[str]) -> tuple[set[Entity], float]:
        key = " ".join(words)
        if key in self.by_key:
            return self.by_key[key], 100.0
        plural = " ".join([*words[:-1], singular(words[-1])])
        if plural in self.by_key:
            return self.by_key[plural], 95.0
        joined = "".join(words)
        for form in (joined, singular(joined)):
            if len(words) > 1 and form in self.by_joined:
                return self.by_joined[form], 95.0
        return set(), 0.0

    def link(self, tokens: list[str], skip: set[int], vocabulary: frozenset[str]) -> Linking:
        """Link the tokens not in ``skip``; words of ``vocabulary`` are never fuzzy-matched to a name."""
        found = Linking()
        taken = set(skip)
        # 1. exact, plural or run-together forms, longest span first
        for size in range(MAX_SPAN, 0, -1):
            for first in range(len(tokens) - size + 1):
                span = range(first, first + size)
                if taken.intersection(span):
                    continue
                words = tokens[first : first + size]
                entities, score = self._exact(words)
                if entities:
                    self._add(found, entities, " ".join(words), score, first, first + size)
                    taken.update(span)
        # 2. several words with a typo ("postgres paymnets")
        for size in range(MAX_SPAN, 1, -1):
            for first in range(len(tokens) - size + 1):
                span = range(first, first + size)
                words = tokens[first : first + size]
                if taken.intersection(span) or all(word in vocabulary for word in words):
                    continue
                match = process.extractOne(" ".join(words), self.keys, scorer=fuzz.ratio, score_cutoff=SPAN_SCORE)
                if match and len(self.by_key[match[0]]) == 1:
                    self._add(
                        found, self.by_key[match[0]], " ".join(words), round(float(match[1]), 1), first, first + size
                    )
                    taken.update(span)
        # 3. a distinctive part of names ("kafka", "postgres"), then 4. typos
        for i, word in enumerate(tokens):
            if i in taken or word in vocabulary or word.isdigit():
                continue
            part = self.by_part.get(word) or self.by_part.get(singular(word))
            if part:
                self._add(found, part, word, 90.0, i, i + 1)
                taken.add(i)
                continue
            if len(word) < MIN_FUZZY_CHARS:
                continue
            self._fuzzy(found, word, i)
            taken.add(i)
        found.links.sort(key=lambda link: link.first)
        return found

    def _add(self, found: Linking, entities: set[Entity], text: str, score: float, first: int, end: int) -> None:
        if len(entities) == 1:
            (entity,) = entities
            if all(link.entity != entity for link in found.links):
                found.links.append(Link(entity, text, score, first, end))
            return
        ranked = sorted(entities, key=lambda e: (e.label != "Service", e.name))
        found.unresolved.append(Unresolved(text, tuple((e, score) for e in ranked[: CANDIDATES + 2]), first, end))

    def _fuzzy(self, found: Linking, word: str, i: int) -> None:
        matches = process.extract(word, self.keys, scorer=fuzz.ratio, limit=8, score_cutoff=ASK_SCORE)
        scored: dict[Entity, float] = {}
        for key, score, _ in matches:
            for entity in self.by_key[key]:
                scored[entity] = max(scored.get(entity, 0.0), float(score))
        if not scored:
            return
        ranked = sorted(scored.items(), key=lambda pair: (-pair[1], pair[0].name))
        best_entity, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best >= LINK_SCORE and best - runner_up >= 5:
            if all(link.entity != best_entity for link in found.links):
                found.links.append(Link(best_entity, word, round(best, 1), i, i + 1))
            return
        found.unresolved.append(Unresolved(word, tuple(ranked[:CANDIDATES]), i, i + 1))

    def closest(self, text: str, limit: int = CANDIDATES) -> list[tuple[Entity, float]]:
        """The entities whose keys are closest to ``text`` (for a clarification with no better candidates)."""
        scored: dict[Entity, float] = {}
        for key, score, _ in process.extract(" ".join(tokenize(text)), self.keys, scorer=fuzz.WRatio, limit=12):
            for entity in self.by_key[key]:
                scored[entity] = max(scored.get(entity, 0.0), float(score))
        return sorted(scored.items(), key=lambda pair: (-pair[1], pair[0].name))[:limit]
