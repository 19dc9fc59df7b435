"""The topology sync from metrics: discover, guard against outages, reconcile with source='metrics'."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from graph_schema.cypher import discovery as cypher
from graph_schema.model import ENTITY_LABELS
from ingest.jobs.bad_input import BadInput
from ingest.metrics.discovery import discover
from ingest.metrics.promql_templates import TemplateSet
from ingest.metrics.reader import PrometheusReader
from ingest.topology.reconcile import Plan, reconcile
from settings.ingest import MetricsSettings, SyncSettings


class SyncRefused(RuntimeError):
    """The discovered snapshot looks like an outage (it would retire most of the estate): not applied."""


@dataclass
class SyncReport:
    """What one sync did."""

    at: float
    plan: Plan | None = None
    entities: int = 0
    edges: int = 0
    bad: BadInput = field(default_factory=BadInput)
    duration_s: float = 0.0

    @property
    def changes(self) -> int:
        """Entities and edges created, revived, updated, marked stale or retired."""
        p = self.plan
        if p is None:
            return 0
        return sum(
            len(x)
            for x in (
                p.created,
                p.updated,
                p.revived,
                p.marked_stale,
                p.retired,
                p.released,
                p.edges_created,
                p.edges_revived,
                p.edges_marked_stale,
                p.edges_retired,
                p.edges_released,
            )
        )


def active_count(store, source: str) -> int:
    """Entities that ``source`` currently asserts and that are not stale."""
    return sum(store.read(cypher.COUNT_ACTIVE_OF_SOURCE[label], source=source)[0]["count"] for label in ENTITY_LABELS)


def sync_topology(
    store,
    reader: PrometheusReader,
    templates: TemplateSet,
    metrics: MetricsSettings,
    sync: SyncSettings,
    *,
    grace_period_s: float,
    at: float | None = None,
    dry_run: bool = False,
) -> SyncReport:
    """Discover at ``at`` (default now) and reconcile; a Prometheus outage raises before the graph is touched."""
    started = time.monotonic()
    at = time.time() if at is None else at
    found = discover(
        reader,
        templates,
        at=at,
        window=sync.discovery_window,
        rate_window=metrics.rate_window,
        prefix=metrics.entity_prefix,
    )
    snapshot = found.snapshot
    report = SyncReport(at=at, entities=len(snapshot.entities), edges=len(snapshot.edges), bad=found.bad)
    before = active_count(store, sync.source)
    if before and not dry_run:
        # An empty or collapsed answer is far likelier a Prometheus/TSDB problem than a vanished estate.
        preview = reconcile(store, snapshot, source=sync.source, now=at, grace_period_s=grace_period_s, dry_run=True)
        if not snapshot.entities or len(preview.marked_stale) > sync.max_stale_fraction * before:
            raise SyncRefused(
                f"discovery at {at:.0f} found {len(snapshot.entities)} entities and would mark "
                f"{len(preview.marked_stale)} of the {before} active from '{sync.source}' stale "
                f"(limit {sync.max_stale_fraction:.0%}): not applied; check Prometheus"
            )
    report.plan = reconcile(store, snapshot, source=sync.source, now=at, grace_period_s=grace_period_s, dry_run=dry_run)
    report.duration_s = time.monotonic() - started
    return report
