"""One simulated incident: an estate, a fault, its spread, the signals it left, noise, symptoms."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from rca.rank.reach import hop_counts, neighbours
from rca.rank.types import (
    OBSERVED_LOGS,
    AnomalySignal,
    ChangeSignal,
    DeviationSignal,
    Edge,
    EntityNode,
    EventSignal,
    IncidentSubgraph,
    Symptom,
    observed_families,
)
from rca.simulator.estate import Estate, generate_estate
from rca.simulator.faults import FaultProfile, load_profiles
from rca.simulator.propagate import Affected, instances_of, reach_a_service, spread, spread_targets
from rca.simulator.signals import (
    FAMILY_SIGNALS,
    anomaly_row,
    change_row,
    deviation_rows,
    event_row,
    family_anomaly,
    noise_rows,
    restless_rows,
)

FAULT_TYPES: tuple[str, ...] = tuple(load_profiles())
WINDOW_BEFORE_S = 1800.0
WINDOW_AFTER_S = 300.0
MISSING_SIGNAL = 0.15  # chance a reached entity's anomaly went unnoticed
# chance the detector saw nothing on a symptom entity that is not the root cause (the alert came from an
# SLO or a synthetic check): watched and normal to the ranker, which must not take it for the culprit
QUIET_SYMPTOM = 0.15
UNWATCHED_SHARES = (0.0, 0.0, 0.0, 0.1, 0.3, 1.0)  # per incident and entity kind: the share nothing watches
# factor on each fault profile's `missing` (faults.yaml): the chance the root cause's own signals are
# absent; with UNWATCHED_SHARES and faults that show nothing of their own, it decides how many roots
# are silent (about two in five of the training suite at 1)
ROOT_MISSING = 1.0
# Level shifts of every size: the chance the root cause's own shift stays under the detector's
# opening threshold (a deviation, no anomaly), and the share of reached entities whose anomaly went
# unnoticed (MISSING_SIGNAL) that still deviate below it rather than being unobserved.
WEAK_ROOT = 0.2
# ... and the chance it lies far beyond that threshold: a hogged CPU, a saturated pool or a dead
# dependency's error ratio leaves a flat baseline by a robust z in the tens to the thousands on real
# fault data, while the effects it spreads are attenuated copies. 0 in training (the shipped model's
# range); `bench/accuracy.py --knob strong_root=0.5` measures the engine outside it (docs/accuracy.md)
STRONG_ROOT = 0.0
STRONG_ROOT_GAIN = (0.5, 2.0)  # log10 of the factor a strong root's own score is multiplied by
HALF_WATCHED_SHARES = (0.0, 0.0, 0.0, 0.1, 0.3)  # per incident and kind: share with metrics or logs unwatched
WEAK_REACHED = 0.5
# per incident and kind of entity (services excepted: alerts fire on them), the chance that one signal
# family is monitored on none of that kind (hosts without network series, datastores without latency):
# a family nobody of a kind has says nothing about one of them, unlike a series missing on one entity
FAMILY_GAP = 0.3
# the chance that an earlier, unrelated fault left its footprint in the window (5-25 minutes before
# this one: a previous incident, a fault injected before this one): its anomalies, some still open,
# and its log lines belong to another story, which the alert's own does not share
PRIOR_INCIDENT = 0.3
# Log lines that name a peer without pointing at the fault. A root cause blames what it calls too (a
# service starved of CPU times out on its own outbound calls; a code defect fails the call it makes),
# and services complain about peers that are fine (a discovery client logging "no instances available
# for <peer>", a retry against a busy callee): on TrainTicket the entities that new error lines named
# were mostly not the root cause, and the root named a peer itself in 8 of 45 faults. Per incident:
# the chance the root's own new error lines name one of its dependencies (ROOT_BLAMES), and the chance
# that 1-3 other services start logging an error naming one of theirs in the minutes around the alert
# (STRAY_BLAME). Both 0 in the shipped model's training: there every named entity lies on the fault's
# path and no root names a peer. `bench/accuracy.py --knob root_blames=0.25 --knob stray_blame=0.4`
# measures the engine outside that range; models trained with 0.1 and 0.2 (`rca train --knob`) rank
# TrainTicket better than the same seeds without, none better than the shipped model on every suite
# (docs/accuracy.md).
ROOT_BLAMES = 0.0
STRAY_BLAME = 0.0
BLAME_CLASSES = ("timeout", "connection", "other")
# When a real detector can date things. A fault spreads along synchronous calls within the request
# (a slow callee makes every caller up the chain slow in the same second), not a hop every 5-60 s;
# and a detector reading series scraped every `step` seconds dates an onset to the first scrape that
# shows it, so on 1-minute data a root and its callers start in the same minute. Per incident: the
# chance the fault spreads synchronously (hops of SYNC_HOP_S), and the chance the metrics' onsets lie
# on a scrape grid of one of METRIC_STEPS_S (anomalies only: log lines keep their own timestamps).
# Both 0 in training; models trained with them rank the lab and TrainTicket worse (docs/accuracy.md).
SYNCHRONOUS = 0.0
SYNC_HOP_S = (0.0, 2.0)
COARSE_STEP = 0.0
METRIC_STEPS_S = (15.0, 30.0, 60.0, 60.0, 300.0)


@dataclass
class SimulatedIncident:
    """Graph content of one incident plus its ground truth."""

    seed: int
    fault_type: str
    root_cause_id: str
    topology: dict[str, list[dict]]  # {"entities": [...], "edges": [...]}
    anomalies: list[dict]
    events: list[dict]
    changes: list[dict]
    symptoms: list[dict]  # {"entity_id", "family", "observed_at"}
    window: tuple[float, float]
    affected: list[str] = field(default_factory=list)  # entities the fault reached (truth, for tests)
    # What is monitored: entity id -> families it has series for, and "logs". Every entity is
    # monitored for the families the simulator models and logs, except where the "missing signals"
    # noise struck (a root whose own metrics are absent, a reached entity whose anomaly went
    # unnoticed): there the family is not observed, so training sees all three states.
    observed: dict[str, list[str]] = field(default_factory=dict)
    # Deviation rows (graph_schema.model.DEVIATION_PROPERTIES): every anomaly's peak, the shifts that
    # stayed under the detector's threshold, and watched families straying past the floor by chance.
    deviations: list[dict] = field(default_factory=list)

    def to_subgraph(self, max_hops: int | None = None) -> IncidentSubgraph:
        """The engine's input straight from the rows, optionally cut to max_hops around the symptoms."""
        nodes = {
            e["id"]: EntityNode(e["id"], e["label"], e["name"], e.get("technology")) for e in self.topology["entities"]
        }
        edges = [Edge(e["source"], e["target"], e["type"]) for e in self.topology["edges"]]
        if max_hops is not None:
            keep = _within_hops(nodes, edges, [s["entity_id"] for s in self.symptoms], max_hops)
            nodes = {k: v for k, v in nodes.items() if k in keep}
            edges = [e for e in edges if e.source in keep and e.target in keep]
        start, end = self.window
        subgraph = IncidentSubgraph(
            nodes=nodes,
            edges=edges,
            anomalies=[
                AnomalySignal(
                    a["entity_id"],
                    a["signal"],
                    a["family"],
                    a["onset"],
                    a["end"],
                    a["direction"],
                    a["score"],
                    a["value"],
                    a["baseline"],
                )
                for a in self.anomalies
                if a["entity_id"] in nodes
            ],
            events=[
                EventSignal(
                    e["entity_id"],
                    e["template"],
                    e["signature_class"],
                    e["severity"],
                    e["count"],
                    e["first_ts"],
                    e["last_ts"],
                    e["sample"],
                )
                for e in self.events
                if e["entity_id"] in nodes
            ],
            changes=[
                ChangeSignal(c["entity_id"], c["at"], c["change_type"], c["description"])
                for c in self.changes
                if c["entity_id"] in nodes
            ],
            symptoms=[Symptom(s["entity_id"], s["family"], s["observed_at"]) for s in self.symptoms],
            window_start=start,
            window_end=end,
            deviations=[
                DeviationSignal(d["entity_id"], d["family"], d["at"], d["peak"])
                for d in self.deviations
                if d["entity_id"] in nodes
            ],
        )
        subgraph.observed = observed_families(
            ((eid, family) for eid, families in self.observed.items() for family in families),
            nodes,
            subgraph.anomalies,
            subgraph.events,
        )
        return subgraph

    def coverage_rows(self) -> list[dict]:
        """The coverage as rows for the graph (entity_id, entity_label, family, first_seen, last_seen)."""
        labels = {e["id"]: e["label"] for e in self.topology["entities"]}
        start, end = self.window
        return [
            {
                "entity_id": eid,
                "entity_label": labels[eid],
                "family": family,
                "first_seen": start - 3600.0,
                "last_seen": end,
            }
            for eid, families in sorted(self.observed.items())
            for family in families
        ]


