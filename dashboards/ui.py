"""What every page shares: the backend opened once per process, outage banners, time and name formatting."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import streamlit as st

from dashboards.backend import Backend, Outage, open_backend
from dashboards.graph_reads import EntityRef, entity_index

T = TypeVar("T")


@st.cache_resource
def backend() -> Backend:
    """The process's backend (settings from the environment, one channel, one driver)."""
    return open_backend()


def clock(epoch: float) -> str:
    """'2026-12-06 02:45:10 UTC'."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else ""


def ago(epoch: float | None, now: float | None = None) -> str:
    """'5 min ago' style age of an epoch time ('never' for none)."""
    if not epoch:
        return "never"
    seconds = max(0.0, (time.time() if now is None else now) - epoch)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def guarded(read: Callable[[], T]) -> T:
    """Run a read; on an outage show the banner, keep probing, and stop the page here."""
    try:
        return read()
    except Outage as outage:
        outage_banner(outage)
        st.stop()
        raise  # st.stop() raises; this keeps type checkers aware


def outage_banner(outage: Outage) -> None:
    """A clear banner naming what is down; the page reruns by itself once it answers again."""
    every = backend().settings.dashboard.refresh_s
    what = "RootCause service" if outage.part == "service" else "graph"
    st.error(
        f"**The {what} is not reachable.** {outage.detail}\n\n"
        f"This page checks again every {every:.0f} s and comes back by itself when it answers.",
        icon="⚠️",
    )
    first = [True]

    @st.fragment(run_every=every)
    def probe() -> None:
        if first[0]:  # rendered with the page: it has just failed
            first[0] = False
            return
        if reachable(outage.part):
            st.rerun(scope="app")

    probe()


def reachable(part: str) -> bool:
    """Whether the service (a cheap call) or the graph (its health check) answers now."""
    try:
        if part == "service":
            with backend().service() as client:
                client.list_incidents(limit=1)
        else:
            with backend().graph() as store:
                store.check(required_version=None)
    except Outage:
        return False
    return True


@st.cache_data(ttl=60, show_spinner=False)
def _entity_index() -> list[EntityRef]:
    with backend().graph() as store:
        return entity_index(store)


def entities() -> list[EntityRef]:
    """Every entity of the graph (cached for a minute); an outage is raised to the caller."""
    return _entity_index()


def entity_names() -> dict[str, str]:
    """Entity id -> name; empty when the graph cannot be read (the pages then show ids)."""
    try:
        return {e.id: e.name for e in entities()}
    except Outage:
        return {}


def vega_chart(chart) -> None:
    """Draw an Altair chart, its spec built without Altair's schema validation (which doubles the time to build it,
    on every run of the page; the specs are the code's own, checked by the unit tests)."""
    st.vega_lite_chart(chart.to_dict(validate=False), width="stretch")
