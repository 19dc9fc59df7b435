"""One throwaway graph and one RootCause service that diagnose case folders one after another.

Per case: the graph is emptied (entities, signals, incidents), the case's topology is reconciled
into it, its log lines go through the syslog pipeline and its series through the metrics poll's
detector (rca/cli/replay.py, the machinery `rca demo` uses), and Infer is called over a real gRPC
channel. The graph is always an embedded one in a temporary directory, never a configured server:
emptying it between cases must not touch anybody's data.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from graph_schema import migrations
from graph_schema.connection import open_graph
from graph_schema.cypher import meta
from graph_schema.model import ENTITY_LABELS, SIGNAL_LABELS, TRACE_HOP_SIGNAL, Label
from ingest.metrics.mapping import EntityRef
from ingest.metrics.promql_templates import SignalTemplate, TemplateSet
from ingest.metrics.worker import templates_from
from ingest.topology.reconcile import reconcile
from ingest.topology.snapshot import TopologySnapshot
from rca.cli.diagnose.case import Case
from rca.cli.diagnose.case_logs import entity_rules
from rca.cli.diagnose.case_metrics import MetricColumn
from rca.cli.local_service import local_root_cause
from rca.cli.replay import LogReplay, judge_series, replay_syslog

SOURCE = "diagnose"  # on entities and anomalies; never "metrics", so no live worker picks them up
ENTITY_LABEL = "entity"  # the series label that names a case series' entity
QUERY_PREFIX = "case:"
MAX_TOP_K = 1000  # the service settings' ceiling: a case ranks every entity up to it

SNAPSHOT_REFRESH_S = 3600.0  # background refreshes are not needed: the session refreshes after each reconcile
MIN_BASELINE_POINTS = 20  # the detector's (ingest.metrics.anomaly_detector.DetectorConfig)


def project_signals(metrics_settings) -> dict[str, SignalTemplate]:
    """The project's signal templates by name (the signal names a case may use unmapped)."""
    return {t.name: t for t in templates_from(metrics_settings).signals}


@dataclass
class Ranked:
    """One entity of the case's topology with its score (0 and no rank for those Infer did not reach)."""

    entity: str
    score: float
    reached: bool


@dataclass
class CaseResult:
    """What diagnosing one case gave."""

    case: Case
    response: Any  # rca.v1 InferResponse
    ranking: list[Ranked]
    logs: LogReplay | None
    series: int
    anomalies: int
    metric_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def rank_of_truth(self) -> int | None:
        """1-based rank of the best-ranked true root cause; None without truth, 0 when none is ranked."""
        if not self.case.root_causes:
            return None
        truth = set(self.case.root_causes)
        return next((i for i, r in enumerate(self.ranking, start=1) if r.entity in truth and r.reached), 0)


class CaseMapper:
    """The poll's label-to-entity mapping for case series: the `entity` label names an entity of the topology."""

    def __init__(self, labels: dict[str, Label]):
        self._labels = labels

    def map(self, rule_name: str, labels: dict[str, str]) -> EntityRef | None:
        """The entity the series names, or None when it names none."""
        entity = labels.get(ENTITY_LABEL, "")
        label = self._labels.get(entity)
        return EntityRef(label, entity) if label is not None else None

    def unread_kind_label(self, rule_name: str, labels: dict[str, str]) -> None:
        """Never a label missed: the case's topology gives every entity's kind."""
        return None


def case_templates(case: Case, known: dict[str, SignalTemplate]) -> TemplateSet:
    """One template per signal of the case: the project's own (thresholds, direction) or the case's mapping."""
    templates = []
    for name in sorted({c.signal for c in case.metrics}):
        mapped = case.signals.get(name)
        if mapped is None:
            templates.append(replace(known[name], query=QUERY_PREFIX + name, entity=ENTITY_LABEL))
            continue
        # a mapping without floors has none (the exporter's units are unknown): deviations count up,
        # traffic both ways, unless the case says otherwise
        direction = mapped.direction or ("both" if mapped.family == "traffic" else "up")
        templates.append(
            SignalTemplate(
                name,
                mapped.family,
                QUERY_PREFIX + name,
                ENTITY_LABEL,
                direction,
                mapped.min_scale or 0.0,
                mapped.min_delta or 0.0,
            )
        )
    return TemplateSet(signals=tuple(templates), edges=(), rules={}, datastore_patterns=())


