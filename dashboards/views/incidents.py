"""Incidents: the stored incidents, newest first, filtered by time, entity and status; refreshes itself."""

from __future__ import annotations

import time

import streamlit as st

from dashboards import ui
from dashboards.incident_table import STATUSES, incident_rows

RANGES = {"last hour": 3600.0, "last 6 hours": 6 * 3600.0, "last 24 hours": 86400.0, "last 7 days": 7 * 86400.0}
ANY_TIME = "any time"
LIMIT = 500  # the most ListIncidents returns

if st.query_params.get("incident"):  # the link the Alertmanager bridge puts in its messages: BASE/?incident=ID
    st.switch_page("views/incident.py", query_params={"id": st.query_params["incident"]})
st.title("Incidents")
backend = ui.backend()
left, middle, right = st.columns([1, 1, 2])
period = left.selectbox("Created", [*RANGES, ANY_TIME], index=2, key="incidents_period")
entity = middle.text_input("Entity (id or name)", key="incidents_entity").strip()
statuses = right.multiselect("Status", STATUSES, default=list(STATUSES), key="incidents_status")


def entity_id_of(text: str) -> str:
    """The id an entity filter names (ids and names both accepted); the text itself when unknown."""
    if not text:
        return ""
    by_name = {e.name: e.id for e in ui.entities()}
    return text if text not in by_name else by_name[text]


@st.fragment(run_every=backend.settings.dashboard.refresh_s)
def incident_list() -> None:
    since = time.time() - RANGES[period] if period in RANGES else 0.0
    entity_id = ui.guarded(lambda: entity_id_of(entity)) if entity else ""

    def read():
        with backend.service() as client:
            return client.list_incidents(limit=LIMIT, entity_id=entity_id, since=since).incidents

    summaries = ui.guarded(read)
    rows = incident_rows(summaries, ui.entity_names(), statuses=statuses)
    st.caption(
        f"{len(rows)} incidents · updated {ui.clock(time.time())} · refreshes every "
        f"{backend.settings.dashboard.refresh_s:.0f} s"
    )
    if not rows:
        st.info("No incident matches these filters.")
        return
    picked = st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="incidents_table",
        column_config={
            "time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.3f"),
            "open": st.column_config.LinkColumn("open", display_text="open ↗"),
        },
    )
    chosen = picked.selection.rows if picked else []
    if chosen:
        st.switch_page("views/incident.py", query_params={"id": rows[chosen[0]]["incident"]})


incident_list()
