"""Topology: find an entity by a fuzzy search, draw its neighbourhood, list its signals and its incidents."""

from __future__ import annotations

import time

import streamlit as st
from rapidfuzz import fuzz, process

from dashboards import graph_reads, ui
from dashboards.graph_picture import graph_chart
from dashboards.incident_table import incident_rows
from dashboards.path_graph import evidence_kinds, neighbourhood_dot
from dashboards.timeline import timeline_charts, timeline_data

SIGNAL_HOURS = {"last hour": 1, "last 6 hours": 6, "last 24 hours": 24}
MATCHES = 10

backend = ui.backend()
st.title("Topology")
index = ui.guarded(ui.entities)
by_id = {e.id: e for e in index}
keys = {f"{e.name} ({e.label}{', ' + e.id if e.id != e.name else ''})": e.id for e in index}

asked = st.query_params.get("entity", "")
query = st.text_input(
    "Search an entity (id or name; typos are fine)", value=by_id[asked].name if asked in by_id else ""
)
if not query:
    st.caption(f"{len(index)} entities in the graph.")
    st.stop()
matches = process.extract(query, list(keys), scorer=fuzz.WRatio, limit=MATCHES)
if not matches:
    st.info("No entity looks like that.")
    st.stop()
options = [label for label, _score, _ in matches]
exact = [label for label in options if keys[label] == asked]
choice = st.selectbox("Entity", options, index=options.index(exact[0]) if exact else 0, key="topology_entity")
entity = by_id[keys[choice or options[0]]]
left, right = st.columns([1, 1])
hops = left.slider("Hops", 1, 3, 1, key="topology_hops")
period = right.selectbox("Signals of the", list(SIGNAL_HOURS), index=1, key="topology_period")


def read():
    end = time.time()
    start = end - SIGNAL_HOURS[period] * 3600.0
    with backend.graph() as store:
        near, local = graph_reads.entity_neighbourhood(store, entity.id, hops)
        signals = graph_reads.signals(store, local.entities, start, end)
    return near, local, signals, (start, end)


near, local, signals, window = ui.guarded(read)
names = {e.id: e.name for e in local.entities.values()}
st.subheader(f"{entity.name} · {entity.label} · {hops} hop{'s' if hops > 1 else ''}")
evidence = evidence_kinds(signals.anomalies, signals.events, signals.changes)
graph_chart(
    neighbourhood_dot({e.id: (e.name, e.label) for e in local.entities.values()}, local.edges, entity.id, evidence)
)
st.caption(
    f"{len(local.entities)} entities, {len(local.edges)} edges. Fill: red anomaly · purple change · "
    "yellow warning-or-worse logs · grey none."
)

st.subheader("Signals")
own = [a for a in signals.anomalies if a["entity_id"] == entity.id]
own_events = [e for e in signals.events if e["entity_id"] == entity.id]
own_changes = [c for c in signals.changes if c["entity_id"] == entity.id]
own_deviations = [d for d in signals.deviations if d["entity_id"] == entity.id]
if own or own_events or own_changes or own_deviations:
    data = timeline_data(own, own_events, own_changes, names, window[1], window, own_deviations)
    for chart in timeline_charts(data):
        ui.vega_chart(chart)
    if own:
        st.dataframe(
            [
                {
                    "signal": a["signal"],
                    "family": a["family"],
                    "onset": ui.clock(a["onset"]),
                    "ended": ui.clock(a["end"]) if a.get("end") else "open",
                    "score": round(a["score"], 2),
                    "value": a["value"],
                    "baseline": a["baseline"],
                }
                for a in own
            ],
            hide_index=True,
            width="stretch",
        )
else:
    st.caption(f"No anomaly, log event or change on {entity.name} in the {period}.")

st.subheader("Incidents")


def incidents():
    with backend.service() as client:
        return client.list_incidents(limit=50, entity_id=entity.id).incidents


rows = incident_rows(ui.guarded(incidents), ui.entity_names())
if rows:
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open ↗")},
    )
else:
    st.caption(f"No stored incident has {entity.name} among its symptoms or candidates.")
