"""The figures of `rca lab run`: live accuracy, timing medians, and the replayed rankers side by side."""

from __future__ import annotations

from rca.cli.lab.scoring import ScenarioResult, side_by_side, timing_table, verdicts


def result(name, fault, ranking, *, alert=None, diagnosed=None, expect=("db",)):
    return ScenarioResult(
        name,
        fault,
        expect,
        fault_at=1000.0,
        ranking=ranking,
        alert_at=alert,
        diagnosed_at=diagnosed,
        diagnosis="incident" if ranking else "none",
    )


RESULTS = [
    result("a", "latency", ["db", "api"], alert=1030.0, diagnosed=1040.0),
    result("b", "latency", ["api", "db"], alert=1050.0, diagnosed=1070.0),
    result("c", "crash", [], expect=("api",)),
    result("d", "crash", ["x", "y", "z", "api"], alert=1020.0, diagnosed=1025.0, expect=("api",)),
]
REPLAYED = {
    "a": {"fault": "latency", "ranks": {"service": 1, "pagerank": 2}},
    "b": {"fault": "latency", "ranks": {"service": 1, "pagerank": 1}},
    "d": {"fault": "crash", "ranks": {"service": 4, "pagerank": 0}},
}


def test_rank_is_the_best_expected_entity():
    assert [r.rank() for r in RESULTS] == [1, 2, 0, 4]
    assert result("e", "cpu", ["a", "b", "db2", "db"], expect=("db", "db2")).rank() == 3


def test_timing_table_gives_accuracy_and_medians_per_fault_kind():
    table = timing_table(RESULTS).splitlines()
    rows = {line.split()[0]: line for line in table[1:]}
    assert list(rows) == ["crash", "latency", "OVERALL"]
    # latency: ranks 1 and 2 -> AC@1 0.5, AC@3 1.0, Avg@5 (0.5+1+1+1+1)/5 = 0.9; medians of 40/70, 30/50, 10/20
    assert rows["latency"].split()[1:6] == ["2", "2", "0.500", "/", "1.000"]
    assert "0.900" in rows["latency"] and "55 s" in rows["latency"] and "40 s" in rows["latency"]
    assert "15 s" in rows["latency"]
    # crash: one undiagnosed (no times), one at rank 4 diagnosed after 25 s
    assert rows["crash"].split()[1:3] == ["2", "1"] and "25 s" in rows["crash"]
    assert rows["OVERALL"].split()[1:3] == ["4", "3"]


def test_side_by_side_counts_unrecorded_scenarios_as_missed_by_every_replayed_ranker():
    table = side_by_side(RESULTS, REPLAYED).splitlines()
    assert table[0].split()[3:] == ["live", "service", "pagerank"]
    overall = table[-1].split()
    # live AC@1 1/4; service ranks 1,1,(missing),4 -> AC@1 0.5; pagerank 2,1,-,0 -> AC@1 0.25
    assert overall[2] == "0.250" and overall[7] == "0.500" and overall[12] == "0.250"


def test_verdicts_compare_with_the_best_baseline():
    text = verdicts(RESULTS, REPLAYED, ("pagerank", "anomaly-magnitude"))
    assert "live AC@1 0.250 (target >= 0.85): NOT MET" in text
    assert "fault -> diagnosis p50 25 s (target <= 60 s): MET" not in text  # median of 40, 70, 25 is 40
    assert "fault -> diagnosis p50 40 s (target <= 60 s): MET" in text
    assert "best baseline pagerank AC@1 0.250, live lead +0.0 points (target >= +10): NOT MET" in text
