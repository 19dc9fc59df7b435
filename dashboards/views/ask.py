"""Ask: questions in plain language, answered by the service's Ask call; answers link their incidents and entities."""

from __future__ import annotations

import grpc
import streamlit as st

from dashboards import ui
from dashboards.clarify import clarified_question
from rca.service.stubs import pb

EXAMPLES = ("why did checkout fail", "what changed on payment in the last hour", "what does checkout depend on")
MAX_ROWS = 50

backend = ui.backend()
st.title("Ask")


def unavailable(detail: str) -> None:
    st.info(
        f"Asking questions is not available: {detail} "
        "Meanwhile the Incidents, Topology and Health pages answer the usual questions."
    )
    st.stop()


if not hasattr(pb, "AskRequest"):
    unavailable("this version of the RootCause client has no `Ask` call.")


def entity_link(entity_id: str, name: str = "") -> str:
    return f"[{name or entity_id}](topology?entity={entity_id})"


def evidence_link(kind: str, item_id: str) -> str:
    if kind == "incident":
        return f"[incident {item_id}](incident?id={item_id})"
    if kind == "entity":
        return entity_link(item_id)
    return f"{kind} `{item_id}`"


def ask_again(question: str) -> None:
    """A clarification's button: the next run asks this question as if it had been typed."""
    st.session_state["ask_pending"] = question


def show_result(result) -> None:
    """An answer, or one part of a question that asked several things (an AskPart has the same fields): its
    sentences, what it was about, its rows as a table and the links to the incidents and entities it cites."""
    st.markdown(result.answer)
    facts = [f"intent **{result.intent}**"]
    if result.entities:
        facts.append("about " + ", ".join(entity_link(e.id, e.name) for e in result.entities))
    if result.HasField("window") and result.window.end:
        facts.append(f"window {ui.clock(result.window.start)} → {ui.clock(result.window.end)}")
    st.caption(" · ".join(facts))
    if result.table.rows:
        st.dataframe(
            [dict(zip(result.table.columns, row.values)) for row in result.table.rows],
            hide_index=True,
            width="stretch",
        )
    cited = [evidence_link(e.kind, e.id) for e in result.evidence if e.kind in ("incident", "entity")]
    if result.incident_id and f"incident?id={result.incident_id}" not in " ".join(cited):
        cited.insert(0, evidence_link("incident", result.incident_id))
    if cited:
        st.markdown("Evidence: " + " · ".join(cited))


def show_answer(response, asked: str, turn: int) -> None:
    """One answer: refused, asked back, or answered (part by part when the question asked several things)."""
    if response.intent == "refused":
        st.warning(response.refusal.reason or "The question was not answered.")
        if response.refusal.suggestions:
            st.markdown("Try: " + " · ".join(f"*{s}*" for s in response.refusal.suggestions))
        return
    if response.intent == "clarify":
        st.info(response.answer or f"Which do you mean by “{response.clarification.text}”?")
        unclear = response.clarification.text
        columns = st.columns(max(1, len(response.clarification.candidates)))
        for column, candidate in zip(columns, response.clarification.candidates):
            column.button(
                f"{candidate.name} ({candidate.label})",
                key=f"ask_clarify_{turn}_{candidate.id}",
                help=f"Ask again about {candidate.name}",
                on_click=ask_again,
                args=(clarified_question(asked, unclear, candidate.name),),
            )
        st.caption(
            "Or open one: "
            + " · ".join(entity_link(c.id, f"{c.name} ({c.label})") for c in response.clarification.candidates)
        )
        return
    understood = f"understood by {response.understood_by} ({response.confidence:.0%})"
    if not response.parts:
        show_result(response)
        st.caption(understood)
        return
    # The response's own answer, table and evidence gather the parts' (docs/ask.md): shown per part instead,
    # so the second thing asked gets its table too.
    st.caption(f"{len(response.parts)} questions in one, each answered as if asked alone · {understood}")
    for number, part in enumerate(response.parts, start=1):
        st.markdown(f"**{number}/{len(response.parts)} · {part.intent}** · *{part.text}*")
        show_result(part)


history: list = st.session_state.setdefault("ask_history", [])
st.caption(
    "Ask about root causes, changes, dependencies, anomalies, errors, incidents or health, e.g. "
    + " · ".join(f"*{e}*" for e in EXAMPLES)
)
question = st.chat_input("Ask a question", key="ask_question") or st.session_state.pop("ask_pending", None)
if question:
    request = pb.AskRequest(question=question, time_zone=st.context.timezone or "", max_rows=MAX_ROWS)

    def ask():
        with backend.service() as client:
            return client.ask(request)

    try:
        history.append((question, ui.guarded(ask), ""))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
            unavailable(f"the service at {backend.target} has no `Ask` call (an older version).")
        history.append((question, None, f"{exc.code().name}: {exc.details()}"))
for turn, (asked, answer, error) in enumerate(history):
    with st.chat_message("user"):
        st.markdown(asked)
    with st.chat_message("assistant"):
        if answer is None:
            st.error(f"The service could not answer: {error}")
        else:
            show_answer(answer, asked, turn)
