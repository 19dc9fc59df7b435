"""What the dashboard reads back about incidents over a real channel: closure in the list, similar incidents kept."""

from rca.service.stubs import pb
from tests.integration.service.conftest import infer_request


def test_the_list_says_when_an_incident_was_closed(client, simulated):
    incident = simulated(seed=72, n_entities=30, fault_type="errors")
    answer = client.infer(infer_request(incident, max_hops=2))
    closed = client.close_incident(answer.incident_id, "on-call: ana", "fixed")
    listed = {s.incident_id: s for s in client.list_incidents(limit=50).incidents}
    assert listed[answer.incident_id].closed_at == closed.closed_at > 0
    open_one = client.infer(infer_request(incident, max_hops=2))
    assert {s.incident_id: s for s in client.list_incidents(limit=50).incidents}[open_one.incident_id].closed_at == 0


def test_an_incident_keeps_the_similar_incidents_its_ranking_found(client, simulated):
    first = simulated(seed=73, n_entities=30, fault_type="errors")
    confirmed = client.infer(infer_request(first, max_hops=2))
    client.feedback(
        pb.FeedbackRequest(
            incident_id=confirmed.incident_id,
            root_cause_entity_id=first.root_cause_id,
            verdict=pb.CONFIRMED,
            user="ana",
        )
    )
    again = client.infer(infer_request(first, max_hops=2))  # the same incident again: the confirmed one is similar
    assert confirmed.incident_id in [s.incident_id for s in again.similar_incidents]
    stored = client.get_incident(again.incident_id)
    assert list(stored.similar_incidents) == list(again.similar_incidents)
