"""The incident dashboard (Streamlit): `rca dashboard` runs this script; each page is a file in views/.

Not `pages/`: Streamlit would take a folder of that name for its older automatic navigation and run a
page without this script (its layout and navigation) when the page's URL is opened directly.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="rca incidents", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("views/incidents.py", title="Incidents", default=True),  # the default page is served at /
    st.Page("views/incident.py", title="Incident", url_path="incident"),
    st.Page("views/ask.py", title="Ask", url_path="ask"),
    st.Page("views/topology.py", title="Topology", url_path="topology"),
    st.Page("views/health.py", title="Health", url_path="health"),
]

# Pages in a bar across the top, not a sidebar: the pictures get the whole width of a narrow window.
st.navigation(PAGES, position="top").run()
