"""Property tests of the Infer request parser (issue 20): no exception but InvalidArgument escapes, every
rejection starts with the field at fault and stays short, and what is accepted is sane."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings

from rca.service.stubs import pb
from tests.support.service_fuzz import check_infer_request, check_request_bytes, infer_requests, request_bytes

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(infer_requests())
@example(pb.InferRequest(symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=5e-324)]))
@example(pb.InferRequest(symptoms=[pb.Symptom(entity_id="a", family="errors", observed_at=1e300)]))
@example(pb.InferRequest(symptoms=[pb.Symptom(entity_name="n" * 17_000, family="errors")]))
@example(pb.InferRequest(symptoms=[pb.Symptom(entity_name="a", family="f" * 17_000)]))
def test_any_infer_request_is_parsed_or_rejected_naming_the_field(request):
    assert check_infer_request(request) in ("accepted", "rejected")


@FAST
@given(request_bytes())
def test_any_request_bytes_are_undecodable_or_parsed_or_rejected_naming_the_field(data):
    assert check_request_bytes(data) in ("undecodable", "accepted", "rejected")
