"""Health: the graph (server, schema version, counts), ingest over the last hour and last syncs, the ingest
workers' own counters and rates (their /metrics, when configured), the scheduled jobs' last runs (the
workers' status file), the service (reachable, the model and versions it serves from GetStatus, its own
metrics). Each part says on its own when it is down."""

from __future__ import annotations

import time

import grpc
import streamlit as st

from dashboards import graph_reads, job_status, service_metrics, ui, worker_metrics
from dashboards.backend import Outage

backend = ui.backend()
settings = backend.settings.dashboard


def graph_part() -> None:
    st.subheader("Graph")
    try:
        with backend.graph() as store:
            health = graph_reads.graph_health(store)
    except Outage as outage:
        ui.outage_banner(outage)
        return
    behind = health.schema_version < health.latest_version
    st.markdown(
        f"**up** · {health.agent} at `{health.address}` · schema version **{health.schema_version}** "
        f"(this code: {health.latest_version}{', run `rca graph migrate`' if behind else ''})"
    )
    st.dataframe([{"label": k, "nodes": v} for k, v in health.counts.items()], hide_index=True, width="stretch")
    st.markdown("**Ingest, last hour**")
    st.dataframe(
        [{"what": r["what"], "count": r["count"] or 0, "latest": ui.ago(r["latest"])} for r in health.ingest_last_hour],
        hide_index=True,
        width="stretch",
    )
    st.markdown("**Last sync per source** (when it last asserted an entity)")
    st.dataframe(
        [
            {
                "source": s["source"],
                "last sync": ui.clock(s["last_seen"]),
                "age": ui.ago(s["last_seen"]),
                "entities": s["entities"],
            }
            for s in health.last_syncs
        ],
        hide_index=True,
        width="stretch",
    )
    if health.topology_changed_at:
        st.caption(
            f"Topology last changed {ui.ago(health.topology_changed_at)} ({ui.clock(health.topology_changed_at)})."
        )


@st.cache_resource
def worker_readings() -> worker_metrics.Readings:
    """The workers' recent readings, shared by every tab: a rate covers the last minutes whoever read last."""
    return worker_metrics.Readings()


@st.fragment(run_every=settings.refresh_s)
def workers_part() -> None:
    st.markdown("**Ingest workers** (their own `/metrics`: each counter's total and its rate)")
    if not settings.worker_metrics_urls:
        st.caption("No worker metrics URL configured (RCA_DASHBOARD__WORKER_METRICS_URLS).")
        return
    for url in settings.worker_metrics_urls:
        try:
            reading = worker_metrics.read(url, settings.timeout_s)
        except Exception as exc:  # noqa: BLE001 - a worker's endpoint is optional; say which one and why
            st.warning(f"The worker metrics at {url} cannot be read: {exc}")
            continue
        older = worker_readings().add(url, reading)
        since = f"per second over the last {reading.at - older.at:.0f} s" if older else "rates from the next reading"
        st.caption(f"`{url}` · read {ui.clock(reading.at)} · {since}")
        rows = worker_metrics.counter_rows(reading, older)
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No ingest counter there (is this a worker's /metrics?).")


def service_part() -> None:
    st.subheader("RootCause service")
    try:
        with backend.service() as client:
            status = client.get_status()
    except Outage as outage:
        ui.outage_banner(outage)
        return
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
        status = None  # a service older than GetStatus
    st.markdown(f"**up** at `{backend.target}`")
    if status is None:
        st.caption("This service has no GetStatus (an older version): its model version cannot be shown.")
    else:
        versions = dict(status.versions)
        uptime = ui.ago(1.0, now=1.0 + status.uptime_s).removesuffix(" ago")  # its clock, not ours
        st.markdown(
            f"Serving model **{versions.pop('model', 'none (rankers without a graph model)')}** · "
            + " · ".join(f"{k} **{v}**" for k, v in sorted(versions.items()))
            + f" · graph schema **{status.graph_schema_version}** · up for {uptime}"
        )
    if not settings.service_metrics_url:
        st.caption("No service metrics URL configured (RCA_DASHBOARD__SERVICE_METRICS_URL).")
        return
    try:
        metrics = service_metrics.read(settings.service_metrics_url, settings.timeout_s)
    except Exception as exc:  # noqa: BLE001 - the metrics endpoint is optional; say why it is missing
        st.warning(f"The service's metrics at {settings.service_metrics_url} cannot be read: {exc}")
        return
    mean = metrics["infer_mean_s"]
    st.markdown(
        f"Graph seen by the service: **{'up' if metrics['graph_up'] else 'down'}** · "
        f"Infer calls **{metrics['infer_count']}**" + (f", mean **{mean * 1000:.0f} ms**" if mean is not None else "")
    )
    st.dataframe(metrics["calls"], hide_index=True, width="stretch")


def jobs_part() -> None:
    st.subheader("Scheduled jobs")
    status_file = job_status.status_file(backend.settings.sync)
    try:
        jobs = status_file.load()
    except ValueError as exc:  # unreadable file: say which and why
        st.warning(str(exc))
        return
    if not jobs:
        st.caption(f"No scheduled job has run yet (status file `{status_file.path}`, `RCA_SYNC__STATUS_FILE`).")
        return
    st.caption(f"Last runs, from `{status_file.path}` (as `rca sync status` prints them).")
    st.dataframe(job_status.job_rows(jobs, time.time()), hide_index=True, width="stretch")


st.title("Health")
graph_col, service_col = st.columns(2)
with graph_col:
    graph_part()
    workers_part()
with service_col:
    service_part()
    jobs_part()
