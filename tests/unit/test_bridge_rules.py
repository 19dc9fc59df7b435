"""The bridge's pure parts: reading notifications, mapping alerts to symptoms, deciding per alert group."""

import json

import grpc
import pytest

from rca.bridge.groups import AlertGroups
from rca.bridge.mapping import MappingError, load_mapping
from rca.bridge.payload import PayloadError, parse


def notification(*alerts, key='{}:{alertname="X"}', status="firing"):
    return json.dumps(
        {"version": "4", "groupKey": key, "status": status, "receiver": "rca", "alerts": list(alerts)}
    ).encode()


def alert(labels, status="firing", fingerprint="", at="2026-12-06T10:00:00Z"):
    return {"status": status, "labels": labels, "annotations": {}, "startsAt": at, "fingerprint": fingerprint}


@pytest.mark.parametrize(
    "body, field",
    [
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({"version": "3", "groupKey": "k", "status": "firing", "alerts": []}).encode(), "version"),
        (json.dumps({"version": "4", "status": "firing", "alerts": []}).encode(), "groupKey"),
        (notification({"status": "firing", "labels": {}, "startsAt": "yesterday"}), "alerts.0.startsAt"),
        (notification({"status": "burning", "labels": {}, "startsAt": "2026-12-06T10:00:00Z"}), "alerts.0.status"),
        (notification({"status": "firing", "labels": {"a": 1}, "startsAt": "2026-12-06T10:00:00Z"}), "alerts.0.labels"),
    ],
)
def test_unreadable_notifications_name_the_field(body, field):
    with pytest.raises(PayloadError, match=field.replace(".", r"\.")):
        parse(body)


def test_mapping_reads_entity_labels_in_order_and_strips_host_ports():
    mapping = load_mapping()
    one = parse(notification(alert({"alertname": "HighErrorRate", "job": "api", "service": "checkout"}))).alerts[0]
    assert mapping.symptom(one).entity == "checkout" and mapping.symptom(one).family == "errors"
    host = parse(notification(alert({"alertname": "NodeCPUHigh", "instance": "db-1:9100"}))).alerts[0]
    assert mapping.symptom(host).entity == "db-1" and mapping.symptom(host).family == "saturation"
    slow = parse(notification(alert({"alertname": "CheckoutLatencyP99", "app": "checkout"}))).alerts[0]
    assert mapping.symptom(slow).family == "latency"
    assert mapping.symptom(slow).observed_at == 1796551200.0
    nameless = parse(notification(alert({"alertname": "Watchdog", "severity": "none"}))).alerts[0]
    assert mapping.symptom(nameless) is None


def test_a_mapping_with_an_unknown_family_is_refused_naming_the_entry(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("entity_labels: [service]\nfamilies:\n  - {alertname: x, family: vibes}\n")
    with pytest.raises(MappingError, match="family must be one of"):
        load_mapping(bad)


def test_groups_diagnose_new_and_changed_sets_not_repeats_and_close_when_resolved():
    now = [1000.0]
    groups = AlertGroups(rediagnose_s=600, clock=lambda: now[0])
    a = alert({"alertname": "E", "service": "a"}, fingerprint="fa")
    b = alert({"alertname": "E", "service": "b"}, fingerprint="fb")
    assert groups.decide(parse(notification(a))).action == "diagnose"
    assert groups.decide(parse(notification(a))).action == "repeat"
    assert groups.decide(parse(notification(a, b))).action == "diagnose"  # an alert joined
    now[0] += 601
    assert groups.decide(parse(notification(a, b))).reason.startswith("re-diagnosis")
    resolved = notification({**a, "status": "resolved"}, {**b, "status": "resolved"}, status="resolved")
    assert groups.decide(parse(resolved)).action == "close"
    assert groups.decide(parse(resolved)).action == "ignore"  # nothing left to close
    assert groups.decide(parse(notification(a))).reason == "the group fires again"
    (status,) = groups.status()
    assert status["state"] == "firing" and status["notifications"] == 7


def test_a_failed_diagnosis_is_tried_again_on_the_next_notification():
    groups = AlertGroups(rediagnose_s=600)
    a = alert({"alertname": "E", "service": "a"}, fingerprint="fa")
    groups.decide(parse(notification(a)))
    groups.failed('{}:{alertname="X"}', "Infer failed: UNAVAILABLE")
    assert groups.decide(parse(notification(a))).action == "diagnose"


class _Status(grpc.RpcError):
    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


def test_symptoms_the_service_cannot_resolve_are_told_apart_from_other_failures():
    from rca.bridge.diagnosis import _unusable_symptom

    unknown = _Status(grpc.StatusCode.NOT_FOUND, "symptoms[1].entity_name: no entity named 'x' in the graph")
    shared = _Status(grpc.StatusCode.INVALID_ARGUMENT, "symptoms[0].entity_name: 'users' names 2 entities (a, b)")
    other = _Status(grpc.StatusCode.INVALID_ARGUMENT, "window.start: must be before window.end")
    down = _Status(grpc.StatusCode.UNAVAILABLE, "graph unreachable")
    assert _unusable_symptom(unknown) == (1, "not in the graph")
    assert _unusable_symptom(shared) == (0, "names 2 entities")
    assert _unusable_symptom(other) is None and _unusable_symptom(down) is None
