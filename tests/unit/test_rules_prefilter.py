"""The fact prefilter never drops a fact a rule would fire on, and does drop quiet ones."""

import pytest

from rca.fast.rule_prefilter import compile_any, compile_condition
from rca.rank.features import build_features
from rca.rank.graph import PropagationGraph
from rca.rank.rules.evaluate import default_rule_engine
from rca.rank.rules.facts import build_facts
from rca.simulator import FAULT_TYPES, simulate
from tests.unit.test_rules_packs import CASES, QUIET


def test_conditions_pass_what_they_match_and_near_misses():
    check = compile_condition({"$and": [{"kind": "Host"}, {"$gte": {"residents_share": 0.5}}]})
    assert check({"kind": "Host", "residents_share": 0.5})
    assert check({"kind": "Host", "residents_share": 0.5 - 1e-12})  # the engine's own parsing decides these
    assert not check({"kind": "Host", "residents_share": 0.4})
    assert not check({"kind": "Service", "residents_share": 0.9})
    assert compile_condition({"$lte": {"gap": 10}})({"gap": 10}) and not compile_condition({"$lte": {"gap": 10}})(
        {"gap": 11}
    )


def test_unknown_operators_missing_fields_and_other_types_may_fire():
    assert compile_condition({"$mt": {"name": "x.*"}})({"name": "y"})
    assert compile_condition({"$gte": {"lead_s": 20.0}})({})
    assert compile_condition({"$gte": {"lead_s": 20.0}})({"lead_s": "soon"})
    assert compile_any([{"$gte": {"a": 1}}, {"$gte": {"b": 1}}])({"a": 0, "b": 2})


def test_columns_get_one_answer_per_fact():
    import numpy as np

    check = compile_condition({"$and": [{"kind": "Host"}, {"$gte": {"residents_share": 0.5}}]})
    columns = {"kind": np.array(["Host", "Host", "Service"]), "residents_share": np.array([0.9, 0.1, 0.9])}
    assert check(columns).tolist() == [True, False, False]


@pytest.mark.parametrize("rule", sorted(CASES))
def test_every_rule_case_that_fires_passes_and_the_quiet_fact_does_not(rule):
    engine = default_rule_engine()
    fires, _ = CASES[rule]
    assert engine.may_fire({**QUIET, **fires})
    assert not engine.may_fire(QUIET)


def _all_findings(engine, facts, at):
    keep = engine.may_fire
    engine.may_fire = lambda fact: True
    try:
        return engine.evaluate(facts, at)
    finally:
        engine.may_fire = keep


def test_findings_with_the_prefilter_equal_findings_asserting_every_fact():
    engine = default_rule_engine()
    dropped = fired = 0
    for seed, fault in enumerate(FAULT_TYPES * 2):
        sub = simulate(seed, 60, fault).to_subgraph(3)
        graph = PropagationGraph(sub)
        table = build_features(sub, graph)
        facts = build_facts(sub, table, graph)
        kept = build_facts(sub, table, graph, engine.may_fire)  # the prefilter on columns, as the engine runs it
        assert kept == [f for f in facts if engine.may_fire(f)]
        findings = engine.evaluate(kept, sub.alert_time, prefiltered=True)
        assert findings == _all_findings(engine, facts, sub.alert_time)
        dropped += len(facts) - len(kept)
        fired += len(findings)
    assert fired > 0 and dropped > 0