def _within_hops(nodes, edges, seeds, max_hops: int) -> set[str]:
    return set(hop_counts(neighbours(edges), [s for s in seeds if s in nodes], max_hops))


def _pick_root(estate: Estate, rng: random.Random, profile: FaultProfile) -> str:
    candidates = estate.of_label(profile.root)
    if profile.name == "cert_expiry":  # a certificate only matters to a service somebody calls
        called = {t for _, t, k in estate.edges if k == "CALLS"}
        candidates = [c for c in candidates if c in called] or candidates
    return rng.choice(candidates)


def _prior_footprint(estate: Estate, rng: random.Random, root: str, t0: float) -> tuple[list[dict], list[dict]]:
    """Anomalies and log lines of an earlier fault elsewhere, 5-25 minutes before this one began."""
    profiles = load_profiles()
    profile = profiles[rng.choice(sorted(profiles))]
    other = _pick_root(estate, rng, profile)
    if other == root:
        return [], []
    at = t0 - rng.uniform(300, 1500)
    anomalies, events = [], []
    for eid, hit in sorted(spread(estate, rng, other, at).items()):
        family = _root_family(profile) if eid == other else profile.victim
        # most are over before this fault begins; some are still open (an unresolved or flapping alert)
        duration = rng.uniform(60, t0 - at) if rng.random() < 0.7 else None
        anomalies.append(family_anomaly(estate, eid, family, hit.onset, rng.uniform(4, 12) * hit.strength, duration))
        classes = profile.own_logs if eid == other else profile.caller_logs
        events += _logs(rng, estate, eid, classes, hit.onset, hit.strength)
    return anomalies, events


