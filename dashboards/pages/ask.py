"""Ask: questions in plain language, answered by the service's Ask call (when the service has it)."""

from __future__ import annotations

import streamlit as st

from dashboards import ui
from rca.service.stubs import pb

backend = ui.backend()
st.title("Ask")

if not hasattr(pb, "AskRequest"):
    st.info(
        "Asking questions is not available yet: this version of the RootCause service has no `Ask` call. "
        "Meanwhile the Incidents, Topology and Health pages answer the usual questions."
    )
    st.stop()
