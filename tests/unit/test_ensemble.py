"""The composition of the final score: fitting, the shipped weights, and breakdowns that add up."""

import json

import numpy as np
import pytest

from rca.rank.engine import engine_without_model, model_engine
from rca.rank.ensemble import (
    BEYOND_RANGE_FROM,
    BEYOND_RANGE_WEIGHT,
    GNN_FLOOR,
    HOP_SLOWDOWN_FROM,
    HOP_SLOWDOWN_WEIGHT,
    LOG_BURST_WEIGHT,
    LOG_SEQUENCE_WEIGHT,
    QUIET_MARGIN,
    TERMS,
    UNFITTED,
    WEIGHTS_FILE,
    WITHOUT_MODEL,
    EnsembleWeights,
    beyond_range,
    compose,
    deciding_terms,
    load_weights,
    observed_quiet,
    ranker_outputs,
    unfitted_outputs,
)
from rca.rank.features import FAMILIES, KINDS, OBSERVABLE, FeatureTable
from rca.rank.log_change import BURST_FROM
from rca.rank.log_sequence import SEQUENCE_FROM
from rca.simulator import simulate
from rca.training.calibrate import fit, top1


def test_fit_learns_the_term_that_marks_the_root_and_ignores_noise():
    rng = np.random.default_rng(0)
    data = []
    for _ in range(60):
        x = rng.normal(size=(8, 2))
        y = int(rng.integers(8))
        x[y, 0] += 3.0  # term 0 marks the root cause; term 1 is noise
        data.append((x, y))
    w = fit(data, 2)
    assert w[0] > 1.0 and abs(w[1]) < 0.5
    assert top1(data, w) > 0.9


def test_shipped_weights_compose_every_term_but_the_model():
    weights = load_weights()
    assert weights.names == WITHOUT_MODEL
    assert len(weights.values) == len(WITHOUT_MODEL)


def test_weights_of_other_terms_are_refused(tmp_path):
    data = json.loads(WEIGHTS_FILE.read_text())
    data["names"] = ["rules", "propagation"]
    data["weights"] = [1.0, 1.0]
    stale = tmp_path / "w.json"
    stale.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"re-run python -m rca\.training\.calibrate"):
        load_weights(stale)
    with pytest.raises(ValueError, match="unknown terms"):
        EnsembleWeights(("rules", "astrology"), np.ones(2), "x")


EVIDENCE_COLUMNS = [
    *(f"anomaly_{f}" for f in FAMILIES),
    *(f"deviation_{f}" for f in FAMILIES),
    "log_new",
    "log_burst",
    "log_sequence",
    "hop_slowdown",  # 0 reads as no slowdown, like 1
]


def _with_zero_columns(table: FeatureTable, names: list[str]) -> FeatureTable:
    return table.with_columns(names, np.zeros((len(table.node_ids), len(names))))


def test_each_term_reads_one_rankers_output_and_the_model_term_is_floored():
    quiet = [f"quiet_{f}" for f in OBSERVABLE]
    names = ["magnitude_distinct", "rule_max", "propagation_score", "walk_score", "change_recent", *quiet]
    table = FeatureTable(
        ["a", "b", "c"],
        names,
        np.array(
            [
                [2.2, 0.9, 0.5, 0.2, 0.0, *[0.0] * len(quiet)],
                [0.5, 0.0, 0.1, 1.0, 0.0, *[1.0] * len(quiet)],  # watched, yet anomalous in one family
                [0.25, 0.0, 0.0, 0.0, 0.0, *[1.0] * len(quiet)],  # watched everywhere, a deviation of 3.5
            ]
        ),
    ).with_columns(["kind_service"], np.ones((3, 1)))
    table = _with_zero_columns(table, [f"kind_{k.lower()}" for k in KINDS[1:]] + EVIDENCE_COLUMNS)
    outputs = ranker_outputs(table, TERMS, np.array([30.0, 0.0, -5.0]))
    assert outputs[:, 1].tolist() == [0.9, 0.0, 0.0]  # rules: the strongest finding
    assert outputs[:, 2].tolist() == [0.5, 0.1, 0.0] and outputs[:, 3].tolist() == [0.2, 1.0, 0.0]
    assert outputs[:, 4].tolist() == [2.2, 0.5, 0.25]  # distinct deviation size (features.magnitude_distinct)
    assert outputs[:, 5].tolist() == [0.0, 1.0, 1.0]  # observed and normal in every family
    assert outputs[0, 0] == pytest.approx(0.0, abs=1e-9) and outputs[1, 0] == outputs[2, 0] == GNN_FLOOR
    with pytest.raises(ValueError, match="no model output"):
        ranker_outputs(table, TERMS)