def _logs(
    rng: random.Random,
    estate: Estate,
    eid: str,
    classes: dict[str, float],
    at: float,
    strength: float,
    target: str = "",
) -> list[dict]:
    rows = []
    for cls, probability in sorted(classes.items()):
        if rng.random() < probability:
            count = max(1, int(rng.uniform(5, 120) * min(1.0, strength)))
            rows.append(event_row(estate, eid, cls, at + rng.uniform(0, 40), count, target))
    return rows


def _unwatched(estate: Estate, rng: random.Random) -> set[str]:
    """Entities nothing watches: per incident, each kind of entity is monitored to its own extent
    (hosts without node exporters, services without metrics or shipped logs), the root cause
    included, so training sees unobserved entities as unknown, neither guilty nor healthy."""
    share = {label: rng.choice(UNWATCHED_SHARES) for label in sorted({e.label for e in estate.entities.values()})}
    return {eid for eid, e in sorted(estate.entities.items()) if rng.random() < share[e.label]}


def _family_gaps(estate: Estate, rng: random.Random) -> set[tuple[str, str]]:
    """(label, family) pairs monitored on no entity of that label in this incident (FAMILY_GAP)."""
    labels = sorted({e.label for e in estate.entities.values()} - {"Service"})
    return {(label, rng.choice(sorted(FAMILY_SIGNALS))) for label in labels if rng.random() < FAMILY_GAP}


