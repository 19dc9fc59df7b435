"""The most likely propagation path from a candidate to each symptom, scored, with per-hop evidence."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from graph_schema.model import TRACE_HOP_SIGNAL
from rca import fast
from rca.fast import engine_kernels as kernels
from rca.rank.features import ONSET_TOLERANCE_S, FeatureTable, onset_array
from rca.rank.graph import PropagationGraph
from rca.rank.log_change import LogBurst, TemplateChange, log_bursts, template_changes
from rca.rank.log_sequence import BrokenSequence, broken_sequences
from rca.rank.types import (
    AnomalySignal,
    ChangeSignal,
    EventSignal,
    Hop,
    IncidentSubgraph,
    Path,
)
from rca.rank.weak_deviations import WeakDeviation, weak_deviations

MAX_HOPS = 8
OUT_OF_ORDER = 0.5  # a hop whose effect started clearly before its cause is half as likely
TEMPLATE_SHOWN = 90  # characters of a changed log template quoted in an evidence line


def hop_probability(
    link_weight: float, effect_evidence: float, cause_onset: float | None, effect_onset: float | None
) -> float:
    """How likely the fault took this hop: the relation's weight, the effect's evidence, onset order."""
    p = link_weight * (0.25 + 0.75 * effect_evidence)
    if cause_onset is not None and effect_onset is not None and effect_onset < cause_onset - ONSET_TOLERANCE_S:
        p *= OUT_OF_ORDER
    return p


_Signal = TypeVar("_Signal", AnomalySignal, EventSignal, ChangeSignal, TemplateChange)


def _by_entity(signals: Iterable[_Signal]) -> dict[str, list[_Signal]]:
    """Signals grouped by entity id, each group in the given order."""
    groups: dict[str, list[_Signal]] = {}
    for s in signals:
        groups.setdefault(s.entity_id, []).append(s)
    return groups


class Signals:
    """The subgraph's anomalies, log events and changes grouped by entity (in subgraph order)."""

    def __init__(
        self,
        subgraph: IncidentSubgraph,
        changed_templates: list[TemplateChange] | None = None,
        bursts: dict[str, LogBurst] | None = None,
        sequences: dict[str, BrokenSequence] | None = None,
    ):
        self.anomalies: dict[str, list[AnomalySignal]] = _by_entity(subgraph.anomalies)
        self.events: dict[str, list[EventSignal]] = _by_entity(subgraph.events)
        self.changes: dict[str, list[ChangeSignal]] = _by_entity(subgraph.changes)
        self.deviations: dict[str, list[WeakDeviation]] = {}
        for w in weak_deviations(subgraph):
            self.deviations.setdefault(w.entity_id, []).append(w)
        if changed_templates is None:  # not worked out by the features already
            changed_templates = template_changes(
                subgraph.events, subgraph.window_start, subgraph.alert_time, subgraph.window_end
            )
        self.changed_templates: dict[str, list[TemplateChange]] = _by_entity(changed_templates)
        self.bursts = log_bursts(subgraph.events, subgraph.alert_time) if bursts is None else bursts
        self.sequences = broken_sequences(subgraph.events, subgraph.alert_time) if sequences is None else sequences
        self._lines: dict[str, list[str]] = {}

    def lines(self, entity_id: str) -> list[str]:
        """Every evidence line of one entity, strongest first (worked out once per entity)."""
        if entity_id not in self._lines:
            lines = []
            for a in sorted(self.anomalies.get(entity_id, ()), key=lambda a: -a.score)[:2]:
                lines.append(_anomaly_line(a))
            for w in sorted(self.deviations.get(entity_id, ()), key=lambda w: -w.peak)[:2]:
                lines.append(f"{w.text} from {_clock(w.first_at)}")
            changed = self.changed_templates.get(entity_id, ())[:2]  # what changed in its logs says most
            for t in changed:
                lines.append(
                    f"{t.kind} log template{' (' + t.signature_class + ')' if t.signature_class != 'other' else ''}: "
                    f"{t.template[:TEMPLATE_SHOWN]!r}, {t.lines_after} lines from {_clock(t.first_after)}"
                    + (f" ({t.lines_before} before)" if t.lines_before else "")
                )
            burst = self.bursts.get(entity_id)
            if burst is not None and burst.is_burst and all(t.template != burst.template for t in changed):
                lines.append(
                    f"log burst: {burst.template[:TEMPLATE_SHOWN]!r} in {burst.minutes_recent} of the last "
                    f"{burst.heard_recent} minutes heard, {burst.minutes_before} of {burst.heard_before} before"
                )
            sequence = self.sequences.get(entity_id)
            if sequence is not None and sequence.is_broken:
                lines.append(
                    f"log sequence broken: {sequence.template[:TEMPLATE_SHOWN]!r} {sequence.lines_recent} lines "
                    f"to {sequence.partner_recent} of {sequence.partner[:TEMPLATE_SHOWN]!r} lately, "
                    f"{sequence.lines_before} to {sequence.partner_before} before"
                )
            events: dict[str, int] = {}
            for e in self.events.get(entity_id, ()):
                events[e.signature_class] = events.get(e.signature_class, 0) + e.count
            for cls, n in sorted(events.items(), key=lambda kv: -kv[1])[:2]:
                lines.append(f"{n} {cls} log lines")
            for c in self.changes.get(entity_id, ()):
                lines.append(f"{c.change_type} at {_clock(c.at)}")
            self._lines[entity_id] = lines
        return self._lines[entity_id]


