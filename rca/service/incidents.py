"""Incidents in the graph: one :Incident per Infer, feedback on it, and reading them back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format

from graph_schema import incident_snapshots
from graph_schema.cypher import incidents as cypher
from rca.service.requests import InvalidArgument, NotFound, clip
from rca.service.stubs import pb

DEFAULT_LIST_LIMIT = 20
MAX_LIST_LIMIT = 500
MAX_CLOSE_TEXT = 1000  # who closed an incident and why: a name and a sentence, not a document


def new_incident_id() -> str:
    """A fresh incident id."""
    return f"inc-{uuid.uuid4().hex[:20]}"


def _to_json(messages) -> str:
    return _dumps([json_format.MessageToDict(m, preserving_proto_field_name=True) for m in messages])


def _dumps(value) -> str:
    # orjson: the stdlib takes milliseconds over a 300-entity snapshot, on the serving process's GIL
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _from_json(text: str | None, message_type) -> list:
    return [json_format.ParseDict(item, message_type()) for item in json.loads(text or "[]")]


@dataclass
class IncidentRecord:
    """Everything stored about one Infer: its answer, the features used and, with a model, the model's part."""

    response: Any  # the InferResponse (the generated rca.v1 messages are not type-checked)
    # the feature snapshot's JSON text (graph_schema.incident_snapshots), built when the writer thread stores it
    features: Callable[[], str]
    created_at: float = field(default_factory=time.time)
    embedding: Sequence[float] = ()
    edges: Sequence = ()  # the subgraph's edges (structure snapshot for fine-tuning), with a model only
    model_version: str = ""

    def row(self) -> dict:
        """The parameters of one incident in CREATE_INCIDENTS (builds the JSON parts)."""
        response = self.response
        features_json = self.features()
        top = response.candidates[0] if response.candidates else None
        return {
            "id": response.incident_id,
            "created_at": self.created_at,
            "window_start": response.window.start,
            "window_end": response.window.end,
            "symptoms_json": _to_json(response.symptoms),
            "candidates_json": _to_json(response.candidates),
            "features_packed": incident_snapshots.pack(features_json),
            "explanation": response.explanation,
            "versions_json": _dumps(dict(response.versions)),
            "symptom_ids": sorted({s.entity_id for s in response.symptoms}),
            "candidate_ids": [c.entity_id for c in response.candidates],
            "top_candidate_id": top.entity_id if top else "",
            "top_score": top.score if top else 0.0,
            "embedding": list(self.embedding) or None,
            "edges_packed": (
                incident_snapshots.pack(_dumps([[e.source, e.target, e.type] for e in self.edges]))
                if self.embedding
                else None
            ),
            "model_version": self.model_version or None,
            "unresolved_symptoms": list(response.unresolved_symptoms),
            "similar_json": _to_json(response.similar_incidents),
        }


