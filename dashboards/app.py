"""The incident dashboard (Streamlit): `rca dashboard` runs this script; each page is a file in pages/."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="rca incidents", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("pages/incidents.py", title="Incidents", url_path="incidents", default=True),
    st.Page("pages/incident.py", title="Incident", url_path="incident"),
    st.Page("pages/ask.py", title="Ask", url_path="ask"),
    st.Page("pages/topology.py", title="Topology", url_path="topology"),
    st.Page("pages/health.py", title="Health", url_path="health"),
]

st.navigation(PAGES).run()
