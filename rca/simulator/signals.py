"""Signal rows (Anomaly, Event, Change, Deviation) in the graph's property shapes, for faults and for noise."""

from __future__ import annotations

import random

from graph_schema.model import DEVIATION_FLOOR
from rca.simulator.estate import Estate

BUCKET_SECONDS = 60

LOG_TEMPLATES: dict[str, tuple[str, int]] = {  # class -> (template, syslog severity)
    "timeout": ("upstream request to <*> timed out after <*>ms", 4),
    "connection": ("dial tcp <*>: connect: connection refused", 3),
    "oom": ("Out of memory: Killed process <*> (<*>)", 2),
    "disk_full": ("could not write to file <*>: No space left on device", 2),
    "crash": ("panic: runtime error: invalid memory address or nil pointer dereference", 2),
    "auth": ("x509: certificate has expired or is not yet valid: <*>", 3),
    "other": ("request failed with status <*>", 4),
    "change": ("deployment rolled out version <*>", 6),
}

# Per family: the metric signals an entity of each label shows, and their usual baseline.
FAMILY_SIGNALS: dict[str, dict[str, tuple[str, float]]] = {
    "latency": {
        "Service": ("latency_p99", 0.12),
        "Instance": ("latency_p99", 0.12),
        "Datastore": ("query_latency_p99", 0.01),
        "Host": ("disk_io_wait", 0.02),
    },
    "errors": {
        "Service": ("error_ratio", 0.002),
        "Instance": ("error_ratio", 0.002),
        "Datastore": ("query_errors", 0.1),
        "Host": ("kernel_errors", 0.0),
    },
    "saturation": {
        "Service": ("cpu_utilisation", 0.3),
        "Instance": ("cpu_utilisation", 0.3),
        "Datastore": ("connections_used_ratio", 0.3),
        "Host": ("cpu_utilisation", 0.35),
    },
    "traffic": {
        "Service": ("request_rate", 120.0),
        "Instance": ("request_rate", 40.0),
        "Datastore": ("queries_rate", 300.0),
        "Host": ("network_rx_rate", 5e6),
    },
}


def anomaly_row(
    estate: Estate,
    eid: str,
    signal: str,
    family: str,
    direction: str,
    onset: float,
    duration: float | None,
    score: float,
    baseline: float,
) -> dict:
    """One Anomaly row as ANOMALY_PROPERTIES documents it."""
    factor = 1 + 0.35 * score
    value = baseline * factor if direction == "up" else baseline / factor
    end = onset + duration if duration is not None else None
    return {
        "id": f"an:{eid}:{signal}:{int(onset)}",
        "entity_id": eid,
        "entity_label": estate.entities[eid].label,
        "signal": signal,
        "family": family,
        "onset": round(onset, 3),
        "last_ts": round(end if end is not None else onset + 120, 3),
        "end": None if end is None else round(end, 3),
        "status": "open" if end is None else "closed",
        "direction": direction,
        "score": round(score, 3),
        "value": round(value, 6),
        "baseline": baseline,
        "source": "simulator",
    }


def family_anomaly(
    estate: Estate, eid: str, family: str, onset: float, score: float, duration: float | None = None
) -> dict:
    """An anomaly of the usual signal of this family for the entity's label."""
    signal, baseline = FAMILY_SIGNALS[family][estate.entities[eid].label]
    direction = "down" if family == "traffic" and score > 0 and baseline > 1 else "up"
    return anomaly_row(estate, eid, signal, family, direction, onset, duration, score, baseline)


