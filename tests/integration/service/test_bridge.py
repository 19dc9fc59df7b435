"""The Alertmanager bridge over real HTTP, against the real service and graph, delivering to a real receiver."""

from __future__ import annotations

import json
import random
import socket
from datetime import UTC, datetime

import pytest
import requests

from settings.bridge import ReceiverSettings
from tests.integration.service.bridge_helpers import Receiver, running_bridge
from tests.integration.service.conftest import client_of
from tests.support.tls import self_signed
from tests.support.waiting import wait_until


def notify(url: str, alerts: list[dict], key: str, status: str = "firing", **kw) -> requests.Response:
    body = {"version": "4", "groupKey": key, "status": status, "receiver": "rca", "alerts": alerts}
    return requests.post(f"{url}/alerts", data=json.dumps(body), timeout=10, **kw)


def alert_on(name: str, at: float, alertname: str = "HighErrorRate", status: str = "firing") -> dict:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return {
        "status": status,
        "labels": {"alertname": alertname, "service": name},
        "startsAt": stamp,
        "fingerprint": f"{alertname}-{name}",
    }


def group_status(url: str, key: str) -> dict:
    groups = requests.get(f"{url}/status", timeout=10).json()["groups"]
    return next(g for g in groups if g["group_key"] == key)


def metric(url: str, name: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith((name + " ", name + "{")))


def test_a_notification_is_diagnosed_once_delivered_and_closed_when_resolved(service, simulated, engine):
    incident = simulated(seed=31, n_entities=60, fault_type="datastore_outage")
    symptom = incident.symptoms[0]
    name = symptom["entity_id"]  # ids are unique across the tests' estates; names repeat
    receiver = Receiver()
    key = f'{{}}:{{alertname="HighErrorRate", service="{name}"}}'
    with running_bridge(
        service.target, [ReceiverSettings(kind="webhook", url=receiver.url), ReceiverSettings(kind="log")]
    ) as url:
        firing = [alert_on(name, symptom["observed_at"])]
        assert notify(url, firing, key).json()["action"] == "diagnose"
        wait_until(lambda: receiver.bodies, timeout=60, message="no diagnosis delivered")
        delivered = receiver.bodies[0]
        assert delivered["status"] == "firing" and delivered["incident_id"].startswith("inc-")
        # the same answer the service gives for the same symptom (the bridge adds nothing of its own)
        expected = engine.rank(incident.to_subgraph(max_hops=3), 5).candidates[0].entity_id
        assert delivered["candidates"][0]["id"] == expected
        assert notify(url, firing, key).json()["action"] == "repeat"  # Alertmanager's repeat_interval
        assert group_status(url, key)["diagnoses"] == 1
        assert metric(url, "rca_bridge_notifications_total") == 2

        resolved = [alert_on(name, symptom["observed_at"], status="resolved")]
        assert notify(url, resolved, key, status="resolved").json()["action"] == "close"
        wait_until(lambda: len(receiver.bodies) == 2, timeout=30, message="no resolution delivered")
        assert receiver.bodies[1] | {} == receiver.bodies[1] and receiver.bodies[1]["status"] == "resolved"
        assert receiver.bodies[1]["incident_id"] == delivered["incident_id"]
        assert group_status(url, key)["state"] == "resolved"
    with client_of(service) as client:  # the closure is recorded on the incident
        closed = client.get_incident(delivered["incident_id"])
    assert closed.closed_at > 0 and closed.closed_by == "alertmanager-bridge"
    assert closed.close_reason == "every alert of the group resolved"
    receiver.close()


def test_a_changed_alert_set_diagnoses_again_and_unknown_entities_are_named(service, simulated):
    incident = simulated(seed=32, n_entities=40, fault_type="latency")
    symptom = incident.symptoms[0]
    name = symptom["entity_id"]  # ids are unique across the tests' estates; names repeat
    receiver = Receiver()
    key = '{}:{alertname="Mixed"}'
    with running_bridge(service.target, [ReceiverSettings(kind="webhook", url=receiver.url)]) as url:
        notify(url, [alert_on(name, symptom["observed_at"], "CheckoutLatencyP99")], key)
        wait_until(lambda: receiver.bodies, timeout=60, message="no first diagnosis")
        both = [
            alert_on(name, symptom["observed_at"], "CheckoutLatencyP99"),
            alert_on("no-such-service", symptom["observed_at"]),
        ]
        assert notify(url, both, key).json()["reason"] == "the firing alerts changed"
        wait_until(lambda: len(receiver.bodies) == 2, timeout=60, message="no second diagnosis")
        second = receiver.bodies[1]
        assert second["unresolved_symptoms"] == ["no-such-service (not in the graph)"]
        assert second["candidates"], "the known symptom is still diagnosed"
        with client_of(service) as client:
            stored = client.get_incident(second["incident_id"])
        assert list(stored.unresolved_symptoms) == ["no-such-service (not in the graph)"]
        assert group_status(url, key)["diagnoses"] == 2
    receiver.close()


