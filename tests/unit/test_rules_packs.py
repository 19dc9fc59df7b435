"""Each rule fires on the evidence it names and stays silent without it; thresholds come from YAML."""

import pytest

from rca.rank.rules.evaluate import RuleEngine, default_rule_engine
from rca.rank.rules.packs import RULES
from rca.rank.rules.thresholds import load_thresholds

QUIET = {
    "entity": "x",
    "kind": "Service",
    "name": "x",
    "evidence": 0.0,
    "errors": 0.0,
    "latency": 0.0,
    "saturation": 0.0,
    "traffic": 0.0,
    "crash_lines": 0,
    "oom_lines": 0,
    "auth_lines": 0,
    "restarts": 0,
    "users_total": 3,
    "users_failing": 0,
    "users_failing_share": 0.0,
    "users_auth_share": 0.0,
    "residents_total": 0,
    "residents_degraded": 0,
    "residents_share": 0.0,
    "change_gap_s": -1.0,
    "change_evidence": 0.0,
    "lead_s": -1.0,
    "later_share": 0.0,
    "degraded_later": 0,
}

# rule -> (fact that must fire it, fact that must not)
CASES = {
    "datastore_unreachable_callers_timeout": (
        {"kind": "Datastore", "users_failing": 3, "users_failing_share": 1.0},
        {"kind": "Datastore", "users_failing": 1, "users_failing_share": 0.33},
    ),
    "host_exhausted_instances_degrade": (
        {"kind": "Host", "saturation": 8.0, "residents_total": 2, "residents_degraded": 2, "residents_share": 1.0},
        {"kind": "Host", "saturation": 8.0, "residents_total": 4, "residents_degraded": 1, "residents_share": 0.25},
    ),
    "change_before_first_symptom": (
        {"change_gap_s": 300.0, "change_evidence": 0.9},
        {"change_gap_s": 7200.0, "change_evidence": 0.9},
    ),
    "crash_loop_or_oom": ({"oom_lines": 4}, {"crash_lines": 1}),
    "downstream_error_first": (
        {"errors": 7.0, "lead_s": 60.0, "later_share": 1.0},
        {"errors": 7.0, "lead_s": 5.0, "later_share": 1.0},
    ),
    "saturation_cascade": ({"saturation": 9.0, "degraded_later": 2}, {"saturation": 9.0, "degraded_later": 0}),
    "certificate_or_auth_failure": ({"users_auth_share": 0.67}, {"users_auth_share": 0.1, "auth_lines": 2}),
}


def test_every_rule_has_a_case_and_thresholds():
    thresholds = load_thresholds()
    assert set(CASES) == set(RULES)
    assert set(thresholds.by_rule) == set(RULES)
    assert all(rule.doc for rule in RULES.values())


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires_on_its_evidence(rule):
    fires, _ = CASES[rule]
    findings = default_rule_engine().evaluate([{**QUIET, **fires}], at=123.0)
    assert [f.rule for f in findings] == [rule]
    assert 0.0 < findings[0].strength <= 1.0
    assert findings[0].entity_id == "x" and findings[0].time == 123.0 and findings[0].text


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_stays_silent_without_it(rule):
    _, silent = CASES[rule]
    assert [f.rule for f in default_rule_engine().evaluate([{**QUIET, **silent}], at=0.0)] == []


def test_quiet_entity_fires_nothing_and_strength_grows_with_evidence():
    engine = default_rule_engine()
    assert engine.evaluate([QUIET], at=0.0) == []
    weak = engine.evaluate([{**QUIET, "kind": "Datastore", "users_failing": 2, "users_failing_share": 0.5}], 0.0)
    strong = engine.evaluate([{**QUIET, "kind": "Datastore", "users_failing": 4, "users_failing_share": 1.0}], 0.0)
    assert strong[0].strength > weak[0].strength


def test_thresholds_are_data_and_change_the_outcome(tmp_path):
    text = load_thresholds().by_rule
    custom = tmp_path / "t.yaml"
    lines = ["version: test-strict"]
    for rule, values in text.items():
        lines.append(f"{rule}:")
        lines += [f"  {k}: {v}" for k, v in values.items()]
    custom.write_text("\n".join(lines).replace("min_oom_lines: 1.0", "min_oom_lines: 10"))
    strict = RuleEngine(load_thresholds(custom))
    assert strict.version.startswith("test-strict+")
    assert strict.evaluate([{**QUIET, "oom_lines": 4}], 0.0) == []
    assert [f.rule for f in default_rule_engine().evaluate([{**QUIET, "oom_lines": 4}], 0.0)] == ["crash_loop_or_oom"]