def test_contributions_sum_to_the_logit_and_scores_are_its_softmax():
    rng = np.random.default_rng(1)
    outputs = rng.normal(size=(12, len(TERMS)))
    outputs[:, TERMS.index("quiet")] = rng.uniform(0.0, 0.99, size=12)  # nobody fully quiet: no floor
    weights = EnsembleWeights(TERMS, rng.normal(size=len(TERMS)), "test")
    c = compose(outputs, weights)
    for row in range(12):
        assert sum(v for _, v in c.breakdown(row)) == pytest.approx(c.logits[row], abs=1e-12)
    expected = np.exp(outputs @ weights.values)
    assert np.allclose(c.scores, expected / expected.sum())  # centring changes no score


def test_an_entity_watched_everywhere_and_silent_ends_below_every_other_whatever_structure_says():
    outputs = np.zeros((3, len(TERMS)))
    outputs[:, TERMS.index("gnn")] = [5.0, 0.0, -1.0]  # the model likes the first most ...
    outputs[0, TERMS.index("quiet")] = 1.0  # ... which is watched in every family and shows nothing
    weights = EnsembleWeights(TERMS, np.ones(len(TERMS)), "test")
    c = compose(outputs, weights)
    assert c.logits[0] <= c.logits[1:].min() - QUIET_MARGIN + 1e-9
    quiet = dict(c.breakdown(0))["quiet"]
    assert quiet < -5.0  # the breakdown says which term put it there, and still sums to the logit
    assert sum(v for _, v in c.breakdown(0)) == pytest.approx(c.logits[0], abs=1e-12)
    outputs[:, TERMS.index("quiet")] = 1.0  # everybody silent: nobody is pushed below anybody
    assert np.argmax(compose(outputs, weights).logits) == 0