@dataclass
class PathContext:
    """What every candidate's path search shares: the cost of each link and the signals by entity."""

    subgraph: IncidentSubgraph
    graph: PropagationGraph
    table: FeatureTable
    log_p: np.ndarray  # log of each link's hop probability (floored at 1e-9): a hop costs -log p
    order_key: np.ndarray  # rank of each entity id in string order: heap ties break by id
    signals: Signals
    hops: dict[int, Hop] = field(default_factory=dict)  # per link: the Hop with its evidence, shared by all paths

    def hop(self, k: int) -> Hop:
        """Link k as a Hop with its evidence lines (worked out once per ranking)."""
        if k not in self.hops:
            lk = self.graph.link(k)
            evidence = hop_evidence(self.subgraph, self.table, lk.cause, lk.effect, self.signals)
            self.hops[k] = Hop(lk.cause, lk.relation, lk.effect, tuple(evidence))
        return self.hops[k]

    @classmethod
    def build(cls, subgraph: IncidentSubgraph, graph: PropagationGraph, table: FeatureTable) -> PathContext:
        """Link costs for every link at once (hop_probability's arithmetic, column-wise)."""
        cause, effect = graph.cause_rows, graph.effect_rows
        onset = onset_array(table.onsets or {}, graph)
        p = graph.link_weights * (0.25 + 0.75 * table.column("evidence")[effect])
        p[onset[effect] < onset[cause] - ONSET_TOLERANCE_S] *= OUT_OF_ORDER  # NaN (no onset) compares False
        log_p = np.array(
            list(map(math.log, np.maximum(p, 1e-9).tolist()))
        )  # math.log, as the search has always taken it
        key = np.zeros(len(graph.nodes), dtype=np.int64)
        key[sorted(range(len(graph.nodes)), key=graph.nodes.__getitem__)] = np.arange(len(graph.nodes))
        return cls(
            subgraph,
            graph,
            table,
            log_p,
            key,
            Signals(subgraph, table.changed_templates, table.log_bursts, table.broken_sequences),
        )


def find_paths(
    subgraph: IncidentSubgraph,
    graph: PropagationGraph,
    table: FeatureTable,
    candidate: str,
    context: PathContext | None = None,
) -> list[Path]:
    """One path per symptom: the most probable chain of hops (product of hop probabilities)."""
    context = context or PathContext.build(subgraph, graph, table)
    best, trail_of, trail_parent, trail_link = fast.choose(kernels.cheapest_paths)(
        graph.index[candidate], context.log_p, context.order_key, *graph.links_from, graph.effect_rows, MAX_HOPS
    )
    paths = []
    for s in subgraph.symptoms:
        row = graph.index[s.entity_id]
        if best[row] == math.inf:
            continue
        paths.append(
            Path(
                s.entity_id,
                round(math.exp(-float(best[row])), 6),
                tuple(map(context.hop, _trail(trail_of[row], trail_parent, trail_link))),
            )
        )
    paths.sort(key=lambda p: (-p.score, p.symptom_id))
    return paths


def _trail(trail: int, parent: np.ndarray, link: np.ndarray) -> list[int]:
    """The link numbers of a trail of kernels.cheapest_paths, first hop first."""
    links = []
    while trail > 0:
        links.append(int(link[trail]))
        trail = parent[trail]
    return links[::-1]


def _anomaly_line(a: AnomalySignal) -> str:
    """An anomaly as an evidence line; a hop anomaly says how much slower the hops into the entity got."""
    if a.signal == TRACE_HOP_SIGNAL and a.baseline > 0:
        return (
            f"hops into it {a.value / a.baseline:.0f} times their usual time ({a.baseline * 1000:.0f} ms -> "
            f"{a.value * 1000:.0f} ms; lines with trace ids) from {_clock(a.onset)}"
        )
    return f"{a.signal} {a.direction} (score {a.score:.1f}) from {_clock(a.onset)}"


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts))


def entity_evidence(
    subgraph: IncidentSubgraph, entity_id: str, limit: int = 4, signals: Signals | None = None
) -> list[str]:
    """Short readable lines about one entity's anomalies, logs and changes, strongest first."""
    return (signals or Signals(subgraph)).lines(entity_id)[:limit]


def hop_evidence(
    subgraph: IncidentSubgraph, table: FeatureTable, cause: str, effect: str, signals: Signals | None = None
) -> list[str]:
    """What supports one hop: the effect's own evidence and the onset order of the two ends."""
    lines = entity_evidence(subgraph, effect, limit=3, signals=signals)
    onsets = table.onsets or {}
    if cause in onsets and effect in onsets:
        lag = onsets[effect] - onsets[cause]
        lines.append(f"started {lag:+.0f} s after {subgraph.nodes[cause].name}")
    if not lines:
        lines.append("no signal seen here (missing or not yet detected)")
    return lines