def _half_watched(estate: Estate, rng: random.Random, unwatched: set[str]) -> tuple[set[str], set[str]]:
    """Entities whose logs are not shipped, and entities whose metrics are not scraped (their logs are):
    per incident and kind of entity, a share of each (HALF_WATCHED_SHARES), so a family that shows
    nothing because nobody watches it is not taken for one that shows something."""
    labels = sorted({e.label for e in estate.entities.values()})
    share_logs = {label: rng.choice(HALF_WATCHED_SHARES) for label in labels}
    share_metrics = {label: rng.choice(HALF_WATCHED_SHARES) for label in labels}
    no_logs, no_metrics = set(), set()
    for eid, e in sorted(estate.entities.items()):
        if eid in unwatched:
            continue
        if rng.random() < share_logs[e.label]:
            no_logs.add(eid)
        elif rng.random() < share_metrics[e.label]:
            no_metrics.add(eid)
    return no_logs, no_metrics


def simulate(seed: int, n_entities: int, fault_type: str, id_prefix: str = "") -> SimulatedIncident:
    """A deterministic incident for (seed, size, fault type); ids are prefixed with id_prefix."""
    profiles = load_profiles()
    if fault_type not in profiles:
        raise ValueError(f"unknown fault type {fault_type!r}; known: {', '.join(profiles)}")
    if not 4 <= n_entities <= 20000:
        raise ValueError(f"n_entities must be between 4 and 20000, got {n_entities}")
    profile = profiles[fault_type]
    rng = random.Random(f"{seed}:{n_entities}:{fault_type}")
    # deviations draw from their own stream, so the rest of an incident is the same with or without them
    weak_rng = random.Random(f"{seed}:{n_entities}:{fault_type}:deviations")
    estate = generate_estate(rng, n_entities, id_prefix)
    root = _pick_root(estate, rng, profile)
    t0 = 1_750_000_000.0 + (seed % 10_000) * 3600.0
    # its own stream: with both knobs at 0 every incident is the one of before (a hop's delay is one draw
    # of the main stream whatever its range)
    timing_rng = random.Random(f"{seed}:{n_entities}:{fault_type}:timing")
    synchronous = timing_rng.random() < SYNCHRONOUS
    step = timing_rng.choice(METRIC_STEPS_S) if timing_rng.random() < COARSE_STEP else None
    affected = spread(estate, rng, root, t0, SYNC_HOP_S if synchronous else (5.0, 60.0))
    reach_a_service(estate, rng, affected, root)

    anomalies: list[dict] = []
    events: list[dict] = []
    changes: list[dict] = []
    weak: list[dict] = []  # shifts under the detector's threshold: (entity, family, at, peak)
    unobserved: set[tuple[str, str]] = set()  # (entity, family) the missing-signals noise struck
    root_weak = weak_rng.random() < WEAK_ROOT
    # its own stream: the generator's other draws stay those of the profiles without an echo
    echo_rng = random.Random(f"{seed}:{n_entities}:{fault_type}:echo")
    # and so does the size of a strong root: with the knob at 0 every incident is the one of before
    strong_rng = random.Random(f"{seed}:{n_entities}:{fault_type}:strong")
    root_gain = 10 ** strong_rng.uniform(*STRONG_ROOT_GAIN) if strong_rng.random() < STRONG_ROOT else 1.0
    if rng.random() < profile.missing * ROOT_MISSING:
        unobserved |= {(root, own.family) for own in profile.own}
        if profile.dark:
            unobserved |= {(root, family) for family in (*FAMILY_SIGNALS, OBSERVED_LOGS)}
    else:
        for own in profile.own:
            score = rng.uniform(*own.score) * root_gain
            _, baseline = _signal_baseline(estate, root, own.family)
            if root_weak:
                weak.append(_weak(root, own.family, t0, weak_rng))
                continue
            onset = t0 + rng.uniform(-15, 15)
            anomalies.append(
                anomaly_row(estate, root, own.signal, own.family, own.direction, onset, None, score, baseline)
            )
            if profile.host_echo and (profile.host_echo_family is None or own is profile.own[0]):
                anomalies += [
                    family_anomaly(
                        estate,
                        host,
                        profile.host_echo_family or own.family,
                        onset + echo_rng.uniform(-5, 10),
                        score * echo_rng.uniform(0.6, 1.0),
                    )
                    for host in _hosts_of(estate, root)
                    if echo_rng.random() < profile.host_echo
                ]
    events += _logs(rng, estate, root, profile.own_logs, t0, 1.0)
    if profile.change and rng.random() < profile.change_probability:
        at = t0 - rng.uniform(30, 600) if profile.change == "deploy" else t0 + rng.uniform(10, 120)
        changes.append(
            change_row(estate, root, profile.change, at, f"{profile.change} of {estate.entities[root].name}")
        )

    symptoms = _symptoms(estate, rng, affected, root, profile)
    symptom_ids = {s["entity_id"] for s in symptoms}
    direct_users = {t for t, _ in spread_targets(estate)[root]}
    base_score = rng.uniform(5, 10)
    for eid, hit in sorted(affected.items()):
        if eid == root:
            continue
        family = profile.victim if not hit.side_effect else _root_family(profile)
        if eid in symptom_ids and rng.random() < QUIET_SYMPTOM:
            pass  # watched, and the detector saw nothing: the alert came from elsewhere
        elif eid in symptom_ids or rng.random() >= MISSING_SIGNAL:
            score = max(2.5, base_score * hit.strength)
            anomalies.append(family_anomaly(estate, eid, family, hit.onset + rng.uniform(-15, 15), score))
            if family == "latency" and rng.random() < 0.3:  # timeouts surface as errors too
                anomalies.append(family_anomaly(estate, eid, "errors", hit.onset + rng.uniform(0, 40), score * 0.7))
        elif weak_rng.random() < WEAK_REACHED:
            weak.append(_weak(eid, family, hit.onset, weak_rng))
        else:
            unobserved.add((eid, family))
        classes = profile.caller_logs if eid in direct_users else profile.victim_logs
        # A line names the peer the entity talks to (the one the fault came from), not the root cause.
        parent = hit.parent if hit.parent and estate.entities[hit.parent].label != "Host" else None
        events += _logs(
            rng,
            estate,
            eid,
            classes,
            hit.onset,
            hit.strength,
            estate.entities[parent].name if parent and not hit.side_effect else "",
        )

    if profile.starves_callees:
        # its own random stream: the incidents of profiles without it stay as they were
        anomalies += _starved_dependencies(
            estate, random.Random(f"{seed}:{n_entities}:{fault_type}:starve"), root, affected, t0, profile
        )
    alert = min(s["observed_at"] for s in symptoms)
    start, end = alert - WINDOW_BEFORE_S, alert + WINDOW_AFTER_S
    noise_a, noise_e, noise_c = noise_rows(estate, rng, start, end, exclude={root})
    anomalies, events = anomalies + noise_a, events + noise_e
    prior_rng = random.Random(f"{seed}:{n_entities}:{fault_type}:prior")  # its own stream, as above
    if prior_rng.random() < PRIOR_INCIDENT:
        prior_a, prior_e = _prior_footprint(estate, prior_rng, root, t0)
        anomalies, events = anomalies + prior_a, events + prior_e
    # its own stream, as above
    events += _misleading_mentions(estate, random.Random(f"{seed}:{n_entities}:{fault_type}:blame"), root, t0, alert)
    unwatched = _unwatched(estate, rng)  # nothing of theirs reaches the graph
    # ... and entities only half watched: metrics without shipped logs, or logs without metrics
    no_logs, no_metrics = _half_watched(estate, weak_rng, unwatched)
    anomalies = [a for a in anomalies if a["entity_id"] not in unwatched | no_metrics]
    events = [e for e in events if e["entity_id"] not in unwatched | no_logs]
    unobserved |= {(eid, f) for eid in unwatched for f in (*FAMILY_SIGNALS, OBSERVED_LOGS)}
    gaps = _family_gaps(estate, random.Random(f"{seed}:{n_entities}:{fault_type}:gaps"))
    if gaps:
        anomalies = [a for a in anomalies if (estate.entities[a["entity_id"]].label, a["family"]) not in gaps]
        weak = [w for w in weak if (estate.entities[w["entity_id"]].label, w["family"]) not in gaps]
        unobserved |= {(eid, f) for eid, e in estate.entities.items() for label, f in gaps if e.label == label}
    unobserved |= {(eid, f) for eid in no_metrics for f in FAMILY_SIGNALS} | {(eid, OBSERVED_LOGS) for eid in no_logs}
    watched = [(eid, f) for eid in sorted(estate.entities) for f in FAMILY_SIGNALS if (eid, f) not in unobserved]
    # its own random stream, so the incidents are otherwise those of the generator without it
    anomalies += restless_rows(estate, random.Random(f"{seed}:{n_entities}:{fault_type}:restless"), watched, start, end)
    if step is not None:
        anomalies = [_on_scrape_grid(a, step) for a in anomalies]
    deviations = deviation_rows(
        estate,
        weak_rng,
        anomalies,
        [w for w in weak if w["entity_id"] not in unwatched | no_metrics],
        watched,
        start,
        end,
    )
    return SimulatedIncident(
        seed=seed,
        fault_type=fault_type,
        root_cause_id=root,
        topology={
            "entities": [e.as_row() for e in estate.entities.values()],
            "edges": [
                {
                    "source": s,
                    "target": t,
                    "type": k,
                    "source_label": estate.entities[s].label,
                    "target_label": estate.entities[t].label,
                }
                for s, t, k in estate.edges
            ],
        },
        anomalies=anomalies,
        events=events,
        changes=changes + noise_c,
        symptoms=symptoms,
        window=(start, end),
        affected=sorted(affected),
        observed={
            eid: [f for f in (*FAMILY_SIGNALS, OBSERVED_LOGS) if (eid, f) not in unobserved]
            for eid in sorted(estate.entities)
        },
        deviations=deviations,
    )


