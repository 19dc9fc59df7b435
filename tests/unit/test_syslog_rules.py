"""Signature classes and entity mapping from their data files."""

from __future__ import annotations

import pytest

from graph_schema.model import Label
from ingest.syslog.classes import SignatureClassifier, load_class_rules
from ingest.syslog.entities import EntityMapper, load_entity_rules


@pytest.mark.parametrize(
    "line, cls, change",
    [
        ("upstream request timed out after 30s", "timeout", None),
        ("connect() failed (111: Connection refused) while connecting to upstream", "connection", None),
        ("read: Connection reset by peer", "connection", None),
        ("Out of memory: Killed process 1234 (java)", "oom", None),
        ("write failed: No space left on device", "disk_full", None),
        ("app[12]: segfault at 0 ip 00007f sp 00007ff error 4", "crash", None),
        ("Failed password for root from 1.2.3.4 port 22 ssh2", "auth", None),
        ("deployed version 2.3.1 of checkout", "change", "deploy"),
        ("configuration reloaded from /etc/app.yaml", "change", "config"),
        ("cupsd startup succeeded", "change", "restart"),
        ("session opened for user root", "other", None),
    ],
)
def test_builtin_classes(line, cls, change):
    rule = SignatureClassifier(load_class_rules()).classify(line)
    assert (rule.signature_class if rule else "other") == cls
    assert (rule.change_type if rule else None) == change


def test_extra_class_rules_win_and_bad_ones_are_named():
    rules = load_class_rules(extra=[{"class": "crash", "pattern": "E_BROKEN"}])
    assert SignatureClassifier(rules).classify("E_BROKEN: timed out").signature_class == "crash"
    with pytest.raises(ValueError, match="unknown class 'weird'"):
        load_class_rules(extra=[{"class": "weird", "pattern": "x"}])
    with pytest.raises(ValueError, match="bad pattern"):
        load_class_rules(extra=[{"class": "auth", "pattern": "("}])


def test_entity_rules():
    mapper = EntityMapper(load_entity_rules())
    assert mapper.map("web-1", "sshd") == mapper.map("web-1", "sshd(pam_unix)")
    assert mapper.map("web-1", "sshd").label == Label.HOST and mapper.map("web-1", "sshd").id == "web-1"
    assert (mapper.map("web-1", "checkout").label, mapper.map("web-1", "checkout").id) == (Label.SERVICE, "checkout")
    pod = mapper.map("node-3", "checkout-7d9f8c6b5-x2x4z")
    assert (pod.label, pod.id) == (Label.INSTANCE, "checkout-7d9f8c6b5-x2x4z")
    assert (mapper.map("10.0.0.5", None).label, mapper.map("10.0.0.5", None).id) == (Label.HOST, "10.0.0.5")


def test_known_entities_are_used_and_discover_false_falls_through():
    known = {(Label.SERVICE, "Payments API"): "svc:payments"}
    rules = load_entity_rules(
        extra=[
            {
                "name": "only known services",
                "match": {"app_name": "^(?P<svc>pay.*)$"},
                "entity": {"label": "Service", "id": "{svc}", "name": "Payments API", "discover": False},
            }
        ]
    )
    mapper = EntityMapper(rules, lambda label, key: known.get((label, key)))
    ref = mapper.map("h1", "payments")
    assert (ref.id, ref.known) == ("svc:payments", True)
    known.clear()
    mapper.forget()
    assert mapper.map("h1", "payments").label == Label.SERVICE and mapper.map("h1", "payments").id == "payments"
    # no longer known and the rule does not discover: the next rule (any tag is a service) decided


def test_unavailable_graph_is_not_cached():
    calls = []

    def lookup(label, key):
        calls.append(key)
        raise ConnectionError("graph down")

    mapper = EntityMapper(load_entity_rules(), lookup)
    mapper.map("h", "billing")
    first = len(calls)  # one try per rule that asks the graph (known datastore?, then service)
    mapper.map("h", "billing")
    assert first >= 1 and len(calls) == 2 * first


def test_bad_entity_rule_is_named():
    with pytest.raises(ValueError, match="label must be one of"):
        load_entity_rules(extra=[{"name": "x", "entity": {"label": "Incident"}}])
    with pytest.raises(ValueError, match="can match only"):
        load_entity_rules(extra=[{"name": "x", "match": {"message": "."}, "entity": {"label": "Host"}}])
