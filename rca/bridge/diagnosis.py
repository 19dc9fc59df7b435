"""From a notification's firing alerts to a diagnosis: symptoms mapped, Infer called, the answer summarised.

Alerts whose labels name no entity, and entities the graph does not know, do not stop the
diagnosis: they are kept as unresolved symptoms and every message says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from rca.bridge.mapping import AlertMapping, MappedSymptom
from rca.bridge.payload import Notification
from rca.service.client import RootCauseClient
from rca.service.stubs import pb

AFTER_ALERT_S = 6 * 3600.0  # how far past the newest alert a re-diagnosis looks
WINDOW_BEFORE_S = 1800.0  # default look-back before the first alert (the service's default too)
SHOWN_CANDIDATES = 3
_SYMPTOM_FIELD = re.compile(r"^symptoms\[(\d+)\]")
_AMBIGUOUS = re.compile(r"names (\d+) entities")


@dataclass
class Diagnosis:
    """What the receivers are told about one alert group."""

    group_key: str
    status: str  # "firing" | "resolved"
    alerts: int
    incident_id: str = ""
    candidates: list[dict] = field(default_factory=list)  # name, id, label, score, path, evidence
    explanation: str = ""
    unresolved: list[str] = field(default_factory=list)
    reason: str = ""  # why the bridge diagnosed (new group, changed alerts, ...)
    link: str = ""  # the incident in the dashboard, when its address is configured

    def as_json(self) -> dict:
        """The generic webhook body."""
        return {
            "group_key": self.group_key,
            "status": self.status,
            "alerts": self.alerts,
            "incident_id": self.incident_id,
            "candidates": self.candidates,
            "explanation": self.explanation,
            "unresolved_symptoms": self.unresolved,
            "reason": self.reason,
            "link": self.link,
        }


def symptoms_of(notification: Notification, mapping: AlertMapping) -> tuple[list[MappedSymptom], list[str]]:
    """The firing alerts' symptoms (one per entity and family, the earliest time) and the alerts naming no entity."""
    seen: dict[tuple[str, str], MappedSymptom] = {}
    unnamed = []
    for alert in notification.alerts:
        if alert.status != "firing":
            continue
        symptom = mapping.symptom(alert)
        if symptom is None:
            unnamed.append(f"{alert.labels.get('alertname', 'alert')} (no label names an entity)")
            continue
        key = (symptom.entity, symptom.family)
        if key not in seen or symptom.observed_at < seen[key].observed_at:
            seen[key] = symptom
    return list(seen.values()), unnamed


def diagnose(
    client: RootCauseClient,
    notification: Notification,
    mapping: AlertMapping,
    reason: str,
    top_k: int = 5,
    timeout_s: float = 10.0,
    dashboard_url: str = "",
    window_before_s: float = WINDOW_BEFORE_S,
    clock: Callable[[], float] = time.time,
) -> Diagnosis:
    """Call Infer on the group's symptoms; entities the graph does not know are dropped and named.

    The window reaches ``window_before_s`` before the first alert and ends now (or at the newest alert, if
    later): a re-diagnosis of a group that kept firing sees what happened since, and evidence written
    after the alert began (an anomaly opens some time after its onset) is in it.
    Raises grpc.RpcError when the service fails for another reason than an unknown symptom.
    """
    symptoms, unresolved = symptoms_of(notification, mapping)
    result = Diagnosis(notification.groupKey, "firing", len(notification.alerts), reason=reason)
    while symptoms:
        request = pb.InferRequest(
            symptoms=[pb.Symptom(entity_name=s.entity, family=s.family, observed_at=s.observed_at) for s in symptoms],
            window=alert_window(symptoms, window_before_s, clock()),
            top_k=top_k,
            unresolved_symptoms=unresolved,  # recorded on the incident too
        )
        try:
            response = client.infer(request, timeout_s=timeout_s)
        except grpc.RpcError as exc:
            unusable = _unusable_symptom(exc)
            if unusable is None or unusable[0] >= len(symptoms):
                raise
            dropped = symptoms.pop(unusable[0])
            unresolved.append(f"{dropped.entity} ({unusable[1]})")
            continue
        result.incident_id = response.incident_id
        result.explanation = response.explanation
        result.candidates = [_candidate(c) for c in response.candidates[:SHOWN_CANDIDATES]]
        break
    result.unresolved = unresolved
    if dashboard_url and result.incident_id:
        result.link = f"{dashboard_url.rstrip('/')}/?incident={result.incident_id}"
    return result


def alert_window(symptoms: list[MappedSymptom], before_s: float, now: float) -> pb.TimeWindow:
    """From ``before_s`` before the first alert to now (or the newest alert, if its clock is ahead),
    but never more than AFTER_ALERT_S past the newest alert: alerts replayed from another day (or a
    group firing for days) would otherwise ask for a window longer than the service accepts."""
    first, newest = min(s.observed_at for s in symptoms), max(s.observed_at for s in symptoms)
    return pb.TimeWindow(start=first - before_s, end=max(newest, min(now, newest + AFTER_ALERT_S)))


def _unusable_symptom(exc: grpc.RpcError) -> tuple[int, str] | None:
    """(index, why) of the symptom the service could not resolve: an entity it does not know (NOT_FOUND) or a
    name several entities share (INVALID_ARGUMENT ... names N entities); None for any other failure."""
    code = exc.code() if hasattr(exc, "code") else None
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    match = _SYMPTOM_FIELD.match(details)
    if match is None:
        return None
    if code == grpc.StatusCode.NOT_FOUND:
        return int(match.group(1)), "not in the graph"
    ambiguous = _AMBIGUOUS.search(details)
    if code == grpc.StatusCode.INVALID_ARGUMENT and ambiguous:
        return int(match.group(1)), f"names {ambiguous.group(1)} entities"
    return None


def _candidate(candidate) -> dict:
    path = ""
    if candidate.paths and candidate.paths[0].hops:
        hops = candidate.paths[0].hops
        path = " -> ".join([hops[0].from_entity_id, *(h.to_entity_id for h in hops)])
    return {
        "name": candidate.entity_name,
        "id": candidate.entity_id,
        "label": candidate.label,
        "score": round(candidate.score, 4),
        "path": path,
        "evidence": [e.text for e in candidate.evidence[:2]],
    }