def test_malformed_and_unauthorised_notifications_are_refused_and_the_bridge_keeps_working(service, tmp_path):
    with running_bridge(service.target, [ReceiverSettings(kind="log")], token="s3cret-token") as url:
        good = {"headers": {"Authorization": "Bearer s3cret-token"}}
        assert notify(url, [], "k").status_code == 401
        assert notify(url, [], "k", headers={"Authorization": "Bearer wrong"}).status_code == 401
        for body in (
            b"\xff\xfe junk",
            b"{",
            json.dumps({"version": "4"}).encode(),
            b"x" * (1 << 20) + b"x",
            json.dumps({"version": "4", "groupKey": "k", "status": "firing", "alerts": "many"}).encode(),
        ):
            answer = requests.post(f"{url}/alerts", data=body, timeout=10, **good)
            assert answer.status_code == 400, (body[:40], answer.text)
            assert answer.json()["error"]
        rng = random.Random(7)  # fuzzed bodies over the wire: every one refused or accepted, the bridge alive
        for _ in range(100):
            junk = rng.choice([rng.randbytes(rng.randint(0, 300)), json.dumps(_random_json(rng)).encode()])
            assert requests.post(f"{url}/alerts", data=junk, timeout=10, **good).status_code in (200, 400)
        resolved_unknown = notify(url, [alert_on("x", 1.8e9, status="resolved")], "k", status="resolved", **good)
        assert resolved_unknown.json()["action"] == "ignore"
        assert requests.get(f"{url}/healthz", timeout=10).json() == {"ok": True}


def test_a_full_queue_answers_503_and_a_failed_diagnosis_is_counted():
    # a service that accepts connections and never answers keeps the one worker busy
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    target = f"127.0.0.1:{silent.getsockname()[1]}"
    with running_bridge(target, [ReceiverSettings(kind="log")], queue_size=1, infer_timeout_s=3) as url:
        codes = [notify(url, [alert_on(f"svc-{k}", 1.8e9)], f"group-{k}").status_code for k in range(3)]
        assert codes == [200, 200, 503]  # one being diagnosed, one queued, the third refused
        assert metric(url, "rca_bridge_queue_depth") == 1
        assert group_status(url, "group-2")["error"].startswith("queue full")
        wait_until(
            lambda: metric(url, "rca_bridge_diagnosis_failures_total") == 2,
            timeout=30,
            message="the unanswered Infer calls were not counted as failed diagnoses",
        )
        assert group_status(url, "group-0")["error"].startswith("Infer failed: DEADLINE_EXCEEDED")
    silent.close()


def test_a_receiver_outage_is_retried_then_counted(service, simulated):
    incident = simulated(seed=33, n_entities=30, fault_type="errors")
    symptom = incident.symptoms[0]
    name = symptom["entity_id"]  # ids are unique across the tests' estates; names repeat
    receiver = Receiver()
    receiver.down = True
    with running_bridge(
        service.target,
        [ReceiverSettings(kind="webhook", url=receiver.url)],
        delivery_attempts=3,
        delivery_backoff_s=0.05,
    ) as url:
        notify(url, [alert_on(name, symptom["observed_at"])], "g")
        wait_until(
            lambda: metric(url, "rca_bridge_delivery_failures_total") == 1,
            timeout=60,
            message="the failed delivery was not counted",
        )
        assert metric(url, "rca_bridge_deliveries_total") == 0
        receiver.down = False
        notify(url, [alert_on(name, symptom["observed_at"]), alert_on(name, symptom["observed_at"], "Slow")], "g")
        wait_until(lambda: receiver.bodies, timeout=60, message="no delivery once the receiver was back")
    receiver.close()


def test_with_a_certificate_the_webhook_is_served_over_https_only(service, tmp_path):
    cert, key = self_signed(tmp_path, "bridge")
    with running_bridge(service.target, [ReceiverSettings(kind="log")], tls_cert=cert, tls_key=key) as url:
        assert url.startswith("https://")
        answer = notify(url, [alert_on("x", 1.8e9, status="resolved")], "k", status="resolved", verify=str(cert))
        assert answer.status_code == 200 and answer.json()["action"] == "ignore"
        with pytest.raises(requests.exceptions.SSLError):
            notify(url, [], "k")  # a client that does not trust the certificate is refused
        with pytest.raises(requests.exceptions.ConnectionError):
            notify(url.replace("https://", "http://"), [], "k")  # no plaintext beside it


def _random_json(rng: random.Random, depth: int = 0):
    """A random JSON value, notification-shaped more often than not."""
    if depth > 3 or rng.random() < 0.3:
        return rng.choice([None, True, 1, -2.5, "4", "firing", "x" * rng.randint(0, 40)])
    if rng.random() < 0.5:
        keys = ["version", "groupKey", "status", "alerts", "labels", "startsAt", "fingerprint", "junk"]
        return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
