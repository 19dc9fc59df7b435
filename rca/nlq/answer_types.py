"""What Ask's answers are made of, and the ports through which the service lends them Infer and the
similar-incident memory (rca/service/ask.py implements both over gRPC messages; rca/nlq stays free of them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rca.nlq.entities import Entity


@dataclass(frozen=True)
class Window:
    """The window an answer covers and whether the question gave it."""

    start: float
    end: float
    source: str  # "question" or "default"
    text: str = ""


@dataclass
class Answer:
    """What Ask returns besides what the parser understood."""

    text: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    evidence: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    window: Window | None = None
    incident_id: str = ""
    infer_ms: float = 0.0


@dataclass(frozen=True)
class RankedCause:
    """One candidate of an Infer answer, as Ask reports it."""

    entity_id: str
    name: str
    label: str
    score: float
    rank: int
    path: tuple[str, ...]  # entity names from the candidate to the symptom
    evidence: str  # its strongest evidence, in words


@dataclass(frozen=True)
class RootCauseReport:
    """An Infer answer, as Ask reports it."""

    incident_id: str
    start: float
    end: float
    candidates: list[RankedCause]
    infer_ms: float


@dataclass(frozen=True)
class SimilarCase:
    """A confirmed past incident similar to one of the entity's."""

    incident_id: str
    similarity: float
    root_cause: str
    created_at: float


# Infer on the symptoms (entities, family, observed_at, window or None for the service's default).
InferPort = Callable[[list[Entity], str, float, "tuple[float, float] | None"], RootCauseReport]
SimilarPort = Callable[[list[float]], list[SimilarCase]]
