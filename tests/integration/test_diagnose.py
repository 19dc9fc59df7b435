"""`rca diagnose` end to end: case folders through the real ingest code into a throwaway graph, Infer over gRPC."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

from rca.cli.diagnose.import_rcaeval import import_rcaeval
from tests.integration.cli import rca
from tests.support import rcaeval_fixture

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cases" / "payments-db-config-change"
ENV = {"NEO4J_URI": "", "RCA_GRAPH__HEAP": "1g"}  # diagnose always uses its own throwaway graph


def test_the_shipped_example_case_ranks_its_true_root_cause_first_with_path_and_evidence():
    done = rca("diagnose", str(EXAMPLE), env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "case payments-db-config-change: 66 entities" in out
    assert "logs: 894 lines (894 rfc5424), 0 dead-lettered, 6 templates" in out
    assert "metrics: 11 series every 15 s; 7 anomalies detected" in out
    assert "#1 postgres-payments [Datastore postgres-payments]" in out
    assert "postgres-payments --DEPENDS_ON (reverse)--> payment" in out
    assert 'config: LOG:  parameter "max_connections" changed to "20"' in out
    assert "true root cause (postgres-payments): ranked #1" in out


def test_all_cases_in_one_run_print_one_json_line_each_then_the_summary(tmp_path):
    cases = tmp_path / "cases"
    shutil.copytree(EXAMPLE, cases / "payments-db-config-change")
    rcaeval_fixture.write_case(tmp_path / "rcaeval")
    import_rcaeval(tmp_path / "rcaeval", cases)
    broken = cases / "zz-broken"
    shutil.copytree(EXAMPLE, broken)
    rows = (broken / "metrics.csv").read_text().splitlines()
    rows[4] = ",".join([*rows[4].split(",")[:3], "5x", *rows[4].split(",")[4:]])
    (broken / "metrics.csv").write_text("\n".join(rows) + "\n")
    done = rca("diagnose", "--all", str(cases), "--json", env=ENV, timeout=300)
    # the unreadable case is named with its file, line and column; the others are still diagnosed
    assert done.returncode == 2, done.stderr
    assert "zz-broken/metrics.csv:5:4: '5x' is not a number" in done.stderr
    assert "1 of 3 case folders could not be read" in done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("case") for line in lines[:2]] == ["RE1-OB_cartservice_cpu_1", "payments-db-config-change"]
    synthetic, example = lines[0]["ranking"], lines[1]["ranking"]
    # every entity of the topology is ranked once, best first
    assert sorted(r["entity"] for r in synthetic) == sorted(rcaeval_fixture.SERVICES)
    assert len(example) == 66 and len({r["entity"] for r in example}) == 66
    assert example[0]["entity"] == "postgres-payments"
    assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(example))
    synthetic_rank = next(i for i, r in enumerate(synthetic, start=1) if r["entity"] == "cartservice")
    summary = lines[2]["summary"]
    assert summary["cases"] == 2 and summary["scored"] == 2
    assert summary["AC@1"] == (0.5 if synthetic_rank > 1 else 1.0)
    assert summary["AC@3"] == (0.5 if synthetic_rank > 3 else 1.0)
    assert len(lines) == 3


def test_a_diagnosis_replayed_as_of_its_time_sees_nothing_later(tmp_path):
    """The fixture's fault starts at 22:13:20; an alert at 22:13:00 judged as of then has nothing to see,
    the same case judged to the end of the default window sees the fault's anomalies."""
    rcaeval_fixture.write_case(tmp_path / "rcaeval")
    cases = tmp_path / "cases"
    import_rcaeval(tmp_path / "rcaeval", cases)
    later = cases / "RE1-OB_cartservice_cpu_1"
    text = (later / "case.yaml").read_text().replace("'2023-11-14T22:14:20Z'", "'2023-11-14T22:13:00Z'")
    (later / "case.yaml").write_text(text)
    early = cases / "as-of-the-alert"
    shutil.copytree(later, early)
    (early / "case.yaml").write_text(text.replace("  symptoms:", "  as_of: '2023-11-14T22:13:00Z'\n  symptoms:"))
    done = rca("diagnose", "--all", str(cases), env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = {line.split(":")[0]: line for line in done.stdout.splitlines() if "anomalies" in line}
    assert "; 0 anomalies;" in lines["as-of-the-alert"]
    assert int(lines["RE1-OB_cartservice_cpu_1"].split("; ")[2].split()[0]) >= 2


def test_a_code_level_fault_seen_only_in_its_logs_and_traces_ranks_first(tmp_path):
    """RE3's shape: the root cause's metrics do not move; its spans slow and fail, and it logs a new error.
    Imported with its logs and traces, the diagnosis finds it on the call graph the traces gave."""
    rcaeval_fixture.write_case(tmp_path / "rcaeval", "cartservice", "code", logs_and_traces=True)
    (case,) = import_rcaeval(tmp_path / "rcaeval", tmp_path / "cases")
    done = rca("diagnose", str(case), "--json", env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    ranking = json.loads(done.stdout)["ranking"]
    assert ranking[0]["entity"] == "cartservice"
    assert sorted(r["entity"] for r in ranking) == sorted(rcaeval_fixture.SERVICES)