def _on_scrape_grid(anomaly: dict, step: float) -> dict:
    """The anomaly as a detector on series scraped every `step` seconds dates it: each time at the
    first scrape at or after it."""

    def scrape(t: float | None) -> float | None:
        return None if t is None else math.ceil(t / step) * step

    return {
        **anomaly,
        "onset": scrape(anomaly["onset"]),
        "end": scrape(anomaly["end"]),
        "last_ts": scrape(anomaly["last_ts"]),
    }


def _misleading_mentions(estate: Estate, rng: random.Random, root: str, t0: float, alert: float) -> list[dict]:
    """New error lines naming a peer that is not what failed (ROOT_BLAMES, STRAY_BLAME)."""
    dependencies: dict[str, list[str]] = {}
    for source, target, kind in estate.edges:
        if kind in ("CALLS", "DEPENDS_ON"):
            dependencies.setdefault(source, []).append(target)
    blames: list[tuple[str, float, int]] = []  # (entity, first line, lines)
    root_blames, stray = rng.random() < ROOT_BLAMES, rng.random() < STRAY_BLAME
    if root_blames and dependencies.get(root):
        blames.append((root, t0 + rng.uniform(0, 60), rng.randint(3, 60)))
    if stray:
        namers = [e for e in sorted(dependencies) if e != root and estate.entities[e].label == "Service"]
        for eid in rng.sample(namers, min(len(namers), rng.randint(1, 3))):
            blames.append((eid, rng.uniform(alert - 480, alert + 60), rng.randint(1, 40)))
    events = []
    for eid, at, count in blames:
        peer = estate.entities[rng.choice(dependencies[eid])].name
        row = event_row(estate, eid, rng.choice(BLAME_CLASSES), at, count, peer)
        # its own id: apart from a fault's lines of the same class in the same bucket
        events.append({**row, "id": f"{row['id']}:blames-{peer}"})
    return events


