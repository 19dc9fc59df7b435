"""Case folders for `rca diagnose`: what a good one gives, and errors that name the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.errors import CaseError
from settings.ingest import MetricsSettings
from tests.support.example_case import EXAMPLE, copy_example, known


@pytest.fixture
def case_dir(tmp_path) -> Path:
    return copy_example(tmp_path)


def test_the_example_case_loads_with_its_series_logs_and_truth():
    case = load_case(EXAMPLE, known())
    assert len(case.labels) == 66
    assert [(s.entity, s.family) for s in case.symptoms] == [("checkout", "errors")]
    assert case.root_causes == ["postgres-payments"]
    assert case.step_s == 15.0
    assert len(case.metrics) == 11
    cpu = next(c for c in case.metrics if c.signal == "cpu_pct")
    assert cpu.family == "saturation" and cpu.entity == "node-4"  # mapped under signals:
    assert len(case.log_lines) == 894


def test_a_missing_file_is_named(case_dir):
    (case_dir / "metrics.csv").unlink()
    with pytest.raises(CaseError, match=r"case/metrics\.csv: missing"):
        load_case(case_dir, known())


def test_a_bad_number_names_file_line_and_column(case_dir):
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    cells = lines[4].split(",")
    cells[3] = "5x"
    lines[4] = ",".join(cells)
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CaseError, match=r"metrics\.csv:5:4: '5x' is not a number"):
        load_case(case_dir, known())


def test_bad_yaml_names_file_line_and_column(case_dir):
    (case_dir / "case.yaml").write_text("alert:\n  at: 2026-01-01T12:00:00Z\n  symptoms: [{entity: checkout\n")
    with pytest.raises(CaseError, match=r"case\.yaml:\d+:\d+: not valid YAML"):
        load_case(case_dir, known())


def test_an_unknown_signal_without_a_mapping_names_the_column(case_dir):
    text = (case_dir / "case.yaml").read_text().replace("signals: {cpu_pct: saturation}\n", "")
    (case_dir / "case.yaml").write_text(text)
    with pytest.raises(CaseError, match=r"metrics\.csv:1:12: column 'node-4/cpu_pct': signal 'cpu_pct' is neither"):
        load_case(case_dir, known())


def test_a_symptom_entity_not_in_the_topology_names_line_and_field(case_dir):
    text = (case_dir / "case.yaml").read_text().replace("{entity: checkout,", "{entity: chekout,")
    (case_dir / "case.yaml").write_text(text)
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: alert\.symptoms\[0\]\.entity: 'chekout' is not an entity"):
        load_case(case_dir, known())


def test_a_bad_family_and_a_missing_alert_time_are_named(case_dir):
    original = (case_dir / "case.yaml").read_text()
    (case_dir / "case.yaml").write_text(original.replace("family: errors", "family: erors"))
    with pytest.raises(CaseError, match=r"alert\.symptoms\[0\]\.family: 'erors' is not a signal family"):
        load_case(case_dir, known())
    (case_dir / "case.yaml").write_text(original.replace("  at: 2026-01-01T12:00:00Z\n", ""))
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: alert\.at: required"):
        load_case(case_dir, known())


def test_a_diagnosis_time_is_read_and_may_not_come_before_the_alert(case_dir):
    assert load_case(case_dir, known()).as_of is None  # judged to the end of the Infer window
    original = (case_dir / "case.yaml").read_text()
    alert_at = "  at: 2026-01-01T12:00:00Z\n"
    as_of = original.replace(alert_at, alert_at + "  as_of: 2026-01-01T12:00:15Z\n")
    (case_dir / "case.yaml").write_text(as_of)
    assert load_case(case_dir, known()).as_of == 1767268815.0
    (case_dir / "case.yaml").write_text(as_of.replace("as_of: 2026-01-01T12:00:15Z", "as_of: 2026-01-01T11:59:00Z"))
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: alert\.as_of: the diagnosis cannot come before the alert"):
        load_case(case_dir, known())


def test_a_tab_separated_log_line_with_a_bad_time_names_file_and_line(case_dir):
    (case_dir / "logs" / "app.log").write_text(
        "2026-01-01T11:59:00Z\tpayment\tERROR charge failed\nyesterday\tpayment\tERROR charge failed\n"
    )
    with pytest.raises(CaseError, match=r"app\.log:2:1: time: 'yesterday' is neither"):
        load_case(case_dir, known())


def test_tab_separated_log_lines_become_syslog_lines_of_their_entity(case_dir):
    shutil.rmtree(case_dir / "logs")
    (case_dir / "logs").mkdir()
    (case_dir / "logs" / "app.log").write_text("1767268740\tpayment\t11:59:00.1 ERROR p.Charge#12 charge failed\n")
    case = load_case(case_dir, known())
    assert case.log_lines == [
        b"<131>1 2026-01-01T11:59:00.000000Z case payment - - - 11:59:00.1 ERROR p.Charge#12 charge failed"
    ]


def test_the_topology_file_errors_keep_their_line(case_dir):
    text = (case_dir / "topology.yaml").read_text().replace("runs_on: db-1\n", "runs_on: db-9\n", 1)
    (case_dir / "topology.yaml").write_text(text)
    with pytest.raises(CaseError, match=r"topology\.yaml:\d+: .*'db-9' is not defined"):
        load_case(case_dir, known())


def test_a_latency_of_zero_is_read_as_no_sample(case_dir):
    # exports write a percentile of 0 for a step without requests; judged as a latency it would be a
    # drop to nothing and a jump back of a robust z in the millions
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("payment/latency_p99")
    for row in (5, 6, 7):
        cells = lines[row].split(",")
        cells[column] = "0"
        lines[row] = ",".join(cells)
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    case = load_case(case_dir, known())
    latency = next(c for c in case.metrics if c.entity == "payment" and c.signal == "latency_p99")
    errors = next(c for c in case.metrics if c.entity == "payment" and c.signal == "error_ratio")
    assert (latency.idle, latency.missing) == (3, 0)
    assert len(latency.values) == len(errors.values) - 3 and latency.values.min() > 0


def test_a_signal_mapping_may_carry_the_exporters_direction_and_floors(case_dir):
    from rca.cli.diagnose.session import case_templates, project_signals

    text = (case_dir / "case.yaml").read_text()
    mapped = "signals:\n  cpu_pct: {family: saturation, min_scale: 0.5, min_delta: 5}\n  latency_p99: latency\n"
    (case_dir / "case.yaml").write_text(text.replace("signals: {cpu_pct: saturation}\n", mapped))
    case = load_case(case_dir, known())
    templates = {t.name: t for t in case_templates(case, project_signals(MetricsSettings())).signals}
    cpu = templates["cpu_pct"]
    assert (cpu.family, cpu.direction, cpu.min_scale, cpu.min_delta) == ("saturation", "up", 0.5, 5.0)
    # a project name the case maps without floors has none; one it does not map keeps the project's
    assert (templates["latency_p99"].min_scale, templates["latency_p99"].min_delta) == (0.0, 0.0)
    own = project_signals(MetricsSettings())["error_ratio"]
    assert (templates["error_ratio"].min_scale, templates["error_ratio"].direction) == (own.min_scale, own.direction)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{family: saturation, min_delta: -1}", r"signals\.cpu_pct\.min_delta: -1 is not a number >= 0"),
        ("{family: saturation, direction: sideways}", r"signals\.cpu_pct\.direction: 'sideways' is not a direction"),
        ("{family: saturation, floor: 1}", r"signals\.cpu_pct\.floor: unknown key"),
        ("{min_scale: 1}", r"signals\.cpu_pct: None is not a signal family"),
    ],
)
def test_a_bad_signal_mapping_names_the_field(case_dir, entry, message):
    text = (case_dir / "case.yaml").read_text()
    (case_dir / "case.yaml").write_text(
        text.replace("signals: {cpu_pct: saturation}\n", f"signals:\n  cpu_pct: {entry}\n")
    )
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: " + message):
        load_case(case_dir, known())
