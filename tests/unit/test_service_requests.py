"""Validation of InferRequests and the evidence/candidate conversion (pure logic)."""

from __future__ import annotations

import pytest

from rca.rank.types import (
    AnomalySignal,
    Candidate,
    ChangeSignal,
    EntityNode,
    EventSignal,
    Finding,
    Hop,
    IncidentSubgraph,
    Path,
    RankingResult,
)
from rca.service import convert
from rca.service.requests import MAX_KEY_CHARS, InvalidArgument, clip, parse_infer
from rca.service.stubs import pb
from settings.service import ServiceSettings

SETTINGS = ServiceSettings()
NOW = 1_800_000_000.0


def test_defaults_fill_window_top_k_and_hops():
    request = pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_name="checkout", family="errors", observed_at=NOW),
            pb.Symptom(entity_id="svc-pay", family="latency", observed_at=NOW + 60),
        ]
    )
    query = parse_infer(request, SETTINGS)
    assert query.window_start == NOW - SETTINGS.window_before_s
    assert query.window_end == NOW + 60 + SETTINGS.window_after_s
    assert (query.top_k, query.max_hops) == (SETTINGS.default_top_k, SETTINGS.default_max_hops)
    assert query.grown_max_hops == SETTINGS.grown_max_hops > query.max_hops  # the server's radius may grow
    assert [(s.key, s.by_name, s.field) for s in query.symptoms] == [
        ("checkout", True, "symptoms[0].entity_name"),
        ("svc-pay", False, "symptoms[1].entity_id"),
    ]
    assert query.subgraph is None


def test_a_radius_the_request_chose_never_grows():
    request = pb.InferRequest(symptoms=[pb.Symptom(entity_id="svc-pay", family="latency", observed_at=NOW)], max_hops=2)
    query = parse_infer(request, SETTINGS)
    assert (query.max_hops, query.grown_max_hops) == (2, 2)


def test_observed_at_zero_means_now():
    query = parse_infer(pb.InferRequest(symptoms=[pb.Symptom(entity_id="a", family="traffic")]), SETTINGS, now=NOW)
    assert query.symptoms[0].observed_at == NOW


def test_supplied_subgraph_is_converted_and_checked():
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=NOW)],
        subgraph=pb.Subgraph(
            nodes=[
                pb.Node(id="a", label="Service", name="alpha", features={"x": 1.5}),
                pb.Node(id="b", label="Datastore"),
            ],
            edges=[pb.Edge(source="a", target="b", type="CALLS")],
            anomalies=[pb.AnomalySignal(entity_id="b", signal="conn", family="saturation", onset=NOW - 10, score=4)],
        ),
    )
    supplied = parse_infer(request, SETTINGS).subgraph
    assert supplied.nodes["b"].name == "b" and supplied.nodes["a"].name == "alpha"
    assert supplied.features == {"a": {"x": 1.5}}
    assert supplied.anomalies[0].end is None and supplied.anomalies[0].direction == "up"


def test_anomaly_with_unknown_family_names_the_field():
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=NOW)],
        subgraph=pb.Subgraph(
            nodes=[pb.Node(id="a", label="Service")],
            anomalies=[pb.AnomalySignal(entity_id="a", family="vibes", onset=NOW)],
        ),
    )
    with pytest.raises(InvalidArgument, match=r"^subgraph.anomalies\[0\].family"):
        parse_infer(request, SETTINGS)