def _starved_dependencies(
    estate: Estate, rng: random.Random, root: str, affected: dict[str, Affected], t0: float, profile: FaultProfile
) -> list[dict]:
    """Traffic drops on what the root no longer calls: each dependency loses the root's share of its
    callers' load (an instance's share of its service's), and a drop too small to see is not seen."""
    callers: dict[str, set[str]] = {}
    for source, target, kind in estate.edges:
        if kind in ("CALLS", "DEPENDS_ON"):
            callers.setdefault(target, set()).add(source)
    service, share = root, 1.0
    if estate.entities[root].label == "Instance":
        service = next((t for s, t, k in estate.edges if k == "INSTANCE_OF" and s == root), root)
        share = 1.0 / max(1, len(instances_of(estate).get(service, [])))
    rows = []
    for dependency in sorted(d for d, users in callers.items() if service in users):
        if dependency in affected or rng.random() >= profile.starves_callees:
            continue
        score = rng.uniform(6, 14) * share / len(callers[dependency])
        if score >= 2.5:
            rows.append(family_anomaly(estate, dependency, "traffic", t0 + rng.uniform(0, 20), score))
    return rows


def _hosts_of(estate: Estate, eid: str) -> list[str]:
    """The hosts an entity runs on: its own, or for a service those of its instances."""
    instances = {s for s, t, k in estate.edges if k == "INSTANCE_OF" and t == eid}
    return sorted({t for s, t, k in estate.edges if k == "RUNS_ON" and s in instances | {eid}})


