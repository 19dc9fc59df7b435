"""Parsing and validating topology files (pure logic)."""

from pathlib import Path

import pytest

from graph_schema.model import Label, RelType
from ingest.topology.file import TopologyFileError, load_topology_file, parse_topology
from ingest.topology.yaml_lines import line_of, load_with_lines
from tests.support.topology_fuzz import alias_bomb

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online-boutique.yaml"

VALID = """\
version: 1
hosts:
  - id: h1
datastores:
  - id: db
    technology: postgres
    runs_on: h1
services:
  - id: web
    calls: [api]
    instances:
      - {id: web-0, runs_on: h1}
  - id: api
    depends_on: [db]
relations:
  - {from: api, kind: calls, to: db}
"""


def test_valid_file_yields_entities_and_edges():
    snap = parse_topology(VALID)
    labels = {e.id: e.label for e in snap.entities}
    assert labels == {
        "h1": Label.HOST,
        "db": Label.DATASTORE,
        "web": Label.SERVICE,
        "web-0": Label.INSTANCE,
        "api": Label.SERVICE,
    }
    edges = {(e.relation.type, e.source_id, e.target_id) for e in snap.edges}
    assert edges == {
        (RelType.RUNS_ON, "db", "h1"),
        (RelType.CALLS, "web", "api"),
        (RelType.INSTANCE_OF, "web-0", "web"),
        (RelType.RUNS_ON, "web-0", "h1"),
        (RelType.DEPENDS_ON, "api", "db"),
        (RelType.CALLS, "api", "db"),
    }


def test_example_estate_is_a_realistic_shop():
    snap = load_topology_file(EXAMPLE)
    by_label = {label: [e for e in snap.entities if e.label == label] for label in Label}
    services = {e.id for e in by_label[Label.SERVICE]}
    assert len(services) >= 12
    for role in (
        "frontend",
        "checkout",
        "payment",
        "cart",
        "catalog",
        "shipping",
        "currency",
        "email",
        "recommendation",
        "ads",
    ):
        assert role in services
    assert len(by_label[Label.HOST]) >= 3
    hosts_used = {
        e.target_id for e in snap.edges if e.relation.type == RelType.RUNS_ON and e.relation.source == Label.INSTANCE
    }
    assert len(hosts_used) >= 3
    assert any(e.technology == "redis" for e in by_label[Label.DATASTORE])


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "version: 1\nservices:\n  - id: a\n    calls: [ghost]\n",
            "x.yaml:4: services[0].calls[0]: 'ghost' is not defined",
        ),
        ("version: 1\nservices:\n  - id: a\n    colour: red\n", "x.yaml:4: services[0].colour: Additional properties"),
        (
            "version: 1\nservices:\n  - {id: a}\n  - {id: b}\nrelations:\n  - {from: a, kind: eats, to: b}\n",
            "x.yaml:6: relations[0].kind: unknown relation kind 'eats'",
        ),
        (
            "version: 1\nhosts:\n  - id: h\nservices:\n  - id: a\n    calls: [h]\n",
            "calls from service 'a' to host 'h' is not allowed",
        ),
        (
            "version: 1\nhosts:\n  - id: h\n  - id: h\n",
            "x.yaml:4: hosts[1].id: duplicate id 'h' (first defined at line 3)",
        ),
        ("version: 1\nservices: [\n", "x.yaml:3: not valid YAML"),
        # refused as the parser meets the 65th level, with its line (PyYAML's own scanner took 0.1 s)
        ("version: 1\nx:\n  " + "[" * 500 + "]" * 500, "x.yaml:3: not valid YAML: values nested deeper than 64"),
        # libyaml reads UTF-8 only: a lone surrogate goes to PyYAML's reader, which names it
        ("version: 1\nx: \udc80\n", "x.yaml: not valid YAML: unacceptable character #xdc80"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("hosts: []\n", "'version' is a required property"),
        ("version: 1\nservices:\n  - id: 'bad id with spaces'\n", "x.yaml:3: services[0].id"),
    ],
)
def test_bad_files_name_file_line_and_field(text, expected):
    with pytest.raises(TopologyFileError) as err:
        parse_topology(text, "x.yaml")
    assert expected in str(err.value)


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(TopologyFileError, match="cannot read"):
        load_topology_file(tmp_path / "missing.yaml")


def test_aliased_values_are_located_once_at_their_anchor():
    # 10**5 values once expanded: each expanded path was recorded before (82 ms, most of a fuzz input's time)
    data, lines = load_with_lines(alias_bomb(5))
    assert len(data["a4"]) == 10 and len(lines) < 100
    assert line_of(lines, ("a4", 9, 9, 9, 9, 9)) == 5  # the deepest value under a4's last alias: a3's anchor line