@pytest.mark.parametrize(
    "deviation,field",
    [
        (pb.DeviationSignal(entity_id="a", family="vibes", at=NOW, peak=4.0), r"subgraph.deviations\[0\].family"),
        (pb.DeviationSignal(entity_id="zz", family="latency", at=NOW, peak=4.0), r"subgraph.deviations\[0\].entity_id"),
        (pb.DeviationSignal(entity_id="a", family="latency", at=NOW, peak=-1.0), r"subgraph.deviations\[0\].peak"),
        (
            pb.DeviationSignal(entity_id="a", family="latency", at=NOW, peak=float("nan")),
            r"subgraph.deviations\[0\].peak",
        ),
    ],
)
def test_supplied_deviations_are_converted_and_a_bad_one_names_its_field(deviation, field):
    good = pb.DeviationSignal(entity_id="a", family="latency", at=NOW - 60, peak=4.5)
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=NOW)],
        subgraph=pb.Subgraph(nodes=[pb.Node(id="a", label="Service")], deviations=[good]),
    )
    supplied = parse_infer(request, SETTINGS).subgraph
    assert [(d.entity_id, d.family, d.at, d.peak) for d in supplied.deviations] == [("a", "latency", NOW - 60, 4.5)]
    request.subgraph.deviations[0].CopyFrom(deviation)
    with pytest.raises(InvalidArgument, match="^" + field):
        parse_infer(request, SETTINGS)


LONG = "x" * 17_000


def _symptom(**fields):
    return pb.Symptom(**{"entity_id": "a", "family": "errors", "observed_at": NOW, **fields})


def _with_node(**fields):
    return pb.InferRequest(
        symptoms=[_symptom()], subgraph=pb.Subgraph(nodes=[pb.Node(**{"id": "a", "label": "Service", **fields})])
    )


@pytest.mark.parametrize(
    "request_message, field",
    [
        (pb.InferRequest(symptoms=[pb.Symptom(entity_name=LONG, family="errors")]), "symptoms[0].entity_name"),
        (pb.InferRequest(symptoms=[_symptom(entity_id=LONG)]), "symptoms[0].entity_id"),
        (_with_node(name=LONG), "subgraph.nodes[0].name"),
        (_with_node(features={LONG: 1.0}), "subgraph.nodes[0].features"),
    ],
)
def test_overlong_ids_and_names_are_refused_naming_field_and_limit(request_message, field):
    with pytest.raises(InvalidArgument) as err:
        parse_infer(request_message, SETTINGS)
    message = str(err.value)
    assert message == f"{field}: at most {MAX_KEY_CHARS} characters, got 17000"


@pytest.mark.parametrize(
    "request_message, field",
    [
        (pb.InferRequest(symptoms=[_symptom(family=LONG)]), "symptoms[0].family"),
        (_with_node(label=LONG), "subgraph.nodes[0].label"),
        (pb.InferRequest(symptoms=[_symptom(entity_id="b" * 500)], subgraph=_with_node().subgraph), "symptoms[0]"),
    ],
)
def test_a_long_value_is_quoted_clipped_with_its_length(request_message, field):
    with pytest.raises(InvalidArgument) as err:
        parse_infer(request_message, SETTINGS)
    message = str(err.value)
    assert message.startswith(field) and len(message) < 250, message
    assert "... (17000 chars)" in message or "... (500 chars)" in message


def test_clip_keeps_short_values_and_escapes_control_characters():
    assert clip("checkout") == "'checkout'"
    assert clip("a\nb\x00") == "'a\\nb\\x00'"
    assert clip("y" * 100, 10) == "'yyyyyyyyyy'... (100 chars)"


