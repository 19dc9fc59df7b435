"""Ask over gRPC: validate the AskRequest, parse the question, answer it, build the AskResponse.

The entity catalog (names and aliases the questions are linked against) is read in a read
transaction and kept for ``service.ask.catalog_refresh_s``. Root-cause questions call the
servicer's own Infer with the resolved symptoms, so they are ranked, stored and timed like an
alert's; the time spent inside Infer is reported apart (timings_ms.infer_ms).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graph_schema.cypher import ask as ask_cypher
from rca.nlq.answer_types import Answer, RankedCause, RootCauseReport, SimilarCase
from rca.nlq.answers import Answerer
from rca.nlq.clauses import parse_question
from rca.nlq.entities import Entity, EntityCatalog
from rca.nlq.llm import LanguageModel
from rca.nlq.parser import Parsed, QuestionParser
from rca.nlq.screen import MAX_QUESTION_CHARS
from rca.nlq.structure import Structure
from rca.service.incident_memory import IncidentMemory
from rca.service.requests import EARLIEST_TIME, LATEST_TIME, InvalidArgument, clip
from rca.service.stubs import pb
from settings.service import ServiceSettings

MAX_ZONE_CHARS = 64
SIMILAR_CASES = 3
# What a refusal suggests instead.
SUGGESTIONS = (
    "why did checkout fail",
    "what changed on payment in the last hour",
    "who calls postgres-payments",
    "what does checkout depend on",
    "any anomalies today",
    "top errors in the last 30 minutes",
    "has this happened before to checkout",
    "is payment healthy",
)


def _zone(name: str, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"time_zone: {clip(name)} is not an IANA time zone (e.g. UTC, Europe/Paris)") from exc


def validate(request, settings: ServiceSettings) -> tuple[str, float, ZoneInfo, int]:
    """(question, now, zone, max_rows) of a well-formed request; InvalidArgument naming the field otherwise."""
    question = request.question
    if not question.strip():
        raise InvalidArgument("question: required (a question in plain English)")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidArgument(f"question: at most {MAX_QUESTION_CHARS} characters, got {len(question)}")
    now = request.now
    if now != 0 and not (math.isfinite(now) and EARLIEST_TIME <= now < LATEST_TIME):
        raise InvalidArgument(f"now: must be 0 (the server's clock) or epoch seconds from 2000 to 2100, got {now!r}")
    if len(request.time_zone) > MAX_ZONE_CHARS:
        raise InvalidArgument(f"time_zone: at most {MAX_ZONE_CHARS} characters, got {len(request.time_zone)}")
    zone = _zone(request.time_zone, settings.ask.time_zone)
    rows = request.max_rows or settings.ask.default_rows
    if rows > settings.ask.max_rows:
        raise InvalidArgument(f"max_rows: at most {settings.ask.max_rows}, got {rows}")
    return question, now or time.time(), zone, rows


class AskService:
    """Answers Ask calls for one servicer."""

    def __init__(
        self, store, settings: ServiceSettings, infer: Callable, memory: IncidentMemory, read_own_writes: Callable
    ):
        self.store = store
        self._read_own_writes = read_own_writes  # incidents answered a moment ago must be listed
        self.settings = settings
        self._infer = infer  # (InferRequest, context) -> InferResponse
        self.memory = memory
        self._lock = threading.Lock()
        self._parser: QuestionParser | None = None
        self._structure = Structure([])
        self._loaded_at = -math.inf

    def parser(self) -> QuestionParser:
        """The parser over a catalog at most catalog_refresh_s old."""
        with self._lock:
            if self._parser is None or time.monotonic() - self._loaded_at >= self.settings.ask.catalog_refresh_s:
                names, edges = self.store.read_transaction(_names_and_edges)
                self._parser = QuestionParser(EntityCatalog(names), self._parser.model if self._parser else None)
                self._structure = Structure(edges)
                self._loaded_at = time.monotonic()
            return self._parser

    def answer(self, request, context):
        """Run one Ask: validate, parse, answer; returns the AskResponse."""
        started = time.perf_counter()
        question, now, zone, max_rows = validate(request, self.settings)
        parser = self.parser()
        llm = LanguageModel(self.settings.ask, parser.catalog) if self.settings.ask.llm_url else None
        parts = parse_question(parser, question, now, zone, llm)
        parsed_at = time.perf_counter()
        if len(parts) > 1:  # several things asked: each answered as if asked alone, in question order
            answerer = Answerer(
                self.store, parser.catalog, self._structure, self._root_cause_port(context), self._similar
            )
            answers = []
            for part in parts:
                if part.intent in ("incidents", "health"):
                    self._read_own_writes()  # also the incident an earlier root-cause part stored
                answers.append(answerer.answer(part, now, zone, max_rows))
            return _timed(_combined(parts, answers), started, parsed_at)
        parsed = parts[0]
        response = _understood(parsed)
        if parsed.intent == "refused":
            response.answer = f"I can't answer that: {parsed.refusal}. Questions I can answer look like: " + "; ".join(
                f'"{s}"' for s in SUGGESTIONS[:4]
            )
            response.refusal.CopyFrom(pb.AskRefusal(reason=parsed.refusal, suggestions=SUGGESTIONS))
        elif parsed.intent == "clarify":
            _clarify(parsed, response)
        else:
            if parsed.intent in ("incidents", "health"):
                self._read_own_writes()
            answerer = Answerer(
                self.store, parser.catalog, self._structure, self._root_cause_port(context), self._similar
            )
            answer = answerer.answer(parsed, now, zone, max_rows)
            _fill(response, answer)
            if answer.infer_ms:
                response.timings_ms["infer_ms"] = round(answer.infer_ms, 3)
        return _timed(response, started, parsed_at)

    def _root_cause_port(self, context):
        def infer(symptoms: list[Entity], family: str, observed_at: float, window) -> RootCauseReport:
            if window and window[1] - window[0] > self.settings.max_window_s:  # "in the last 10 days": its latest part
                window = (window[1] - self.settings.max_window_s, window[1])
            request = pb.InferRequest(
                symptoms=[pb.Symptom(entity_id=e.id, family=family, observed_at=observed_at) for e in symptoms],
                window=pb.TimeWindow(start=window[0], end=window[1]) if window else None,
            )
            started = time.perf_counter()
            response = self._infer(request, context)
            return _report(response, (time.perf_counter() - started) * 1000)

        return infer

    def _similar(self, embedding: list[float]) -> list[SimilarCase]:
        cases = self.memory.similar(embedding, SIMILAR_CASES, {})
        return [
            SimilarCase(c.incident_id, c.similarity, c.root_cause_entity_name or c.root_cause_entity_id, c.created_at)
            for c in cases
        ]


def _names_and_edges(tx) -> tuple[list[dict], list[dict]]:
    """The entity names and the structural edges, read together (one read transaction)."""
    names = [r.data() for r in tx.run(ask_cypher.ENTITY_NAMES)]
    return names, [r.data() for r in tx.run(ask_cypher.STRUCTURE_EDGES)]


def _report(response, infer_ms: float) -> RootCauseReport:
    names = {c.entity_id: c.entity_name for c in response.candidates}
    names.update({s.entity_id: s.entity_name for s in response.symptoms})
    candidates = []
    for c in response.candidates:
        path = (c.entity_name,)
        if c.paths and c.paths[0].hops:
            path += tuple(names.get(h.to_entity_id, h.to_entity_id) for h in c.paths[0].hops)
        # an observed signal says more to a reader than the model's own account of its score
        observed = [e for e in c.evidence if e.kind in ("anomaly", "log", "change")] or list(c.evidence)
        strongest = max(observed, key=lambda e: e.strength, default=None)
        candidates.append(
            RankedCause(c.entity_id, c.entity_name, c.label, c.score, c.rank, path, strongest.text if strongest else "")
        )
    return RootCauseReport(response.incident_id, response.window.start, response.window.end, candidates, infer_ms)


def _entity(entity: Entity, text: str = "", score: float = 0.0):
    return pb.AskEntity(id=entity.id, name=entity.name, label=entity.label, matched_text=text, score=score)


def _understood(parsed: Parsed):
    return pb.AskResponse(
        intent=parsed.intent,
        entities=[_entity(link.entity, link.text, link.score) for link in parsed.links],
        understood_by=parsed.understood_by,
        confidence=parsed.confidence,
    )


def _clarify(parsed: Parsed, response) -> None:
    first = parsed.unresolved[0] if parsed.unresolved else None
    candidates = list(first.candidates) if first else []
    response.clarification.CopyFrom(
        pb.AskClarification(text=parsed.clarify_text, candidates=[_entity(e, "", s) for e, s in candidates])
    )
    names = " or ".join(e.name for e, _ in candidates[:3])
    if parsed.clarify_text and names:
        response.answer = f'Which one do you mean by "{parsed.clarify_text}"? Did you mean {names}?'
    elif parsed.clarify_text:
        response.answer = (
            f'I don\'t know "{parsed.clarify_text}": no service, datastore, host or instance has that name.'
        )
    else:
        response.answer = "Which service, datastore, host or instance do you mean? Name it in the question."


def _fill(message, answer: Answer) -> None:
    """The answer into an AskResponse or an AskPart (the same fields)."""
    message.answer = answer.text
    if answer.window is not None:
        window = answer.window
        message.window.CopyFrom(
            pb.AskWindow(start=window.start, end=window.end, source=window.source, text=window.text)
        )
    message.table.CopyFrom(pb.AskTable(columns=answer.columns, rows=[pb.AskRow(values=row) for row in answer.rows]))
    message.evidence.extend(pb.AskEvidence(kind=kind, id=item) for kind, item in dict.fromkeys(answer.evidence))
    message.incident_id = answer.incident_id


def _combined(parts: list[Parsed], answers: list[Answer]):
    """One AskResponse for a question that asks several things: the first part's intent, window, table and
    incident in the fields every client reads, every part's entities, evidence and sentences, and the parts."""
    response = pb.AskResponse(
        intent=parts[0].intent,
        understood_by=parts[0].understood_by,
        confidence=min(part.confidence for part in parts),
    )
    seen: set[str] = set()
    evidence: dict[tuple[str, str], None] = {}
    for part, answer in zip(parts, answers, strict=True):
        message = pb.AskPart(text=part.clause, intent=part.intent)
        message.entities.extend(_entity(link.entity, link.text, link.score) for link in part.links)
        _fill(message, answer)
        response.parts.append(message)
        for entity in message.entities:
            if entity.id not in seen:
                seen.add(entity.id)
                response.entities.append(entity)
        evidence.update(dict.fromkeys(answer.evidence))
    first = response.parts[0]
    if first.HasField("window"):
        response.window.CopyFrom(first.window)
    response.answer = "\n\n".join(part.answer for part in response.parts)
    response.table.CopyFrom(first.table)
    response.evidence.extend(pb.AskEvidence(kind=kind, id=item) for kind, item in evidence)
    response.incident_id = next((part.incident_id for part in response.parts if part.incident_id), "")
    infer_ms = sum(answer.infer_ms for answer in answers)
    if infer_ms:
        response.timings_ms["infer_ms"] = round(infer_ms, 3)
    return response


def _timed(response, started: float, parsed_at: float):
    done = time.perf_counter()
    infer_ms = response.timings_ms.get("infer_ms", 0.0)
    response.timings_ms.update(
        {
            "parse_ms": round((parsed_at - started) * 1000, 3),
            "query_ms": round((done - parsed_at) * 1000 - infer_ms, 3),
            "total_ms": round((done - started) * 1000, 3),
        }
    )
    return response