def test_malformed_thresholds_name_the_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ncrash_loop_or_oom:\n  min_crash_lines: many\n")
    with pytest.raises(ValueError, match=r"crash_loop_or_oom\.min_crash_lines"):
        load_thresholds(bad)


def test_facts_with_tiny_huge_or_infinite_numbers_are_judged_not_refused():
    # durable-rules' parser refuses "1e-07", "1e+16" and infinities; such values must not fail an Infer
    from rca.rank.features import build_features
    from rca.rank.graph import PropagationGraph
    from rca.rank.rules.evaluate import default_rule_engine
    from rca.rank.rules.facts import build_facts
    from rca.simulator import simulate

    engine = default_rule_engine()
    subgraph = simulate(7, 100, "datastore_outage", id_prefix="tiny-").to_subgraph(max_hops=4)
    graph = PropagationGraph(subgraph)
    facts = [f for f in build_facts(subgraph, build_features(subgraph, graph), graph) if engine.may_fire(f)]
    expected = engine.evaluate(facts, subgraph.alert_time, prefiltered=True)
    assert expected
    numeric = [k for k, v in facts[0].items() if isinstance(v, float)]
    for value, same_as in ((1e-07, 0.0), (-1e-05, 0.0), (1e20, 1e15), (float("inf"), 1e15)):
        odd = [dict(f) for f in facts]
        plain = [dict(f) for f in facts]
        for key in numeric:
            odd[0][key], plain[0][key] = value, same_as
        assert engine.evaluate(odd, subgraph.alert_time, prefiltered=True) == engine.evaluate(
            plain, subgraph.alert_time, prefiltered=True
        )


def test_facts_asserted_together_fire_as_they_do_one_at_a_time():
    # evaluate() asserts a request's facts in one batch; the findings must be those of asserting
    # them one by one, over the facts of a real (simulated) incident of every fault type
    from rca.rank.features import build_features
    from rca.rank.graph import PropagationGraph
    from rca.rank.rules.evaluate import _LOCK, _fire, _plain_numbers
    from rca.rank.rules.facts import build_facts
    from rca.simulator import simulate

    engine = default_rule_engine()
    fired_somewhere = 0
    for seed, fault in enumerate(("datastore_outage", "host_failure", "bad_deploy", "cpu_exhaustion", "errors")):
        subgraph = simulate(seed, 100, fault, id_prefix=f"batch{seed}-").to_subgraph(max_hops=4)
        graph = PropagationGraph(subgraph)
        facts = [
            _plain_numbers(f)
            for f in build_facts(subgraph, build_features(subgraph, graph), graph)
            if engine.may_fire(f)
        ]
        with _LOCK:
            name = engine._ruleset_name()
            together = sorted((rule, fact["entity"]) for rule, fact in _fire(name, facts, batch=True))
            apart = sorted((rule, fact["entity"]) for rule, fact in _fire(name, facts, batch=False))
        assert together == apart
        fired_somewhere += bool(together)
    assert fired_somewhere >= 4


def test_a_fact_no_rule_looks_at_does_not_cost_the_others_their_findings():
    # durable-rules refuses a whole batch when one fact matches no rule's fields at all; evaluate()
    # then asserts the facts one at a time (prefiltered=True skips the filter that keeps such facts out)
    engine = default_rule_engine()
    crash = {**QUIET, "entity": "a", "name": "a", "oom_lines": 4}
    stray = {"entity": "stray", "nothing_a_rule_reads": 1}
    datastore = {
        **QUIET,
        "entity": "b",
        "name": "b",
        "kind": "Datastore",
        "users_failing": 4,
        "users_failing_share": 1.0,
    }
    findings = engine.evaluate([crash, stray, datastore], at=0.0, prefiltered=True)
    assert sorted((f.rule, f.entity_id) for f in findings) == [
        ("crash_loop_or_oom", "a"),
        ("datastore_unreachable_callers_timeout", "b"),
    ]
    assert engine.evaluate([crash, datastore], at=0.0) == findings  # and the next request is unaffected
