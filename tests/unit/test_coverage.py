"""What is monitored (pure parts): coverage rows, the engine input's `observed`, the simulator's
three states, and a request's Node.observed_families."""

from __future__ import annotations

import pytest

from graph_schema.coverage import CoverageSpan, coverage_rows, merge_spans
from graph_schema.model import COVERAGE_FAMILIES, Label
from rca.rank.types import AnomalySignal, EntityNode, EventSignal, observed_families
from rca.service import subgraph_fetch
from rca.service.requests import InvalidArgument, parse_infer
from rca.service.stubs import pb
from rca.simulator import simulate
from rca.simulator.incident import FAULT_TYPES
from settings.service import ServiceSettings

NOW = 1_760_000_000.0


def test_spans_of_one_entity_and_family_merge_and_rows_are_checked():
    spans = [
        CoverageSpan("Service", "api", "latency", 100.0, 200.0, 60.0),
        CoverageSpan("Service", "api", "latency", 50.0, 150.0, 30.0),
        CoverageSpan("Host", "api", "latency", 10.0, 20.0),  # same id, other label: its own coverage
    ]
    merged = {(s.entity_label, s.family): s for s in merge_spans(spans)}
    assert merged[("Service", "latency")] == CoverageSpan("Service", "api", "latency", 50.0, 200.0, 60.0)
    rows = coverage_rows(spans)
    assert set(rows) == {Label.SERVICE, Label.HOST}
    assert rows[Label.SERVICE][0]["id"] != rows[Label.HOST][0]["id"]
    with pytest.raises(ValueError, match="unknown family 'disk'"):
        coverage_rows([CoverageSpan("Service", "api", "disk", 1.0, 2.0)])
    with pytest.raises(ValueError, match="'Event' is not an entity label"):
        coverage_rows([CoverageSpan("Event", "api", "logs", 1.0, 2.0)])


def test_observed_adds_what_the_signals_show_and_keeps_to_the_nodes():
    nodes = {n: EntityNode(n, "Service", n) for n in ("a", "b", "c")}
    anomaly = AnomalySignal("b", "error_ratio", "errors", 1.0, None, "up", 7.0, 0.1, 0.0)
    event = EventSignal("c", "t", "other", 3, 1, 1.0, 2.0)
    observed = observed_families([("a", "latency"), ("zz", "latency")], nodes, [anomaly], [event])
    assert observed == {"a": frozenset({"latency"}), "b": frozenset({"errors"}), "c": frozenset({"logs"})}


def test_the_simulator_gives_all_three_states_and_its_missing_signals_mark_coverage():
    observed_normal = deviating = unobserved = unwatched = 0
    missing_root = False
    for seed in range(12):
        incident = simulate(seed, 40, FAULT_TYPES[seed % len(FAULT_TYPES)])
        subgraph = incident.to_subgraph()
        assert set(subgraph.observed) <= set(subgraph.nodes)
        # some entities are watched for nothing at all: none of their signals reach the graph
        silent = set(subgraph.nodes) - set(subgraph.observed)
        unwatched += len(silent)
        assert not any(a.entity_id in silent for a in subgraph.anomalies)
        assert not any(e.entity_id in silent for e in subgraph.events)
        deviating_pairs = {(a.entity_id, a.family) for a in subgraph.anomalies}
        for entity_id, families in subgraph.observed.items():
            assert families <= set(COVERAGE_FAMILIES)
            for family in ("latency", "errors", "saturation", "traffic"):
                if (entity_id, family) in deviating_pairs:
                    deviating += 1
                    assert family in families  # a deviation was observed
                elif family in families:
                    observed_normal += 1
                else:
                    unobserved += 1
        root_families = set(incident.observed.get(incident.root_cause_id, ()))
        missing_root |= not {"latency", "errors", "saturation", "traffic"} <= root_families
        rows = incident.coverage_rows()
        assert {(r["entity_id"], r["family"]) for r in rows} == {
            (e, f) for e, fs in incident.observed.items() for f in fs
        }
    assert observed_normal and deviating and unobserved and missing_root and unwatched


def _request_with(observed: list[str]):
    return pb.InferRequest(
        symptoms=[pb.Symptom(entity_id="api", family="latency", observed_at=NOW)],
        subgraph=pb.Subgraph(
            nodes=[
                pb.Node(id="api", label="Service", name="api", observed_families=observed),
                pb.Node(id="db", label="Datastore", name="db"),
            ],
        ),
    )


def test_a_request_carries_its_nodes_observed_families_to_the_engine_input():
    query = parse_infer(_request_with(["latency", "logs"]), ServiceSettings(), now=NOW)
    subgraph, _ = subgraph_fetch.from_request(query)
    assert subgraph.observed == {"api": frozenset({"latency", "logs"})}
    assert subgraph.coverage_known


def test_a_request_that_names_no_observed_families_says_coverage_is_unknown():
    query = parse_infer(_request_with([]), ServiceSettings(), now=NOW)
    subgraph, _ = subgraph_fetch.from_request(query)
    assert not subgraph.coverage_known and subgraph.observed == {}


def test_an_unknown_observed_family_is_refused_naming_the_field():
    with pytest.raises(InvalidArgument, match=r"subgraph\.nodes\[0\]\.observed_families\[1\]: 'disk' is not"):
        parse_infer(_request_with(["latency", "disk"]), ServiceSettings(), now=NOW)


def test_events_of_one_template_are_read_by_its_latest_text_and_events_without_an_id_by_their_own():
    from rca.service.subgraph_fetch import settled_templates

    items = [
        {"template_id": "7", "template": "GET /a <*> failed", "first_ts": 100.0, "last_ts": 150.0},
        {"template_id": "7", "template": "GET <*> <*> failed", "first_ts": 700.0, "last_ts": 750.0},
        {"template_id": "7", "template": "GET /a <*> failed", "first_ts": 400.0, "last_ts": 450.0},
        {"template_id": "8", "template": "disk full", "first_ts": 100.0},
        {"template_id": None, "template": "a caller's own line", "first_ts": 100.0},
    ]
    assert settled_templates(items) == {"7": "GET <*> <*> failed", "8": "disk full"}
