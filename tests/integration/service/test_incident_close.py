"""CloseIncident over a real channel: recorded on the incident, the first closure kept, bad requests named."""

import grpc
import pytest

from tests.integration.service.conftest import infer_request


def test_closing_an_incident_records_who_why_and_when_once(client, simulated):
    incident = simulated(seed=71, n_entities=30, fault_type="errors")
    answer = client.infer(infer_request(incident, max_hops=2))
    assert client.get_incident(answer.incident_id).closed_at == 0  # open until closed
    closed = client.close_incident(answer.incident_id, "on-call: ana", "fixed the pool size")
    assert closed.incident_id == answer.incident_id and closed.closed_at > 0
    assert (closed.closed_by, closed.close_reason) == ("on-call: ana", "fixed the pool size")
    again = client.close_incident(answer.incident_id, "someone else", "late")
    assert (again.closed_at, again.closed_by, again.close_reason) == (
        closed.closed_at,
        "on-call: ana",
        "fixed the pool size",
    )


@pytest.mark.parametrize(
    "incident_id, closed_by, reason, code, field",
    [
        ("inc-does-not-exist", "me", "", grpc.StatusCode.NOT_FOUND, "incident_id"),
        ("", "me", "", grpc.StatusCode.INVALID_ARGUMENT, "incident_id"),
        ("inc-x", "  ", "", grpc.StatusCode.INVALID_ARGUMENT, "closed_by"),
        ("inc-x", "me", "x" * 5000, grpc.StatusCode.INVALID_ARGUMENT, "reason"),
    ],
)
def test_bad_close_requests_name_the_field(client, incident_id, closed_by, reason, code, field):
    with pytest.raises(grpc.RpcError) as err:
        client.close_incident(incident_id, closed_by, reason)
    assert err.value.code() == code
    assert err.value.details().startswith(field)