def test_only_the_deviation_past_the_simulated_range_enters_the_unfitted_term_and_the_breakdown_says_so():
    table = FeatureTable(
        ["a", "b", "c"],
        ["magnitude_distinct", "log_burst", "log_sequence", "hop_slowdown"],
        np.array([[BEYOND_RANGE_FROM + 1.0, 0.0, 0.0, 1.0], [1.2, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]),
    )
    beyond = beyond_range(table)
    assert beyond.tolist() == [1.0, 0.0, 0.0]
    outputs = np.zeros((3, len(TERMS)))
    weights = EnsembleWeights(TERMS, np.ones(len(TERMS)), "test")
    c = compose(outputs, weights, unfitted_outputs(table))
    assert c.names == (*TERMS, *UNFITTED)
    assert UNFITTED == ("beyond_range", "log_burst", "log_sequence", "hop_slowdown")
    assert c.logits[0] - c.logits[1] == pytest.approx(BEYOND_RANGE_WEIGHT)
    assert sum(v for _, v in c.breakdown(0)) == pytest.approx(c.logits[0], abs=1e-12)
    assert compose(outputs, weights).names == TERMS  # fitting composes the fitted terms alone


@pytest.mark.parametrize(
    ("column", "floor", "weight"),
    [("log_burst", BURST_FROM, LOG_BURST_WEIGHT), ("log_sequence", SEQUENCE_FROM, LOG_SEQUENCE_WEIGHT)],
)
def test_only_a_log_surprise_past_its_floor_enters_its_term_and_larger_ones_gain_less_each(column, floor, weight):
    surprise = [floor + 1.0, floor + 3.0, floor, floor - 0.5, 0.0]
    names = ["magnitude_distinct", "log_burst", "log_sequence", "hop_slowdown"]
    values = np.zeros((5, 4))
    values[:, 3] = 1.0  # no hop slower than usual
    values[:, names.index(column)] = surprise
    table = FeatureTable(list("abcde"), names, values)
    outputs = np.zeros((5, len(TERMS)))
    c = compose(outputs, EnsembleWeights(TERMS, np.ones(len(TERMS)), "test"), unfitted_outputs(table))
    term = [dict(c.breakdown(row))[column] for row in range(5)]
    assert term[2] == term[3] == term[4] < 0  # at or under the floor: below the incident's average
    assert term[0] - term[2] == pytest.approx(weight * np.log(2.0))
    assert term[1] - term[2] == pytest.approx(weight * np.log(4.0))  # three times the excess, not 3x
    other = next(n for n in ("log_burst", "log_sequence") if n != column)
    assert {dict(c.breakdown(row))[other] for row in range(5)} == {0.0}  # the other log term reads its own column


def test_only_hops_more_than_three_times_slower_enter_the_hop_term_and_by_the_log_of_the_slowdown():
    slowdown = [HOP_SLOWDOWN_FROM * 10, HOP_SLOWDOWN_FROM * 100, HOP_SLOWDOWN_FROM, 2.0, 1.0]
    names = ["magnitude_distinct", "log_burst", "log_sequence", "hop_slowdown"]
    table = FeatureTable(list("abcde"), names, np.column_stack([np.zeros((5, 3)), slowdown]))
    outputs = np.zeros((5, len(TERMS)))
    c = compose(outputs, EnsembleWeights(TERMS, np.ones(len(TERMS)), "test"), unfitted_outputs(table))
    term = [dict(c.breakdown(row))["hop_slowdown"] for row in range(5)]
    assert term[2] == term[3] == term[4] < 0  # at or under the floor: below the incident's average
    assert term[0] - term[2] == pytest.approx(HOP_SLOWDOWN_WEIGHT * np.log(10.0))
    assert term[1] - term[2] == pytest.approx(HOP_SLOWDOWN_WEIGHT * np.log(100.0))  # ten times more: one unit more


def test_deciding_terms_are_those_where_the_first_leads_most():
    first = (("gnn", 3.0), ("rules", 1.0), ("walk", 0.5))
    second = (("gnn", 1.0), ("rules", 1.5), ("walk", 0.1))
    assert deciding_terms(first, second) == [("gnn", 2.0), ("walk", 0.4)]


@pytest.mark.parametrize("make", [model_engine, engine_without_model], ids=["with-model", "without-model"])
def test_every_candidates_breakdown_sums_to_its_logit(make):
    engine = make()
    incident = simulate(3, 60, "datastore_outage")
    result = engine.rank(incident.to_subgraph(), 8)
    assert len(result.candidates) == 8
    logits = []
    for c in result.candidates:
        assert [n for n, _ in c.breakdown] == [*engine.weights.names, *UNFITTED]
        assert sum(v for _, v in c.breakdown) == pytest.approx(c.logit, abs=1e-5)
        logits.append(c.logit)
    assert logits == sorted(logits, reverse=True)  # ranked by the composed logit
    # score = softmax of the logits: the ratio of two candidates' scores is exp of their logit gap
    a, b = result.candidates[0], result.candidates[1]
    # (scores are reported to 6 decimals: a small second score carries that rounding into the ratio)
    assert a.score / b.score == pytest.approx(np.exp(a.logit - b.logit), rel=1e-3 + 1e-6 / b.score)
    assert "Its score comes from" in result.explanation


def test_a_family_no_entity_of_a_kind_is_watched_in_does_not_keep_one_from_being_silent():
    quiet = [f"quiet_{f}" for f in OBSERVABLE]
    saturation_only = [1.0 if f == "saturation" else 0.0 for f in OBSERVABLE]
    rows = {
        "db-host": saturation_only,  # the lab's hosts: CPU, memory and disk, no network series, no logs
        "app-host": saturation_only,
        "svc": [1.0] * len(OBSERVABLE),  # a service watched everywhere and quiet
    }
    table = FeatureTable(list(rows), quiet, np.array(list(rows.values())))
    table = table.with_columns(["kind_host", "kind_service"], np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    table = _with_zero_columns(
        table, ["kind_instance", "kind_datastore", "rule_max", "change_recent", *EVIDENCE_COLUMNS]
    )
    assert observed_quiet(table).tolist() == [1.0, 1.0, 1.0]
    # another host is watched in traffic: a host without it is no longer known to be quiet there
    traffic = table.matrix.copy()
    traffic[1, OBSERVABLE.index("traffic")] = 1.0
    assert observed_quiet(FeatureTable(table.node_ids, table.names, traffic)).tolist() == [0.0, 1.0, 1.0]
    # a burst of a log template is evidence, though the template is neither new nor faster
    burst = table.matrix.copy()
    burst[2, table.names.index("log_burst")] = BURST_FROM + 0.5
    assert observed_quiet(FeatureTable(table.node_ids, table.names, burst)).tolist() == [1.0, 1.0, 0.0]
    # and so is a log line that stopped keeping pace with its partner
    sequence = table.matrix.copy()
    sequence[2, table.names.index("log_sequence")] = SEQUENCE_FROM + 0.5
    assert observed_quiet(FeatureTable(table.node_ids, table.names, sequence)).tolist() == [1.0, 1.0, 0.0]
