"""Incident: symptoms, ranked candidates with their score breakdown, the path drawn on the subgraph,
the evidence timeline, metric charts, the explanation, similar incidents, and Confirm / Reject."""

from __future__ import annotations

import altair as alt
import grpc
import pandas as pd
import streamlit as st

from dashboards import graph_reads, ui
from dashboards.graph_picture import graph_chart
from dashboards.incident_table import status_of, symptoms_text
from dashboards.metric_charts import chart_queries, read_range
from dashboards.path_graph import Hop, evidence_kinds, path_dot
from dashboards.timeline import timeline_charts, timeline_data
from rca.service.stubs import pb

VERDICTS = {pb.CONFIRMED: "confirmed", pb.REJECTED: "rejected"}
backend = ui.backend()


def recent_incidents():
    with backend.service() as client:
        return client.list_incidents(limit=50).incidents


def read_incident(incident_id: str):
    """The incident, or None when the service does not know it."""
    try:
        with backend.service() as client:
            return client.get_incident(incident_id)
    except grpc.RpcError as exc:
        if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return None
        raise


def hops_of(candidate) -> list[list[Hop]]:
    return [[Hop(h.from_entity_id, h.relation, h.to_entity_id) for h in path.hops] for path in candidate.paths]


def entity_ids(incident) -> set[str]:
    ids = {s.entity_id for s in incident.symptoms} | {c.entity_id for c in incident.candidates}
    for candidate in incident.candidates:
        for path in candidate.paths:
            ids |= {h.from_entity_id for h in path.hops} | {h.to_entity_id for h in path.hops}
    return ids


# The graph part of an incident page and its timeline's spec are shared for a few seconds: a team opening
# the same incident (or one engineer clicking through its candidates) reads the graph and builds the
# chart once. Signals arriving meanwhile show at the next read.
SHARED_S = 10.0


@st.cache_data(ttl=SHARED_S, show_spinner=False, max_entries=64)
def read_graph_part(ids: tuple[str, ...], start: float, end: float):
    """The entities among ``ids`` with the edges between them, and their signals in [start, end]."""
    with backend.graph() as store:
        local = graph_reads.local_graph(store, ids)
        signals = graph_reads.signals(store, ids, start, end)
    return local, signals


@st.cache_data(ttl=SHARED_S, show_spinner=False, max_entries=64)
def timeline_specs(ids: tuple[str, ...], start: float, end: float, alert_at: float, names: tuple) -> list[dict]:
    """The evidence timeline's Vega-Lite specs (Altair's, built without validation: see ui.vega_chart)."""
    _, signals = read_graph_part(ids, start, end)
    data = timeline_data(
        signals.anomalies, signals.events, signals.changes, dict(names), alert_at, (start, end), signals.deviations
    )
    return [chart.to_dict(validate=False) for chart in timeline_charts(data)]


