"""Rankers on small fixed cases, the shared interface, and input errors."""

import threading

import pytest

from rca.rank.baselines import AnomalyMagnitudeRanker, PageRankRanker
from rca.rank.engine import engine_without_model, model_engine
from rca.rank.propagation import PropagationRanker
from rca.rank.ranker import Ranker
from rca.rank.rules.evaluate import default_rule_engine
from rca.rank.rules.ranker import RulesRanker
from rca.rank.types import EngineInputError, Symptom
from tests.unit.engine_cases import bad_deploy, datastore_outage, host_exhaustion, monitored, without_coverage

ENGINE = model_engine()
ALL = [
    ENGINE,
    engine_without_model(),
    RulesRanker(default_rule_engine()),
    PropagationRanker(),
    PageRankRanker(),
    AnomalyMagnitudeRanker(),
]


@pytest.mark.parametrize("case, root", [(datastore_outage, "db"), (host_exhaustion, "h1"), (bad_deploy, "checkout")])
def test_engine_ranks_the_root_cause_first(case, root):
    result = ENGINE.rank(monitored(case()), 3)
    assert result.candidates[0].entity_id == root
    assert [c.rank for c in result.candidates] == [1, 2, 3]
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)
    assert result.candidates[0].score > result.candidates[1].score
    assert result.versions["rules"].startswith("rules-") and result.versions["model"]
    assert root in result.explanation or case().nodes[root].name in result.explanation


def test_a_silent_unwatched_entity_does_not_outrank_the_first_anomaly_when_coverage_is_unknown():
    """Sent without observed_families, db is watched only in the traffic it shows: taken as known
    coverage, its anomaly was one every watched entity shared, weighed nothing, and the silent cache
    ranked first on structure."""
    first = ENGINE.rank(without_coverage(datastore_outage()), 3).candidates[0]
    assert first.entity_id == "db"
    assert dict(first.breakdown)["magnitude"] > 0


def test_magnitude_baseline_is_fooled_by_the_louder_symptom():
    # The frontend's errors (9.0) are louder than the dead datastore's signal (7.0).
    assert AnomalyMagnitudeRanker().rank(datastore_outage(), 3).candidates[0].entity_id == "frontend"


@pytest.mark.parametrize("ranker", ALL, ids=lambda r: r.name)
def test_every_ranker_implements_the_interface(ranker):
    assert isinstance(ranker, Ranker)
    result = ranker.rank(host_exhaustion(), 4)
    assert len(result.candidates) == 4
    assert len({c.entity_id for c in result.candidates}) == 4
    assert all(0.0 <= c.score <= 1.0 for c in result.candidates)
    assert result.timings_ms["total"] > 0


def test_engine_findings_and_feature_snapshot():
    result = ENGINE.rank(datastore_outage(), 3)
    rules = {(f.rule, f.entity_id) for f in result.findings}
    assert ("datastore_unreachable_callers_timeout", "db") in rules
    assert result.feature_snapshot()["db"]["rule_datastore_unreachable_callers_timeout"] > 0


def test_caller_supplied_features_override_computed_ones():
    sub = datastore_outage()
    sub.extra_features = {"cache": {"rule_max": 1.0, "effects_anomalous": 1.0, "evidence": 1.0, "anomaly_max": 12.0}}
    base = {c.entity_id: c.score for c in ENGINE.rank(datastore_outage(), 6).candidates}
    over = {c.entity_id: c.score for c in ENGINE.rank(sub, 6).candidates}
    assert over["cache"] > base["cache"]


def test_bad_input_names_the_problem():
    sub = datastore_outage()
    with pytest.raises(EngineInputError, match="top_k"):
        ENGINE.rank(sub, 0)
    sub.symptoms.append(Symptom("nowhere", "errors", 0.0))
    with pytest.raises(EngineInputError, match="nowhere"):
        ENGINE.rank(sub, 3)
    sub = datastore_outage()
    sub.extra_features = {"ghost": {"evidence": 1.0}}
    with pytest.raises(EngineInputError, match="ghost"):
        ENGINE.rank(sub, 3)


def test_concurrent_engine_calls_equal_sequential_ones():
    cases = [datastore_outage, host_exhaustion, bad_deploy] * 6
    expected = [[(c.entity_id, c.score) for c in ENGINE.rank(case(), 5).candidates] for case in cases]
    got = [None] * len(cases)

    def run(i):
        got[i] = [(c.entity_id, c.score) for c in ENGINE.rank(cases[i](), 5).candidates]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


@pytest.mark.parametrize("ranker", ALL, ids=lambda r: r.name)
def test_quiet_or_tiny_subgraphs_still_rank(ranker):
    from rca.rank.types import EntityNode, IncidentSubgraph

    lone = IncidentSubgraph(
        {"a": EntityNode("a", "Service", "a")}, [], [], [], [], [Symptom("a", "errors", 100.0)], 0.0, 200.0
    )
    result = ranker.rank(lone, 5)
    assert [c.entity_id for c in result.candidates] == ["a"]
    quiet = datastore_outage()
    quiet.anomalies, quiet.events, quiet.symptoms = [], [], []
    result = ranker.rank(quiet, 3)
    assert len(result.candidates) == 3 and all(0.0 <= c.score <= 1.0 for c in result.candidates)