class DiagnoseSession:
    """Diagnoses cases on one graph with one service."""

    def __init__(self, settings, store, client, topology_cache=None):
        self.settings = settings
        self.store = store
        self.client = client
        self.topology_cache = topology_cache  # the service's; told at once when a case brings another topology
        self.known = project_signals(settings.metrics)
        self._topology: TopologySnapshot | None = None  # what the graph holds
        self.last_request = None  # the Infer request of the last case (the benchmark re-fetches its subgraph)

    def run(self, case: Case) -> CaseResult:
        """Diagnose one case: fresh graph content, topology, logs, metrics, Infer."""
        from rca.service.stubs import pb

        started = time.monotonic()
        # the last case's signals and incidents go; its entities and edges stay when this case has the same
        # topology (a dataset's cases usually share one estate), otherwise they go too and this one's come in
        same_topology = self._topology is not None and self._topology == case.topology
        labels = (*SIGNAL_LABELS, Label.COVERAGE, Label.INCIDENT, *(() if same_topology else ENTITY_LABELS))

        def empty(tx) -> None:
            for label in labels:
                tx.run(meta.DELETE_LABEL.format(label=label)).consume()

        self.store.transaction(empty)
        if not same_topology:
            reconcile(self.store, case.topology, source=SOURCE, now=time.time(), grace_period_s=0.0)
            self._topology = case.topology
            if self.topology_cache is not None:
                self.topology_cache.refresh()  # the reconcile moved the topology clock: reload now
        notes: list[str] = []
        logs = None
        if case.log_lines:
            syslog = self.settings.syslog.model_copy(
                update={"extra_entity_rules": entity_rules(case.labels) + list(self.settings.syslog.extra_entity_rules)}
            )
            logs = replay_syslog(self.store, case.log_lines, syslog)
            hops = _hop_columns(logs.trace_hops, case.labels)
            if hops:
                notes.append(f"logs: hops into {len(hops)} entities timed from lines carrying trace ids")
                # judged with the case's own series, as the metrics poll reads the syslog worker's histogram
                case = replace(case, metrics=[*case.metrics, *hops])
        anomalies, problems = self._metrics(case, notes)
        if self.topology_cache is not None:
            self.topology_cache.load_coverage()  # what this case's logs and metrics showed is monitored
        symptoms = [pb.Symptom(entity_id=s.entity, family=s.family, observed_at=s.at) for s in case.symptoms]
        request = pb.InferRequest(symptoms=symptoms, top_k=min(len(case.labels), MAX_TOP_K))
        if case.as_of is not None:  # the default window's start, and its end where the diagnosis was made
            start = min(s.at for s in case.symptoms) - self.settings.service.window_before_s
            request.window.CopyFrom(pb.TimeWindow(start=start, end=case.as_of))
        response = self.client.infer(request)
        self.last_request = request
        ranking = [Ranked(c.entity_id, c.score, True) for c in response.candidates]
        ranked = {r.entity for r in ranking}
        ranking += [Ranked(e.id, 0.0, False) for e in case.topology.entities if e.id not in ranked]
        return CaseResult(
            case,
            response,
            ranking,
            logs,
            len(case.metrics),
            anomalies,
            problems,
            notes,
            time.monotonic() - started,
        )

    def _metrics(self, case: Case, notes: list[str]) -> tuple[int, list[str]]:
        if not case.metrics:
            return 0, []
        step = case.step_s
        settings = self.settings.metrics.model_copy(update={"step_s": step})
        present = [c for c in case.metrics if len(c.ts)]
        if not present:
            notes.append("metrics: every cell of metrics.csv is empty: nothing to judge")
            return 0, []
        first = min(float(c.ts[0]) for c in present)
        # nothing after the Infer window's end can be evidence: judging stops there
        window_end = max(s.at for s in case.symptoms) + self.settings.service.window_after_s
        if case.as_of is not None:
            window_end = min(window_end, case.as_of)
        data_last = max(float(c.ts[-1]) for c in present)
        last = min(data_last, window_end)
        # judge from where the detector has a baseline (gap + its minimum points) or the Infer window's start
        can_judge_from = first + settings.gap_s + MIN_BASELINE_POINTS * step
        window_start = min(s.at for s in case.symptoms) - self.settings.service.window_before_s
        if window_end < first or window_start > data_last:
            # an alert days away from every sample is most often a time in the wrong zone or unit: said so
            # with dates, as the detector's "no point to judge" below gives times of day only
            notes.append(
                f"metrics: no sample of metrics.csv ({_utc(first)} to {_utc(data_last)}) lies in the Infer window "
                f"around the alert ({_utc(window_start)} to {_utc(window_end)}): nothing judged"
            )
            return 0, []
        judge_from = max(can_judge_from, window_start) - step
        if judge_from >= last:
            notes.append(
                "metrics: no point to judge: the detector needs "
                f"{settings.gap_s:.0f} s of gap and {MIN_BASELINE_POINTS} baseline points ({step:.0f} s apart) "
                "before what it judges, and judges only up to the end of the Infer window "
                f"({time.strftime('%H:%M:%S', time.gmtime(window_end))} UTC)"
            )
            return 0, []
        if can_judge_from > window_start:
            notes.append(
                f"metrics: points before {time.strftime('%H:%M:%S', time.gmtime(can_judge_from))} UTC not judged "
                "(no baseline before them)"
            )
        by_query: dict[str, list] = {}
        for column in case.metrics:
            by_query.setdefault(QUERY_PREFIX + column.signal, []).append(
                ({ENTITY_LABEL: column.entity}, column.ts, column.values)
            )
        judged = judge_series(
            self.store,
            by_query,
            case_templates(case, self.known),
            settings,
            judge_from=judge_from,
            until=last,
            poll_every_s=max(settings.backfill_step_s, step),  # as `rca ingest metrics --from/--to` polls
            source=SOURCE,
            mapper=CaseMapper(case.labels),
            one_write=True,
        )
        missing = sum(c.missing for c in case.metrics)
        if missing:
            notes.append(f"metrics: {missing} empty cells (no sample) in metrics.csv")
        idle = sum(c.idle for c in case.metrics)
        if idle:
            notes.append(f"metrics: {idle} latencies of 0 read as no sample (no requests in that step)")
        return len(judged.writer.latest), judged.report.bad.problems()


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _hop_columns(series: dict[str, tuple[list[float], list[float]]], labels: dict[str, Label]) -> list[MetricColumn]:
    """The hop times into the case's entities (ingest.syslog.trace_hops) as series of the case."""
    return [
        MetricColumn(entity, labels[entity], TRACE_HOP_SIGNAL, "latency", np.array(ts), np.array(values), 0)
        for entity, (ts, values) in sorted(series.items())
        if entity in labels
    ]


@contextlib.contextmanager
def open_session(settings) -> Iterator[DiagnoseSession]:
    """A throwaway embedded graph (temporary directory) and a RootCause service on it."""
    with tempfile.TemporaryDirectory(prefix="rca-diagnose-graph-") as data_dir:
        graph = settings.graph.model_copy(update={"uri": None, "data_dir": Path(data_dir), "bolt_port": 0})
        with open_graph(graph) as store:
            store.check(required_version=None)
            migrations.migrate(store)
            # the service walks a topology snapshot; the session reloads it whenever a case changes the topology
            with local_root_cause(settings, store, max_top_k=MAX_TOP_K, topology_refresh_s=SNAPSHOT_REFRESH_S) as (
                client,
                running,
            ):
                yield DiagnoseSession(settings, store, client, running.topology)
