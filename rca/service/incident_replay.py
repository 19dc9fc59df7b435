"""Replay of a bundled incident file (estate, signals, symptoms) into the graph at a chosen time.

The file's times are seconds relative to the alert; replaying anchors them at ``alert_at`` so the
incident looks like it just happened. Signals go through the same graph writes as the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from graph_schema import signal_writes

BUCKET_SECONDS = 60


class IncidentFileError(ValueError):
    """The incident file is malformed; the message names the file and the entry."""


@dataclass
class IncidentFile:
    """A parsed incident file."""

    path: Path
    name: str
    root_cause: str | None
    entities: list[dict]
    edges: list[dict]
    symptoms: list[dict]
    anomalies: list[dict]
    events: list[dict]
    changes: list[dict]


def load(path: Path) -> IncidentFile:
    """Read and check an incident file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise IncidentFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not data.get("symptoms"):
        raise IncidentFileError(f"{path}: expected a mapping with at least 'symptoms'")
    estate = data.get("estate") or {}
    labels = {e["id"]: e["label"] for e in estate.get("entities", [])}
    edges = []
    for i, edge in enumerate(estate.get("edges", [])):
        missing = [end for end in ("source", "target") if edge.get(end) not in labels]
        if missing:
            raise IncidentFileError(f"{path}: estate.edges[{i}].{missing[0]}: {edge.get(missing[0])!r} is not an entity of the estate")
        edges.append({**edge, "source_label": labels[edge["source"]], "target_label": labels[edge["target"]]})
    return IncidentFile(Path(path), data.get("name", Path(path).stem), data.get("root_cause"),
                        list(estate.get("entities", [])), edges, list(data["symptoms"]),
                        list(data.get("anomalies", [])), list(data.get("events", [])), list(data.get("changes", [])))


def _entity_label(incident: IncidentFile, entity_id: str, where: str, known: dict[str, str]) -> str:
    if entity_id not in known:
        raise IncidentFileError(f"{incident.path}: {where}: entity {entity_id!r} is not in the estate")
    return known[entity_id]


def signal_rows(incident: IncidentFile, alert_at: float, known: dict[str, str]) -> tuple[list, list, list]:
    """Anomaly, Event and Change rows anchored at alert_at; `known` maps entity id -> label."""
    anomalies = []
    for i, a in enumerate(incident.anomalies):
        onset = alert_at + float(a["at"])
        end = alert_at + float(a["end"]) if a.get("end") is not None else None
        anomalies.append({
            "entity_id": a["entity_id"], "entity_label": _entity_label(incident, a["entity_id"], f"anomalies[{i}]", known),
            "signal": a["signal"], "family": a["family"], "onset": onset, "end": end,
            "last_ts": end if end is not None else alert_at, "status": "closed" if end is not None else "open",
            "direction": a.get("direction", "up"), "score": float(a["score"]), "value": float(a.get("value", 0.0)),
            "baseline": float(a.get("baseline", 0.0)), "source": "replay",
        })
    events = []
    for i, e in enumerate(incident.events):
        first = alert_at + float(e["at"])
        events.append({
            "entity_id": e["entity_id"], "entity_label": _entity_label(incident, e["entity_id"], f"events[{i}]", known),
            "template": e["template"], "signature_class": e.get("signature_class", "other"),
            "severity": int(e.get("severity", 6)), "count": int(e.get("count", 1)), "first_ts": first,
            "last_ts": first + float(e.get("duration", 0.0)), "bucket": first - first % BUCKET_SECONDS,
            "bucket_seconds": BUCKET_SECONDS, "sample": e.get("sample", ""),
        })
    changes = [
        {"entity_id": c["entity_id"], "entity_label": _entity_label(incident, c["entity_id"], f"changes[{i}]", known),
         "at": alert_at + float(c["at"]), "change_type": c.get("change_type", "deploy"),
         "description": c.get("description", ""), "source": "replay"}
        for i, c in enumerate(incident.changes)
    ]
    return anomalies, events, changes


def replay(store, incident: IncidentFile, alert_at: float, known_labels: dict[str, str] | None = None) -> dict[str, int]:
    """Write the file's own estate (if it has one) and its signals; returns counts written.

    ``known_labels`` maps entity id -> label for entities already in the graph (an estate loaded
    from a topology file), so signals can name them.
    """
    known = {**(known_labels or {}), **{e["id"]: e["label"] for e in incident.entities}}
    counts = {"entities": 0, "edges": 0}
    if incident.entities:
        counts["entities"] = signal_writes.write_entities(store, incident.entities, now=alert_at, source="replay")
        counts["edges"] = signal_writes.write_edges(store, incident.edges, now=alert_at, source="replay")
    anomalies, events, changes = signal_rows(incident, alert_at, known)
    counts["anomalies"] = signal_writes.write_anomalies(store, anomalies)
    counts["events"] = signal_writes.write_events(store, events)
    counts["changes"] = signal_writes.write_changes(store, changes)
    return counts
