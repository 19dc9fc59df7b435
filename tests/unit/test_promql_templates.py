"""The template and mapping files: the shipped defaults load, bad files are named, labels map to entities."""

from __future__ import annotations

import pytest

from graph_schema.model import Label, RelType
from ingest.metrics.mapping import EntityMapper
from ingest.metrics.promql_templates import TemplateError, load_templates


def test_shipped_defaults_cover_the_usual_sources():
    templates = load_templates()
    queries = " ".join(t.query for t in templates.signals) + " ".join(t.query for t in templates.edges)
    for metric in (
        "node_cpu_seconds_total",
        "container_cpu_usage_seconds_total",
        "kube_pod_info",
        "kube_deployment_status_replicas_unavailable",
        "http_server_request_duration_seconds",
        "istio_requests_total",
        "traces_service_graph_request_total",
    ):
        assert metric in queries, metric
    families = {t.family for t in templates.signals}
    assert families == {"latency", "errors", "saturation", "traffic"}
    assert {e.relation for e in templates.edges} == {RelType.CALLS, RelType.RUNS_ON, RelType.INSTANCE_OF}
    assert all("$rate_window" not in t.promql("1m") for t in templates.signals)
    # the syslog worker's own hop histogram, read back with the few baseline points logs give
    hops = next(t for t in templates.signals if t.name == "log_trace_hop_latency")
    assert "rca_syslog_trace_hop_seconds_bucket" in hops.query and hops.min_baseline_points == 5
    assert {t.min_baseline_points for t in templates.signals if t is not hops} == {None}


def _write(tmp_path, text):
    path = tmp_path / "signals.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "entry, message",
    [
        ("{name: a, family: vibes, query: up, entity: otel_service}", "family must be one of"),
        ("{name: a, family: errors, query: up, entity: nowhere}", "unknown entity rule 'nowhere'"),
        ("{name: a, family: errors, entity: otel_service}", "missing or empty 'query'"),
        ("{name: a, family: errors, query: up, entity: otel_service, direction: sideways}", "direction must be"),
        ("{name: a, family: errors, query: up, entity: otel_service, min_scale: lots}", "must be numbers"),
        ("{name: a, family: errors, query: up, entity: otel_service, min_baseline_points: 2}", "at least 3"),
        ("{name: a, family: errors, query: up, entity: otel_service, min_baseline_points: 5.5}", "whole number"),
    ],
)
def test_bad_signal_entries_are_named(tmp_path, entry, message):
    path = _write(tmp_path, f"signals:\n  - {entry}\n")
    with pytest.raises(TemplateError, match=message) as caught:
        load_templates(signals=path)
    assert str(path) in str(caught.value)


def test_duplicate_names_and_bad_yaml_are_rejected(tmp_path):
    dup = _write(
        tmp_path,
        "signals:\n  - {name: a, family: errors, query: up, entity: otel_service}\n"
        "  - {name: a, family: errors, query: up, entity: otel_service}\n",
    )
    with pytest.raises(TemplateError, match="signal a: duplicate name"):
        load_templates(signals=dup)
    broken = _write(tmp_path, "signals: [\n")
    with pytest.raises(TemplateError, match="cannot read"):
        load_templates(signals=broken)


def test_bad_mapping_rules_are_named(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("rules:\n  r: {prom_label: x, entity: Planet}\n")
    with pytest.raises(TemplateError, match="rule r: entity must be one of"):
        load_templates(mapping=mapping)
    mapping.write_text("rules:\n  r: {prom_label: x, entity: Host, id_regex: '(['}\n")
    with pytest.raises(TemplateError, match="bad regular expression"):
        load_templates(mapping=mapping)
    for kind_from in ("'label:'", "patterns", "7"):
        mapping.write_text(f"rules:\n  r: {{prom_label: x, entity: Service, kind_from: {kind_from}}}\n")
        with pytest.raises(TemplateError, match="rule r: kind_from must be 'datastore_patterns' or 'label:"):
            load_templates(mapping=mapping)


def test_a_series_that_names_its_entitys_kind_maps_to_that_kind():
    # the syslog worker labels hops with the kind of the entity they went into: a datastore whose name
    # matches no datastore pattern is still a datastore; a series without the label (a worker from before
    # it) or with a kind no mapping knows is read as before, by the datastore patterns
    mapper = EntityMapper(load_templates())
    assert mapper.map("syslog_trace_hop_service", {"service": "ledger", "kind": "Datastore"}).label == Label.DATASTORE
    assert mapper.map("syslog_trace_hop_service", {"service": "checkout", "kind": "Service"}).label == Label.SERVICE
    assert mapper.map("syslog_trace_hop_service", {"service": "orders-db", "kind": ""}).label == Label.DATASTORE
    assert mapper.map("syslog_trace_hop_service", {"service": "orders-db"}).label == Label.DATASTORE
    assert mapper.map("syslog_trace_hop_service", {"service": "x", "kind": "Planet"}).label == Label.SERVICE


def test_a_series_without_the_label_its_rule_reads_the_kind_from_is_named():
    # the poll counts these (bad input `unlabelled_kind`): a query that sums the label away would
    # otherwise make every datastore whose name matches no pattern a Service without a word
    mapper = EntityMapper(load_templates())
    assert mapper.unread_kind_label("syslog_trace_hop_service", {"service": "ledger", "kind": "Datastore"}) is None
    assert mapper.unread_kind_label("syslog_trace_hop_service", {"service": "ledger"}) == "kind"
    assert mapper.unread_kind_label("syslog_trace_hop_service", {"service": "ledger", "kind": "Planet"}) == "kind"
    assert mapper.unread_kind_label("node_exporter_host", {"instance": "db-host-3:9100"}) is None  # reads no label


def test_labels_map_to_entities():
    mapper = EntityMapper(load_templates())
    assert mapper.map("node_exporter_host", {"instance": "db-host-3:9100"}).id == "db-host-3"
    assert mapper.map("node_exporter_host", {"instance": "[::1]:9100"}).id == "::1"
    server = mapper.map("servicegraph_server", {"server": "orders-postgres", "client": "checkout"})
    assert server.label == Label.DATASTORE
    assert (
        mapper.map("servicegraph_server", {"server": "billing", "connection_type": "database"}).label == Label.DATASTORE
    )
    assert (
        mapper.map("servicegraph_client", {"client": "checkout", "connection_type": "database"}).label == Label.SERVICE
    )
    assert mapper.map("servicegraph_server", {"server": "checkout"}).label == Label.SERVICE
    assert mapper.map("pod_instance", {"pod": "checkout-7c8b-b1"}).label == Label.INSTANCE
    assert mapper.map("pod_instance", {"pod": ""}) is None
    assert mapper.map("pod_instance", {"node": "n1"}) is None
    assert EntityMapper(load_templates(), prefix="eu1/").map("kube_node", {"node": "n1"}).id == "eu1/n1"