def event_row(estate: Estate, eid: str, signature_class: str, first_ts: float, count: int, target: str = "") -> dict:
    """One Event row (a template's count in one bucket) as EVENT_PROPERTIES documents it."""
    template, severity = LOG_TEMPLATES[signature_class]
    bucket = first_ts - first_ts % BUCKET_SECONDS
    sample = template.replace("<*>", target or estate.entities[eid].name, 1).replace("<*>", "5000")
    last_ts = min(bucket + BUCKET_SECONDS - 1, first_ts + count * 0.5)
    return {
        "id": f"ev:{eid}:{signature_class}:{int(bucket)}",
        "entity_id": eid,
        "entity_label": estate.entities[eid].label,
        "template_id": f"sim-{signature_class}",
        "template": template,
        "bucket": bucket,
        "bucket_seconds": BUCKET_SECONDS,
        "count": int(count),
        "first_ts": round(first_ts, 3),
        "last_ts": round(last_ts, 3),
        "severity": severity,
        "signature_class": signature_class,
        "sample": sample,
    }


def change_row(estate: Estate, eid: str, change_type: str, at: float, description: str) -> dict:
    """One Change row as CHANGE_PROPERTIES documents it."""
    return {
        "id": f"ch:{eid}:{change_type}:{int(at)}",
        "entity_id": eid,
        "entity_label": estate.entities[eid].label,
        "at": round(at, 3),
        "change_type": change_type,
        "description": description,
        "source": "simulator",
    }


def noise_rows(
    estate: Estate, rng: random.Random, start: float, end: float, exclude: set[str]
) -> tuple[list[dict], list[dict], list[dict]]:
    """Unrelated anomalies, flapping signals, log noise and unrelated changes in the window."""
    ids = sorted(e for e in estate.entities if e not in exclude)
    n = len(estate.entities)
    anomalies: list[dict] = []
    events: list[dict] = []
    changes: list[dict] = []
    if not ids:
        return anomalies, events, changes
    for _ in range(max(1, round(n * rng.uniform(0.02, 0.05)))):
        eid = rng.choice(ids)
        family = rng.choice(("latency", "errors", "saturation", "saturation", "traffic"))
        score = min(14.0, 3 + rng.expovariate(1 / 2.5))
        anomalies.append(family_anomaly(estate, eid, family, rng.uniform(start, end - 60), score, rng.uniform(60, 900)))
    for _ in range(rng.randint(1, 3)):  # flapping: the same signal going on and off
        eid = rng.choice(ids)
        family = rng.choice(("latency", "saturation", "errors"))
        t = rng.uniform(start, start + (end - start) / 2)
        for _ in range(rng.randint(2, 4)):
            anomalies.append(family_anomaly(estate, eid, family, t, rng.uniform(3, 6), rng.uniform(30, 120)))
            t += rng.uniform(150, 400)
    classes = ("other", "other", "timeout", "connection", "auth", "crash", "oom", "timeout")
    for _ in range(max(1, round(n * rng.uniform(0.03, 0.08)))):
        eid = rng.choice(ids)
        events.append(event_row(estate, eid, rng.choice(classes), rng.uniform(start, end), rng.randint(1, 8)))
    events += _routine_logs(estate, rng, start, end, classes)
    services = [e for e in ids if estate.entities[e].label == "Service"]
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        if services:
            eid = rng.choice(services)
            kind = rng.choice(("deploy", "deploy", "config"))
            changes.append(
                change_row(estate, eid, kind, rng.uniform(start, end), f"routine {kind} of {estate.entities[eid].name}")
            )
    return anomalies, events, changes


def _routine_logs(estate: Estate, rng: random.Random, start: float, end: float, classes: tuple[str, ...]) -> list[dict]:
    """Templates some entities log all through the window, errors included, before and after the fault.

    Real systems write the same warnings and errors every few minutes for months; an entity's logs
    are evidence about an incident only where they changed, and training must see that routine.
    Any entity may be a routine logger, the root cause included.
    """
    ids = sorted(estate.entities)
    events: list[dict] = []
    for _ in range(max(1, round(len(ids) * rng.uniform(0.05, 0.15)))):
        eid = rng.choice(ids)
        cls = rng.choice(classes)
        every = rng.uniform(60, 300)
        t = start + rng.uniform(0, every)
        while t < end:
            row = event_row(estate, eid, cls, t, rng.randint(1, 6))
            # its own id: apart from a fault's lines, and from another routine line, in the same bucket
            events.append({**row, "id": f"{row['id']}:routine-{len(events)}"})
            t += every * rng.uniform(0.5, 1.5)
    return events


