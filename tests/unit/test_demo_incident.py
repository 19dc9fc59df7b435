"""The bundled incident's spec: raw syslog lines and metric series generated deterministically."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml

from ingest.syslog.classes import SignatureClassifier, load_class_rules
from ingest.syslog.entities import EntityMapper, load_entity_rules
from ingest.syslog.parser import SyslogParser
from rca.cli.demo.incident import (
    IncidentFileError,
    SeriesSpec,
    load,
    metric_series,
    syslog_lines,
)
from rca.cli.demo_commands import EXAMPLE_INCIDENT

ALERT = 1_795_446_966.25


def test_lines_are_real_syslog_anchored_at_the_alert_and_deterministic():
    incident = load(EXAMPLE_INCIDENT)
    lines = syslog_lines(incident, ALERT)
    assert lines == syslog_lines(incident, ALERT)
    assert len(lines) == sum(spec.count for spec in incident.logs)
    records = [SyslogParser().parse(line.decode()) for line in lines]
    assert {r.format for r in records} == {"rfc5424", "rfc3164"}
    stamps = [r.timestamp for r in records]
    assert stamps == sorted(stamps) and max(stamps) == pytest.approx(ALERT, abs=1e-3)
    refused = [r for r in records if "too many clients" in r.message]
    assert len(refused) == 412 and {(r.hostname, r.app_name, r.severity) for r in refused} == {
        ("db-1", "postgres-payments", 3)
    }
    assert min(r.timestamp for r in refused) == pytest.approx(ALERT - 390 + 390 / 412, abs=1e-3)
    # vary fills placeholders with seeded integers in range
    waits = [int(r.message.rsplit(" after ", 1)[1].removesuffix("ms")) for r in records if r.app_name == "payment"]
    assert len(waits) == 287 and min(waits) >= 5000 and max(waits) <= 5400 and len(set(waits)) > 50


def test_bsd_lines_are_written_in_the_zone_the_parser_assumes():
    incident = load(EXAMPLE_INCIDENT)
    berlin = ZoneInfo("Europe/Berlin")
    lines = syslog_lines(incident, ALERT, berlin)
    bsd = [
        SyslogParser(default_tz=berlin).parse(line.decode())
        for line in lines
        if not line.split(b">", 1)[1].startswith(b"1 ")
    ]
    assert bsd and max(r.timestamp for r in bsd) == pytest.approx(ALERT, abs=1e-3)


def test_lines_map_to_the_estate_entities_and_classes_the_rules_expect():
    known = {
        ("Service", "payment"),
        ("Service", "checkout"),
        ("Service", "inventory"),
        ("Service", "ads"),
        ("Datastore", "postgres-payments"),
    }
    mapper = EntityMapper(load_entity_rules(), lambda label, key: key if (str(label), key) in known else None)
    classifier = SignatureClassifier(load_class_rules())
    seen = {}
    for line in syslog_lines(load(EXAMPLE_INCIDENT), ALERT):
        record = SyslogParser().parse(line.decode())
        entity = mapper.map(record.hostname, record.app_name)
        rule = classifier.classify(record.message)
        seen[(str(entity.label), entity.id, entity.known)] = seen.get(
            (str(entity.label), entity.id, entity.known), set()
        )
        seen[(str(entity.label), entity.id, entity.known)].add(
            (rule.signature_class, rule.change_type) if rule else ("other", None)
        )
    assert seen == {
        ("Datastore", "postgres-payments", True): {("change", "config"), ("connection", None)},
        ("Service", "payment", True): {("timeout", None)},
        ("Service", "checkout", True): {("connection", None)},
        ("Service", "inventory", True): {("other", None)},
        ("Service", "ads", True): {("change", "deploy")},
    }


def test_an_unknown_app_name_is_still_a_discovered_service_not_a_datastore():
    mapper = EntityMapper(load_entity_rules(), lambda label, key: None)
    entity = mapper.map("db-9", "postgres-ledger")
    assert (str(entity.label), entity.id, entity.known) == ("Service", "postgres-ledger", False)


def test_series_steps_ramps_and_ends_on_the_grid():
    rng = np.random.default_rng(1)
    rel = np.arange(-600.0, 1.0, 15.0)
    ramp = SeriesSpec("latency_p99", {}, 1.0, 0.0, change_at=-300, change_to=4.0, change_over=60)
    values = ramp.values(rel, rng)
    assert values[rel < -300].tolist() == [1.0] * int((rel < -300).sum())
    assert values[rel == -270][0] == pytest.approx(2.5) and values[rel == -240][0] == pytest.approx(4.0)
    blip = SeriesSpec("latency_p99", {}, 1.0, 0.0, change_at=-300, change_to=3.0, change_for=120)
    b = blip.values(rel, rng)
    assert b[rel == -300][0] == 3.0 and b[rel == -195][0] == 3.0 and b[rel == -180][0] == 1.0

    incident = load(EXAMPLE_INCIDENT)
    generated = metric_series(incident, ALERT, 3600, 15)
    assert [s for s, *_ in generated] == incident.series
    ts = generated[0][1]
    assert np.all(ts % 15 == 0) and ts[-1] <= ALERT < ts[-1] + 15 and ts[0] >= ALERT - 3600
    again = metric_series(incident, ALERT, 3600, 15)
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(generated, again))
    quiet = next(v for s, _, v in generated if s.change_at is None and s.signal == "request_rate")
    assert abs(np.median(quiet) - 42.0) < 1.0 and 1.0 < np.std(quiet) < 3.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"logs": [{"host": "h", "app": "a", "message": "x {n}"}]},
            "logs[0]: needs 'at' (one line) or 'from', 'to' and 'count'",
        ),
        (
            {"logs": [{"at": 0, "host": "h", "app": "a", "message": "x", "severity": "loud"}]},
            "logs[0]: severity must be one of",
        ),
        ({"logs": [{"at": 0, "host": "h", "app": "a", "message": "waited {ms}ms"}]}, "logs[0]: missing 'ms'"),
        (
            {"logs": [{"from": 0, "to": -5, "count": 3, "host": "h", "app": "a", "message": "x"}]},
            "logs[0]: needs from < to",
        ),
        ({"metrics": {"series": [{"signal": "error_ratio", "noise": 0.1}]}}, "metrics.series[0]: missing 'baseline'"),
        ({"symptoms": [{"entity": "checkout"}]}, "symptoms[0]: needs 'entity' and 'family'"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_entry(tmp_path, change, message):
    path = tmp_path / "incident.yaml"
    path.write_text(yaml.safe_dump({"symptoms": [{"entity": "checkout", "family": "errors"}], **change}))
    with pytest.raises(IncidentFileError, match=re.escape(f"{path}: {message}")):
        load(path)
