"""Bad input, unknown entities, empty neighbourhoods, deadlines and graph outages over real gRPC."""

from __future__ import annotations

import os
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rca.service import metrics
from rca.service.stubs import SERVICE_NAME, pb
from tests.integration.service.conftest import infer_request, supplied_subgraph
from tests.support import signal_writes
from tests.support.waiting import wait_until

NOW = 1_800_000_000.0


def _symptom(**fields):
    return pb.Symptom(**{"entity_id": "x", "family": "errors", "observed_at": NOW, **fields})


MALFORMED = [
    (pb.InferRequest(), "symptoms"),
    (pb.InferRequest(symptoms=[pb.Symptom(family="errors")]), "symptoms[0]"),
    (pb.InferRequest(symptoms=[_symptom(entity_id="  ")]), "symptoms[0]"),
    (pb.InferRequest(symptoms=[_symptom(family="cpu")]), "symptoms[0].family"),
    (pb.InferRequest(symptoms=[_symptom(), _symptom(observed_at=-5)]), "symptoms[1].observed_at"),
    (pb.InferRequest(symptoms=[_symptom(observed_at=float("nan"))]), "symptoms[0].observed_at"),
    (pb.InferRequest(symptoms=[_symptom()], window=pb.TimeWindow(start=NOW, end=NOW - 60)), "window"),
    (pb.InferRequest(symptoms=[_symptom()], window=pb.TimeWindow(start=0, end=NOW)), "window"),
    (pb.InferRequest(symptoms=[_symptom()], top_k=5000), "top_k"),
    (pb.InferRequest(symptoms=[_symptom()], max_hops=9), "max_hops"),
    (
        pb.InferRequest(symptoms=[_symptom()], subgraph=pb.Subgraph(nodes=[pb.Node(id="x", label="Pod")])),
        "subgraph.nodes[0].label",
    ),
    (
        pb.InferRequest(
            symptoms=[_symptom()],
            subgraph=pb.Subgraph(nodes=[pb.Node(id="x", label="Service"), pb.Node(id="x", label="Host")]),
        ),
        "subgraph.nodes[1].id",
    ),
    (
        pb.InferRequest(
            symptoms=[_symptom()],
            subgraph=pb.Subgraph(
                nodes=[pb.Node(id="x", label="Service")], edges=[pb.Edge(source="x", target="y", type="CALLS")]
            ),
        ),
        "subgraph.edges[0].target",
    ),
    (
        pb.InferRequest(
            symptoms=[_symptom()],
            subgraph=pb.Subgraph(
                nodes=[pb.Node(id="x", label="Service")], edges=[pb.Edge(source="x", target="x", type="LIKES")]
            ),
        ),
        "subgraph.edges[0].type",
    ),
    (
        pb.InferRequest(
            symptoms=[_symptom(entity_id="y")], subgraph=pb.Subgraph(nodes=[pb.Node(id="x", label="Service")])
        ),
        "symptoms[0].entity_id",
    ),
    (
        pb.InferRequest(
            symptoms=[_symptom()],
            subgraph=pb.Subgraph(nodes=[pb.Node(id="x", label="Service", features={"rule_max": float("inf")})]),
        ),
        "subgraph.nodes[0].features",
    ),
]


@pytest.mark.parametrize("request_message, field", MALFORMED, ids=[f for _, f in MALFORMED])
def test_malformed_request_is_invalid_argument_naming_the_field(client, request_message, field):
    with pytest.raises(grpc.RpcError) as err:
        client.infer(request_message)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field), err.value.details()


def test_unknown_entity_is_not_found_naming_it(client, unique_prefix):
    missing = f"{unique_prefix}no-such-service"
    with pytest.raises(grpc.RpcError) as err:
        client.infer(pb.InferRequest(symptoms=[pb.Symptom(entity_name=missing, family="latency", observed_at=NOW)]))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing in err.value.details() and "symptoms[0].entity_name" in err.value.details()