# Chance that one family is restless across the estate in an incident's window: anomalous now and
# then on most entities watched in it, unrelated to the fault (client latencies of a real system that
# jump to a timeout on every service every few minutes). Evidence all entities share tells none of
# them apart; the ranker has to learn that from data where it happens.
RESTLESS_FAMILY = 0.25
RESTLESS_FAMILIES = ("latency", "latency", "traffic", "errors")


def restless_rows(
    estate: Estate, rng: random.Random, watched: list[tuple[str, str]], start: float, end: float
) -> list[dict]:
    """Anomalies of one restless family on 40-90 % of the entities watched in it, or none."""
    if rng.random() >= RESTLESS_FAMILY:
        return []
    family = rng.choice(RESTLESS_FAMILIES)
    entities = sorted({eid for eid, f in watched if f == family})
    rows = []
    for eid in rng.sample(entities, round(len(entities) * rng.uniform(0.4, 0.9))):
        for _ in range(rng.randint(1, 3)):
            # a real detector's robust z on a near-flat series that jumps is in the hundreds or more
            score = 6.0 * 10 ** rng.uniform(0.0, 3.0)
            rows.append(family_anomaly(estate, eid, family, rng.uniform(start, end - 60), score, rng.uniform(60, 240)))
    return rows


# Chance a watched family strays past the deviation floor by chance somewhere in the window: real
# series do (a busy minute, a GC pause), so a small deviation alone must not look like a cause.
NOISE_DEVIATION = 0.15
# How far past the floor such a stray goes: exponential with this mean (robust z), cut at five means past
# the floor. A detector whose scale comes from 20-60 points of noisy history strays further.
NOISE_DEVIATION_SIZE = 0.7


def deviation_rows(
    estate: Estate,
    rng: random.Random,
    anomalies: list[dict],
    weak: list[dict],
    watched: list[tuple[str, str]],
    start: float,
    end: float,
) -> list[dict]:
    """Deviation rows: each anomaly's peak at its onset, the shifts under the detector's threshold
    (`weak`: entity_id, family, at, peak), and chance excursions of watched families."""
    found: dict[tuple[str, str, float], dict] = {}

    def add(eid: str, family: str, at: float, peak: float, signal: str) -> None:
        bucket = float(int(at // BUCKET_SECONDS) * BUCKET_SECONDS)
        key = (eid, family, bucket)
        if key not in found or found[key]["peak"] < peak:
            found[key] = {
                "id": f"dev:{eid}:{family}:{int(bucket)}",
                "entity_id": eid,
                "entity_label": estate.entities[eid].label,
                "family": family,
                "at": bucket,
                "peak": round(peak, 3),
                "signal": signal,
                "source": "simulator",
            }

    for a in anomalies:
        add(a["entity_id"], a["family"], a["onset"], a["score"], a["signal"])
    for w in weak:
        add(
            w["entity_id"],
            w["family"],
            w["at"],
            w["peak"],
            FAMILY_SIGNALS[w["family"]][estate.entities[w["entity_id"]].label][0],
        )
    for eid, family in watched:
        if rng.random() < NOISE_DEVIATION:
            peak = DEVIATION_FLOOR + min(5 * NOISE_DEVIATION_SIZE, rng.expovariate(1 / NOISE_DEVIATION_SIZE))
            add(eid, family, rng.uniform(start, end), peak, FAMILY_SIGNALS[family][estate.entities[eid].label][0])
    return sorted(found.values(), key=lambda d: (d["at"], d["entity_id"], d["family"]))