class IncidentStore:
    """Stores and reads incidents through the graph store."""

    def __init__(self, store):
        self.store = store

    def save(self, records: list[IncidentRecord]) -> None:
        """Store incidents in one transaction (a retry after a lost acknowledgement stores nothing twice)."""
        self.save_rows([r.row() for r in records])

    def save_rows(self, rows: list[dict]) -> None:
        """Store incidents already turned into rows (IncidentRecord.row) in one transaction."""
        self.store.write_rows(cypher.CREATE_INCIDENTS, rows, batch_size=max(1, len(rows)))

    def get(self, incident_id: str, include_features: bool = False):
        """The stored incident as an Incident message; NotFound if there is none."""
        if not incident_id:
            raise InvalidArgument("incident_id: required")
        rows = self.store.read(cypher.GET_INCIDENT, id=incident_id)
        if not rows:
            raise NotFound(f"incident_id: no incident {clip(incident_id)}")
        row = rows[0]["incident"]
        return pb.Incident(
            incident_id=row["id"],
            created_at=row["created_at"],
            symptoms=_from_json(row.get("symptoms_json"), pb.ResolvedSymptom),
            window=pb.TimeWindow(start=row.get("window_start") or 0.0, end=row.get("window_end") or 0.0),
            candidates=_from_json(row.get("candidates_json"), pb.Candidate),
            explanation=row.get("explanation") or "",
            versions=json.loads(row.get("versions_json") or "{}"),
            feedback=_from_json(row.get("feedback_json"), pb.FeedbackRecord),
            confirmed_root_cause_id=row.get("confirmed_root_cause_id") or "",
            feature_snapshot_json=_dumps(incident_snapshots.features_of(row)) if include_features else "",
            closed_at=row.get("closed_at") or 0.0,
            closed_by=row.get("closed_by") or "",
            close_reason=row.get("close_reason") or "",
            unresolved_symptoms=row.get("unresolved_symptoms") or [],
            similar_incidents=_from_json(row.get("similar_json"), pb.SimilarIncident),
        )

    def feedback(self, request, now: float | None = None):
        """Record a confirmed or rejected root cause with who and when; returns the record."""
        if not request.incident_id:
            raise InvalidArgument("incident_id: required")
        if not request.root_cause_entity_id:
            raise InvalidArgument("root_cause_entity_id: required")
        if request.verdict == pb.VERDICT_UNSPECIFIED:
            raise InvalidArgument("verdict: must be CONFIRMED or REJECTED")
        if not request.user.strip():
            raise InvalidArgument("user: say who gives the feedback")
        record = pb.FeedbackRecord(
            root_cause_entity_id=request.root_cause_entity_id,
            verdict=request.verdict,
            user=request.user.strip(),
            comment=request.comment,
            at=now if now is not None else time.time(),
        )

        def append(tx):
            # Read and write in one transaction, so concurrent feedback on one incident is not lost.
            found = tx.run(cypher.GET_INCIDENT, id=request.incident_id).data()
            if not found:
                return False
            row = found[0]["incident"]
            records = _from_json(row.get("feedback_json"), pb.FeedbackRecord) + [record]
            confirmed = row.get("confirmed_root_cause_id") or ""
            if record.verdict == pb.CONFIRMED:
                confirmed = record.root_cause_entity_id
            elif confirmed == record.root_cause_entity_id:
                confirmed = ""
            tx.run(
                cypher.SET_FEEDBACK,
                id=request.incident_id,
                feedback_json=_to_json(records),
                confirmed_root_cause_id=confirmed,
            ).consume()
            return True

        if not self.store.transaction(append):
            raise NotFound(f"incident_id: no incident {clip(request.incident_id)}")
        return record

    def close(self, request, now: float | None = None) -> None:
        """Record that an incident was closed, by whom and why (the first closure stays); NotFound if unknown."""
        if not request.incident_id:
            raise InvalidArgument("incident_id: required")
        if not request.closed_by.strip():
            raise InvalidArgument("closed_by: say who closes the incident")
        for name, value in (("closed_by", request.closed_by), ("reason", request.reason)):
            if len(value) > MAX_CLOSE_TEXT:
                raise InvalidArgument(f"{name}: at most {MAX_CLOSE_TEXT} characters, got {len(value)}")
        closed = self.store.write(
            cypher.CLOSE_INCIDENT,
            id=request.incident_id,
            closed_at=now if now is not None else time.time(),
            closed_by=request.closed_by.strip(),
            reason=request.reason,
        )
        if not closed:
            raise NotFound(f"incident_id: no incident {clip(request.incident_id)}")

    def list(self, limit: int = 0, since: float = 0.0, entity_id: str = "") -> list:
        """Summaries of the newest incidents, optionally only those touching one entity."""
        if limit > MAX_LIST_LIMIT:
            raise InvalidArgument(f"limit: at most {MAX_LIST_LIMIT}, got {limit}")
        if since < 0:
            raise InvalidArgument(f"since: must be a non-negative epoch time, got {since}")
        rows = self.store.read(
            cypher.LIST_INCIDENTS, since=float(since), entity_id=entity_id, limit=limit or DEFAULT_LIST_LIMIT
        )
        return [
            pb.IncidentSummary(
                incident_id=row["id"],
                created_at=row["created_at"],
                symptoms=_from_json(row.get("symptoms_json"), pb.ResolvedSymptom),
                top_candidate_id=row.get("top_candidate_id") or "",
                top_score=row.get("top_score") or 0.0,
                confirmed_root_cause_id=row.get("confirmed_root_cause_id") or "",
                closed_at=row.get("closed_at") or 0.0,
            )
            for row in rows
        ]