def _weak(eid: str, family: str, onset: float, rng: random.Random) -> dict:
    """A shift the detector's threshold did not reach: seen only as a deviation."""
    return {"entity_id": eid, "family": family, "at": onset + rng.uniform(-15, 15), "peak": rng.uniform(3.5, 6.0)}


def _signal_baseline(estate: Estate, eid: str, family: str) -> tuple[str, float]:
    from rca.simulator.signals import FAMILY_SIGNALS

    return FAMILY_SIGNALS[family][estate.entities[eid].label]


def _root_family(profile: FaultProfile) -> str:
    return profile.own[0].family if profile.own else profile.victim


def _symptoms(
    estate: Estate, rng: random.Random, affected: dict[str, Affected], root: str, profile: FaultProfile
) -> list[dict]:
    """Alerts fire on the most user-facing services the fault reached (often far from the cause)."""
    services = [e for e in affected if estate.entities[e].label == "Service" and not affected[e].side_effect]
    if not services:
        services = [e for e in affected if estate.entities[e].label == "Service"] or [root]
    top = min(estate.entities[e].tier for e in services)
    chosen = sorted(e for e in services if estate.entities[e].tier == top)
    rng.shuffle(chosen)
    chosen = chosen[: 1 if rng.random() < 0.7 else 2]
    family = profile.victim
    return [
        {
            "entity_id": e,
            "family": family if e != root else _root_family(profile),
            "observed_at": round(affected[e].onset + rng.uniform(30, 120), 3),
        }
        for e in chosen
    ]