def link(page: str, text: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"[{text}]({page}?{query})"


def feedback_form(incident, candidate) -> None:
    """Confirm / Reject this candidate with a name and a comment; calls Feedback."""
    with st.form(key=f"feedback-{candidate.entity_id}", clear_on_submit=False, border=False):
        user = st.text_input("Your name", key=f"user-{candidate.entity_id}", value=st.session_state.get("user", ""))
        comment = st.text_input("Comment", key=f"comment-{candidate.entity_id}")
        left, right = st.columns(2)
        confirm = left.form_submit_button("Confirm", key=f"confirm-{candidate.entity_id}", type="primary")
        reject = right.form_submit_button("Reject", key=f"reject-{candidate.entity_id}")
    if not (confirm or reject):
        return
    if not user.strip():
        st.warning("Say who you are (Your name) before confirming or rejecting.")
        return
    st.session_state["user"] = user.strip()
    request = pb.FeedbackRequest(
        incident_id=incident.incident_id,
        root_cause_entity_id=candidate.entity_id,
        verdict=pb.CONFIRMED if confirm else pb.REJECTED,
        user=user.strip(),
        comment=comment,
    )

    def send():
        with backend.service() as client:
            return client.feedback(request)

    recorded = ui.guarded(send).recorded
    st.session_state["feedback_done"] = (
        f"{VERDICTS.get(recorded.verdict, '?')} {candidate.entity_name} as the root cause, by {recorded.user}"
    )
    st.rerun()


def breakdown_chart(candidate) -> alt.Chart:
    frame = pd.DataFrame(
        [{"term": c.label or c.term, "contribution": round(c.value, 3)} for c in candidate.breakdown],
        columns=["term", "contribution"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="log-odds against the average entity"),
            y=alt.Y("term:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
            color=alt.condition("datum.contribution >= 0", alt.value("#1a73e8"), alt.value("#d93025")),
            tooltip=["term:N", "contribution:Q"],
        )
        .properties(height=alt.Step(22), width="container")
    )


def metric_charts(incident, signals, names) -> None:
    url = backend.settings.dashboard.prometheus_url
    if not url:
        st.caption("No Prometheus configured (RCA_DASHBOARD__PROMETHEUS_URL): no metric charts.")
        return
    queries = chart_queries(signals.anomalies)
    if not queries:
        st.caption("No anomaly of this incident has a metric chart (dashboards/data/metric_charts.yaml).")
        return
    start, end = incident.window.start, incident.window.end
    columns = st.columns(2)
    for i, query in enumerate(queries):
        try:
            frame = read_range(url, query, start, end, backend.settings.dashboard.timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure of an optional chart is shown, never raised
            columns[i % 2].warning(f"Prometheus at {url}: {query.signal} of {query.entity_id}: {exc}")
            continue
        title = f"{names.get(query.entity_id, query.entity_id)} · {query.signal}"
        if frame.empty:
            columns[i % 2].caption(f"{title}: Prometheus has no samples")
            continue
        chart = (
            alt.Chart(frame)
            .mark_line()
            .encode(x=alt.X("time:T", title=None), y=alt.Y("value:Q", title=query.signal))
            .properties(height=160, width="container", title=title)
        )
        with columns[i % 2]:
            ui.vega_chart(chart)


def show(incident) -> None:
    ids = tuple(sorted(entity_ids(incident)))
    window = (incident.window.start, incident.window.end)
    local, signals = ui.guarded(lambda: read_graph_part(ids, *window))
    names = {e.id: e.name for e in local.entities.values()}
    names.update({s.entity_id: s.entity_name for s in incident.symptoms if s.entity_name})
    names.update({c.entity_id: c.entity_name for c in incident.candidates if c.entity_name})
    alert_at = min((s.observed_at for s in incident.symptoms), default=incident.created_at)

    status = status_of(incident)
    st.title(f"Incident {incident.incident_id}")
    st.markdown(
        f"**{status}** · created {ui.clock(incident.created_at)} · symptoms: **{symptoms_text(incident.symptoms)}** "
        f"· alert {ui.clock(alert_at)} · window {ui.clock(incident.window.start)} → {ui.clock(incident.window.end)}"
    )
    if incident.unresolved_symptoms:
        st.caption("Not resolved to an entity: " + ", ".join(incident.unresolved_symptoms))
    if incident.confirmed_root_cause_id:
        st.success(
            f"Confirmed root cause: **{names.get(incident.confirmed_root_cause_id, incident.confirmed_root_cause_id)}**"
        )
    if incident.closed_at:
        st.caption(f"Closed {ui.clock(incident.closed_at)} by {incident.closed_by}: {incident.close_reason}")
    done = st.session_state.pop("feedback_done", None)
    if done:
        st.toast(f"Recorded: {done}")
    if not incident.candidates:
        st.warning("The ranking returned no candidate.")
        return

    by_rank = {f"#{c.rank} {c.entity_name or c.entity_id}": c for c in incident.candidates}
    graph_col, table_col = st.columns([3, 2])
    with table_col:
        st.subheader("Candidates")
        terms = [c.label or c.term for c in incident.candidates[0].breakdown]
        rows = [
            {"rank": c.rank, "entity": c.entity_name or c.entity_id, "kind": c.label, "score": round(c.score, 4)}
            | {t: round(b.value, 2) for t, b in zip(terms, c.breakdown)}
            for c in incident.candidates
        ]
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={
                "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.3f")
            },
        )
        choice = st.radio("Path of", list(by_rank), horizontal=True, key="candidate")
        candidate = by_rank[choice or next(iter(by_rank))]
        if candidate.breakdown:
            st.caption(f"Score breakdown of {candidate.entity_name or candidate.entity_id}")
            ui.vega_chart(breakdown_chart(candidate))
    with graph_col:
        st.subheader(f"Path from {candidate.entity_name or candidate.entity_id}")
        entities = {e.id: (e.name, e.label) for e in local.entities.values()}
        evidence = evidence_kinds(signals.anomalies, signals.events, signals.changes)
        dot = path_dot(
            entities,
            local.edges,
            hops_of(candidate),
            candidate.entity_id,
            [s.entity_id for s in incident.symptoms],
            evidence,
        )
        graph_chart(dot)
        st.caption(
            "Fill: red anomaly · purple change · yellow warning-or-worse logs · grey none (striped: several). "
            "Blue: the candidate (double border) and its path, hops numbered in the fault's direction; "
            "red octagon: symptom."
        )
        for path in candidate.paths:
            steps = (
                " → ".join(
                    [names.get(path.hops[0].from_entity_id, path.hops[0].from_entity_id)]
                    + [f"{names.get(h.to_entity_id, h.to_entity_id)}" for h in path.hops]
                )
                if path.hops
                else candidate.entity_name
            )
            st.markdown(
                f"path to **{names.get(path.symptom_entity_id, path.symptom_entity_id)}** "
                f"(score {path.score:.2f}): {steps}"
            )

    st.subheader("Explanation")
    st.info(incident.explanation or "No explanation was stored.")

    st.subheader("Evidence timeline")
    for spec in ui.guarded(lambda: timeline_specs(ids, *window, alert_at, tuple(sorted(names.items())))):
        st.vega_lite_chart(spec, width="stretch")
    st.caption(
        "Points: anomalies at their onset (size: score) · hollow diamonds: a family that strayed under the "
        "anomaly threshold (robust z 4 or more) · purple rules: changes · bars: log lines per minute "
        "by signature class · red dashed rule: the alert."
    )

    st.subheader("Metrics")
    metric_charts(incident, signals, names)

    # One expander per candidate, light on purpose (text, no chart or grid): every element here is drawn
    # with the page whether open or not, and charts and grids are what a browser takes longest over.
    st.subheader("Candidates in detail")
    for c in incident.candidates:
        with st.expander(
            f"#{c.rank} {c.entity_name or c.entity_id} · {c.label} · score {c.score:.3f}", expanded=c.rank == 1
        ):
            if c.breakdown:
                st.markdown(
                    "Score breakdown (log-odds against the incident's average entity): "
                    + " · ".join(f"{b.label or b.term} **{b.value:+.2f}**" for b in c.breakdown)
                )
            st.markdown(
                "\n".join(
                    f"- {ui.clock(e.time)} · {e.kind} · {names.get(e.entity_id, e.entity_id)} · {e.name}: {e.text}"
                    for e in c.evidence
                )
                or "No evidence item."
            )
            st.markdown(link("topology", "open in topology", entity=c.entity_id))
            feedback_form(incident, c)

    st.subheader("Feedback")
    if incident.feedback:
        st.dataframe(
            [
                {
                    "when": ui.clock(f.at),
                    "verdict": VERDICTS.get(f.verdict, "?"),
                    "root cause": names.get(f.root_cause_entity_id, f.root_cause_entity_id),
                    "by": f.user,
                    "comment": f.comment,
                }
                for f in incident.feedback
            ],
            hide_index=True,
            width="stretch",
            key="feedback_table",
        )
    else:
        st.caption("No feedback yet: confirm or reject a candidate above.")

    st.subheader("Similar past incidents")
    if incident.similar_incidents:
        for s in incident.similar_incidents:
            st.markdown(
                f"- {link('incident', s.incident_id, id=s.incident_id)} · similarity {s.similarity:.2f} · "
                f"root cause **{s.root_cause_entity_name or s.root_cause_entity_id}** · {ui.clock(s.created_at)} "
                f"· {symptoms_text(s.symptoms)}"
            )
    else:
        st.caption("None: no confirmed past incident looked like this one when it was ranked.")


incident_id = st.query_params.get("id", "")
if not incident_id:
    st.title("Incident")
    recent = ui.guarded(recent_incidents)
    if not recent:
        st.info("No incident is stored yet.")
        st.stop()
    labels = {
        f"{ui.clock(s.created_at)} · {symptoms_text(s.symptoms)} · {s.incident_id}": s.incident_id for s in recent
    }
    picked = st.selectbox("Incident", list(labels))
    incident_id = labels[picked] if picked else ""
    st.query_params["id"] = incident_id
incident = ui.guarded(lambda: read_incident(incident_id))
if incident is None:
    st.warning(f"No incident has id {incident_id!r}.")
    st.stop()
show(incident)
