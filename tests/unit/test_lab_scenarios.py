"""Scenario files of `rca lab run`: what a good file gives, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from rca.cli.lab.scenarios import FAULT_KINDS, ScenarioError, load_scenarios, parse_duration

ENTITIES = {"frontend", "checkout", "payments", "redis-cart", "node-1"}


def entities_of(estate: Path) -> set[str]:
    return ENTITIES if estate.name == "estate.yaml" else {"gateway", "ledger"}


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "estate.yaml").write_text("version: 1\n")
    (tmp_path / "other.yaml").write_text("version: 1\n")
    path = tmp_path / "scenarios.yaml"
    path.write_text(text)
    return path


GOOD = """\
estate: estate.yaml
warmup: 5m
defaults: {steady: 30s, duration: 1m30s}
scenarios:
  - name: payments-latency
    fault: latency
    target: payments
    params: {delay_ms: 400}
  - name: cart-store-down
    fault: datastore_outage
    target: redis-cart
    expect: [redis-cart]
    duration: 60
    steady: 45s
  - name: ledger-crash
    fault: crash
    target: ledger
    estate: other.yaml
    expect: ledger
"""


def test_a_good_file_gives_every_scenario_with_defaults_and_overrides(tmp_path):
    loaded = load_scenarios(write(tmp_path, GOOD), entities_of)
    first, second, third = loaded.scenarios
    assert loaded.warmup_s == 300
    assert (first.name, first.fault, first.target, first.expect) == (
        "payments-latency",
        "latency",
        "payments",
        ("payments",),
    )
    assert (first.steady_s, first.duration_s, first.params) == (30, 90, {"delay_ms": 400})
    assert (second.steady_s, second.duration_s, second.expect) == (45, 60, ("redis-cart",))
    assert third.estate == (tmp_path / "other.yaml").resolve() and third.expect == ("ledger",)
    assert loaded.estates() == [(tmp_path / "estate.yaml").resolve(), (tmp_path / "other.yaml").resolve()]


def test_estate_override_replaces_every_scenario_estate(tmp_path):
    path = write(tmp_path, GOOD.replace("target: ledger", "target: payments").replace("expect: ledger", ""))
    loaded = load_scenarios(path, entities_of, estate_override=tmp_path / "estate.yaml")
    assert {s.estate for s in loaded.scenarios} == {tmp_path / "estate.yaml"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("fault: latency", "fault: latensy"),
            r"scenarios\.yaml:6: scenarios\[0\]\.fault: 'latensy' is not a fault kind",
        ),
        (
            ("target: payments", "target: paymnts"),
            r":7: scenarios\[0\]\.target: 'paymnts' is not an entity of the estate",
        ),
        (
            ("expect: [redis-cart]", "expect: [redis-cart, nobody]"),
            r":12: scenarios\[1\]\.expect\[1\]: 'nobody' is not an entity",
        ),
        (("duration: 60", "duration: 60x"), r":13: scenarios\[1\]\.duration: '60x' is not a duration"),
        (("steady: 45s", "steady: 0s"), r":14: scenarios\[1\]\.steady: '0s' must be more than 0 s"),
        (("steady: 30s", "stedy: 30s"), r":3: defaults\.stedy: unknown key"),
        (("    params:", "    parms:"), r":8: scenarios\[0\]\.parms: unknown key"),
        (
            ("name: cart-store-down", "name: payments-latency"),
            r":9: scenarios\[1\]\.name: 'payments-latency' is already",
        ),
        (("name: cart-store-down", "name: cart store"), r":9: scenarios\[1\]\.name: 'cart store': use letters"),
        (
            ("estate: other.yaml", "estate: missing.yaml"),
            r":18: scenarios\[2\]\.estate: 'missing.yaml': no such estate file",
        ),
        (("    target: ledger\n", ""), r"scenarios\[2\]\.target: required"),
        (("params: {delay_ms: 400}", "params: [1]"), r":8: scenarios\[0\]\.params: expected a mapping"),
        (("warmup: 5m", "warmup: 5m\nversion: 2"), r":3: version: 2 is not a known version"),
    ],
)
def test_errors_name_the_file_line_and_field(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ScenarioError, match=message):
        load_scenarios(path, entities_of)


def test_not_yaml_and_missing_parts_are_named(tmp_path):
    with pytest.raises(ScenarioError, match=r"scenarios\.yaml:\d+:\d+: not valid YAML"):
        load_scenarios(write(tmp_path, "scenarios:\n  - [\n"), entities_of)
    with pytest.raises(ScenarioError, match=r"scenarios: required: a list of scenarios"):
        load_scenarios(write(tmp_path, "estate: estate.yaml\n"), entities_of)
    with pytest.raises(ScenarioError, match=r"scenarios\[0\]\.estate: required"):
        load_scenarios(write(tmp_path, "scenarios:\n  - {name: a, fault: cpu, target: checkout}\n"), entities_of)
    with pytest.raises(ScenarioError, match=r"no-such\.yaml: cannot read"):
        load_scenarios(tmp_path / "no-such.yaml", entities_of)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("1m30s", 90), ("2m", 120), (75, 75), ("1.5m", 90), ("0.5h", 1800)]
)
def test_durations(text, seconds):
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("text", ["", "m", "90ms", "-5s", True, None, "5d"])
def test_bad_durations(text):
    with pytest.raises(ScenarioError, match=r"^x: "):
        parse_duration(text, "x")


def test_a_fault_the_injectors_refuse_is_named_with_the_scenario_line(tmp_path):
    def check(kind, target, estate, params):
        if kind == "cpu" and target == "redis-cart":
            raise ValueError(f"fault cpu applies to a service or a host; {target!r} is a datastore")

    path = write(tmp_path, GOOD.replace("fault: datastore_outage", "fault: cpu"))
    with pytest.raises(ScenarioError, match=r":9: scenarios\[1\]: fault cpu applies to a service or a host"):
        load_scenarios(path, entities_of, check_fault=check)


def test_the_shipped_scenario_files_cover_every_fault_kind_on_two_estates():
    from rca.cli.lab.runner import _check_fault, _entity_kinds

    files = sorted(Path("examples/lab").glob("scenarios*.yaml"))
    loaded = [load_scenarios(f, lambda estate: set(_entity_kinds(estate)), check_fault=_check_fault) for f in files]
    scenarios = [s for f in loaded for s in f.scenarios]
    assert len(scenarios) >= 20
    assert {s.fault for s in scenarios} == set(FAULT_KINDS)
    assert len({s.estate for s in scenarios}) >= 2