@pytest.mark.parametrize(
    "request_message, field",
    [
        (pb.InferRequest(symptoms=[_symptom(observed_at=1e300)]), "symptoms[0].observed_at"),
        (pb.InferRequest(symptoms=[_symptom(observed_at=5e-324)]), "symptoms[0].observed_at"),
        (pb.InferRequest(symptoms=[_symptom(observed_at=NOW * 1000)]), "symptoms[0].observed_at"),  # milliseconds
        (pb.InferRequest(symptoms=[_symptom(observed_at=float("inf"))]), "symptoms[0].observed_at"),
        (pb.InferRequest(symptoms=[_symptom()], window=pb.TimeWindow(start=5e-324, end=NOW)), "window.start"),
        (pb.InferRequest(symptoms=[_symptom()], window=pb.TimeWindow(start=NOW, end=1e300)), "window.end"),
        (
            pb.InferRequest(
                symptoms=[_symptom()],
                subgraph=pb.Subgraph(
                    nodes=[pb.Node(id="a", label="Service")],
                    events=[pb.LogEventSignal(entity_id="a", first_ts=float("nan"), severity=3)],
                ),
            ),
            "subgraph.events[0].first_ts",
        ),
        (
            pb.InferRequest(
                symptoms=[_symptom()],
                subgraph=pb.Subgraph(
                    nodes=[pb.Node(id="a", label="Service")],
                    anomalies=[pb.AnomalySignal(entity_id="a", family="errors", onset=NOW, score=float("nan"))],
                ),
            ),
            "subgraph.anomalies[0].score",
        ),
    ],
)
def test_absurd_times_and_numbers_are_refused_naming_the_field(request_message, field):
    with pytest.raises(InvalidArgument) as err:
        parse_infer(request_message, SETTINGS)
    assert str(err.value).startswith(f"{field}: must be"), str(err.value)


def test_times_at_the_edges_of_the_accepted_range_give_a_sane_default_window():
    query = parse_infer(pb.InferRequest(symptoms=[_symptom(observed_at=946_684_800.0)]), SETTINGS)
    assert query.window_end - query.window_start == SETTINGS.window_before_s + SETTINGS.window_after_s


def test_evidence_is_ordered_by_time_and_attached_to_its_candidate():
    subgraph = IncidentSubgraph(
        nodes={"db": EntityNode("db", "Datastore", "orders-db"), "api": EntityNode("api", "Service", "api")},
        edges=[],
        symptoms=[],
        window_start=NOW - 600,
        window_end=NOW,
        anomalies=[AnomalySignal("api", "error_ratio", "errors", NOW - 100, None, "up", 6.0, 0.2, 0.01)],
        events=[EventSignal("db", "too many clients", "connection", 3, 40, NOW - 200, NOW - 50)],
        changes=[ChangeSignal("db", NOW - 300, "config", "max_connections 20")],
    )
    result = RankingResult(
        candidates=[Candidate("db", 0.9, 1), Candidate("api", 0.1, 2)],
        findings=[Finding("datastore_unreachable", "db", 0.8, "callers time out", NOW)],
        paths={"db": [Path("api", 0.7, (Hop("db", "CALLS (reverse)", "api", ("error_ratio up",)),))]},
    )
    evidence = convert.evidence_items(subgraph, result)
    assert [e.kind for e in evidence] == ["change", "log", "anomaly", "finding"]
    ranked = convert.candidates(subgraph, result, evidence)
    assert [c.entity_name for c in ranked] == ["orders-db", "api"]
    assert [e.kind for e in ranked[0].evidence] == ["change", "log", "finding"]
    assert ranked[0].paths[0].hops[0].evidence == ["error_ratio up"]
    assert ranked[1].paths == []


@pytest.mark.parametrize(
    "texts, field",
    [
        (["   "], "unresolved_symptoms[0]"),
        (["ok", "x" * (MAX_KEY_CHARS + 1)], "unresolved_symptoms[1]"),
        ([f"s{k}" for k in range(101)], "unresolved_symptoms: at most"),
    ],
)
def test_unresolved_symptoms_are_kept_and_bounded(texts, field):
    symptom = pb.Symptom(entity_name="checkout", family="errors", observed_at=NOW)
    kept = parse_infer(pb.InferRequest(symptoms=[symptom], unresolved_symptoms=["ghost (not in the graph)"]), SETTINGS)
    assert kept.unresolved == ["ghost (not in the graph)"]
    with pytest.raises(InvalidArgument, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_infer(pb.InferRequest(symptoms=[symptom], unresolved_symptoms=texts), SETTINGS)