def test_entity_created_after_the_snapshot_is_found_on_its_first_infer(client, store, unique_prefix):
    entity = f"{unique_prefix}fresh"
    signal_writes.write_entities(store, [{"id": entity, "label": "Service", "name": entity}])
    response = client.infer(pb.InferRequest(symptoms=[pb.Symptom(entity_id=entity, family="errors", observed_at=NOW)]))
    assert response.symptoms[0].entity_id == entity


def test_empty_neighbourhood_answers_with_the_symptom_alone(client, store, unique_prefix):
    lonely = f"{unique_prefix}lonely"
    signal_writes.write_entities(store, [{"id": lonely, "label": "Host", "name": lonely}])
    response = client.infer(
        pb.InferRequest(symptoms=[pb.Symptom(entity_id=lonely, family="saturation", observed_at=NOW)])
    )
    assert response.subgraph_entities == 1 and response.subgraph_edges == 0
    assert {c.entity_id for c in response.candidates} <= {lonely}
    assert list(response.evidence) == []
    assert client.get_incident(response.incident_id).incident_id == response.incident_id


def _infer_calls_finished() -> float:
    """Infer calls the in-process server has finished, whatever their status (its own call counter)."""
    return sum(
        s.value
        for m in metrics.RPC_TOTAL.collect()
        for s in m.samples
        if s.name == "rca_rpc_total" and s.labels["method"] == "Infer"
    )


def test_expired_deadline_is_deadline_exceeded_and_stores_nothing(client, simulated):
    incident = simulated(seed=5, n_entities=300, fault_type="latency")
    symptom = incident.symptoms[0]["entity_id"]
    assert client.list_incidents(limit=10, entity_id=symptom).incidents == []  # and the channel is connected now,
    finished = _infer_calls_finished()  # so the call below reaches the server before or just after its deadline
    with pytest.raises(grpc.RpcError) as err:
        client.infer(infer_request(incident), timeout_s=0.002)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # the server is done with the call (had it ignored the deadline, its incident would now be stored)
    wait_until(lambda: _infer_calls_finished() > finished, timeout=30, message="the server finished the expired Infer")
    assert client.list_incidents(limit=10, entity_id=symptom).incidents == []
    assert client.infer(infer_request(incident)).candidates  # the same call with time to spare works


def _health(service) -> int:
    with grpc.insecure_channel(service.target) as channel:
        return (
            health_pb2_grpc.HealthStub(channel)
            .Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
            .status
        )


@pytest.mark.skipif(
    bool(os.environ.get("NEO4J_URI")), reason="NEO4J_URI points at an external server this test cannot stop"
)
def test_graph_outage_is_unavailable_and_the_service_recovers(graph_server, service, client, simulated):
    incident = simulated(seed=8, n_entities=40, fault_type="errors")
    before = client.infer(infer_request(incident))
    graph_server.kill()
    try:
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            client.infer(infer_request(incident))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "graph unavailable" in err.value.details()
        assert time.monotonic() - started < 20
        assert _health(service) == health_pb2.HealthCheckResponse.NOT_SERVING
        # A caller-supplied subgraph needs no graph read: answered now, its incident stored later.
        supplied = infer_request(incident)
        supplied.subgraph.CopyFrom(supplied_subgraph(incident))
        buffered = client.infer(supplied)
    finally:
        graph_server.start()

    def answered():
        try:
            return client.infer(infer_request(incident))
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
            return None

    after = wait_until(answered, timeout=60, interval=0.5, message="Infer answers again once the graph is back")
    assert [c.entity_id for c in after.candidates] == [c.entity_id for c in before.candidates]
    assert _health(service) == health_pb2.HealthCheckResponse.SERVING
    stored = client.get_incident(buffered.incident_id)
    assert [c.entity_id for c in stored.candidates] == [c.entity_id for c in buffered.candidates]
