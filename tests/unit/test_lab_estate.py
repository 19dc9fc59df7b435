"""The lab's estate file: a topology file plus a lab: section, refused with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.topology.file import load_topology_file
from rca.cli.lab.estate import EstateError, load_estate, parse_estate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "lab"

GOOD = """\
version: 1
estate: tiny
hosts:
  - {id: h1}
  - {id: h2}
datastores:
  - {id: pg-orders, technology: postgres, runs_on: h2}
services:
  - id: front
    calls: [orders]
    instances: [{id: front-0, runs_on: h1}]
  - id: orders
    depends_on: [pg-orders]
    instances: [{id: orders-0, runs_on: h2}]
lab:
  load: {front: 3}
  services:
    orders: {work_ms: 7, calls: {pg-orders: 0.5}}
"""


def parse(text: str):
    return parse_estate(text, Path("estate.yaml"))


def error_of(text: str) -> str:
    with pytest.raises(EstateError) as caught:
        parse(text)
    return str(caught.value)


def test_a_good_estate_gives_services_datastores_hosts_and_defaults():
    estate = parse(GOOD)
    assert estate.name == "tiny"
    assert estate.load == {"front": 3.0}
    assert estate.services["front"].calls == {"orders": 1.0}  # every topology callee once per request by default
    assert estate.services["orders"].calls == {"pg-orders": 0.5}
    assert estate.services["orders"].work_ms == 7.0
    assert estate.services["front"].host == "h1" and estate.services["front"].instance == "front-0"
    assert estate.datastores["pg-orders"].kind == "postgresql"
    assert estate.hosts == ("h1", "h2")
    assert estate.members("h2") == ["orders", "pg-orders"]
    assert estate.slo.error_ratio == 0.05 and estate.scrape_interval_s == 5.0


@pytest.mark.parametrize("name", ["estate-small.yaml", "estate-shop.yaml", "estate-deep.yaml"])
def test_the_shipped_estates_load_as_estates_and_as_topology_files(name):
    estate = load_estate(EXAMPLES / name)
    assert estate.load and set(estate.load) <= set(estate.services)
    snapshot = load_topology_file(EXAMPLES / name)  # `rca topology load` reads the same file
    assert {e.id for e in snapshot.entities} >= set(estate.services) | set(estate.datastores)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("load: {front: 3}", "load: {nobody: 3}"), "estate.yaml:16: lab.load.nobody: 'nobody' is not a service"),
        (("load: {front: 3}", "load: {front: -1}"), "estate.yaml:16: lab.load.front: -1 is less than or equal"),
        (
            ("load: {front: 3}", "lod: {front: 3}"),
            "estate.yaml:16: lab.lod: Additional properties are not allowed ('lod' was unexpected)",
        ),
        (("calls: {pg-orders: 0.5}", "calls: {front: 1}"), "estate.yaml:18: lab.services.orders.calls.front: 'front'"),
        (("    orders: {work", "    ghost: {work"), "estate.yaml:18: lab.services.ghost: 'ghost' is not a service"),
        (("technology: postgres", "technology: kafka"), "estate.yaml:7: datastores[0].technology: the lab runs only"),
        (
            ("runs_on: h2}\nservices", "}\nservices"),
            "estate.yaml:7: datastores[0]: datastore 'pg-orders' needs runs_on",
        ),
        (
            ("instances: [{id: front-0, runs_on: h1}]", "instances: [{id: front-0}]"),
            "estate.yaml:11: services[0].instances: service 'front' needs exactly one instance",
        ),
        (("work_ms: 7", "work_ms: fast"), "estate.yaml:18: lab.services.orders.work_ms: 'fast' is not of type"),
    ],
)
def test_bad_lab_sections_are_refused_naming_file_line_and_field(change, expected):
    old, new = change
    assert old in GOOD
    assert expected in error_of(GOOD.replace(old, new))


def test_an_estate_needs_a_lab_section():
    assert "estate.yaml:1: no 'lab:' section" in error_of(GOOD[: GOOD.index("lab:")])


def test_a_bad_topology_part_is_refused_by_the_topology_loader_with_its_line():
    message = error_of(GOOD.replace("calls: [orders]", "calls: [nowhere]"))
    assert message.startswith("estate.yaml:10: services[0].calls[0]:") and "'nowhere' is not defined" in message


def test_services_calling_each_other_in_a_cycle_are_refused():
    text = GOOD.replace("    depends_on: [pg-orders]\n", "    depends_on: [pg-orders]\n    calls: [front]\n")
    assert "cycle (front -> orders -> front)" in error_of(text)


def test_a_file_that_cannot_be_read_names_itself(tmp_path):
    with pytest.raises(EstateError, match=r"missing\.yaml: cannot read"):
        load_estate(tmp_path / "missing.yaml")
