"""Case folders as exporters we have not seen write them: odd but readable ones load as meant, the rest are
refused with the file and the line or field named (never a traceback, never times read in the wrong unit)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.errors import CaseError
from tests.support.example_case import copy_example, known

ALERT_AT = 1767268800.0  # the example's alert, 2026-01-01T12:00:00Z


@pytest.fixture
def case_dir(tmp_path) -> Path:
    return copy_example(tmp_path)


def rewrite_times(case_dir: Path, unit: float) -> None:
    """metrics.csv with its ISO times written as unix times in ``unit`` per second."""
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    for i, line in enumerate(lines[1:], start=1):
        when, rest = line.split(",", 1)
        seconds = dt.datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        lines[i] = f"{int(seconds * unit)},{rest}"
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")


def set_case_yaml(case_dir: Path, old: str, new: str) -> None:
    text = (case_dir / "case.yaml").read_text()
    assert old in text
    (case_dir / "case.yaml").write_text(text.replace(old, new))


def write_log(case_dir: Path, data: bytes) -> None:
    shutil.rmtree(case_dir / "logs")
    (case_dir / "logs").mkdir()
    (case_dir / "logs" / "app.log").write_bytes(data)


@pytest.mark.parametrize("unit", [1e3, 1e6, 1e9])
def test_epoch_times_in_milli_micro_or_nanoseconds_are_read_as_seconds(case_dir, unit):
    # read as seconds they lay some 55,000 years after the alert: no point judged, and no word said
    reference = load_case(case_dir, known())
    rewrite_times(case_dir, unit)
    case = load_case(case_dir, known())
    assert case.step_s == reference.step_s == 15.0
    assert case.metrics[0].ts[0] == reference.metrics[0].ts[0]


def test_alert_and_symptom_times_in_milliseconds_are_read_as_seconds(case_dir):
    set_case_yaml(case_dir, "at: 2026-01-01T12:00:00Z", "at: 1767268800000")
    set_case_yaml(case_dir, "family: errors}", "family: errors, at: 1767268800000}")
    case = load_case(case_dir, known())
    assert case.alert_at == ALERT_AT and case.symptoms[0].at == ALERT_AT


def test_an_alert_time_infer_would_refuse_is_named_in_case_yaml(case_dir):
    # Infer takes 2000-2100 only: the case failed with a gRPC INVALID_ARGUMENT traceback after loading
    set_case_yaml(case_dir, "at: 2026-01-01T12:00:00Z", "at: 2150-01-01T00:00:00Z")
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: alert\.at: .* not a time from 2000-01-01 to 2100-01-01"):
        load_case(case_dir, known())


@pytest.mark.parametrize("value", ["1e300", "99999999999999999999999999"])
def test_an_absurdly_late_alert_time_is_named_not_a_crash(case_dir, value):
    set_case_yaml(case_dir, "at: 2026-01-01T12:00:00Z", f"at: {value}")
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: alert\.at: .* not a valid time"):
        load_case(case_dir, known())


def test_an_absurdly_late_metrics_time_is_named_on_its_own_row(case_dir):
    # it was accepted, and the next (good) row was the one blamed for not coming after it
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    lines[3] = "1e300," + lines[3].split(",", 1)[1]
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CaseError, match=r"metrics\.csv:4:1: time: '1e300' is not a valid time"):
        load_case(case_dir, known())


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("root_causes: [{entity: postgres-payments}]", r"root_causes\[0\]"),
        ("root_causes: [[postgres-payments]]", r"root_causes\[0\]"),
    ],
)
def test_a_root_cause_that_is_not_an_id_is_named(case_dir, yaml_text, field):
    set_case_yaml(case_dir, "root_causes: [postgres-payments]", yaml_text)
    with pytest.raises(CaseError, match=r"case\.yaml:\d+: " + field + r": .* is not an entity of topology\.yaml"):
        load_case(case_dir, known())


def test_a_symptom_entity_that_is_not_an_id_is_named(case_dir):
    set_case_yaml(case_dir, "{entity: checkout,", "{entity: [checkout],")
    with pytest.raises(CaseError, match=r"alert\.symptoms\[0\]\.entity: \['checkout'\] is not an entity"):
        load_case(case_dir, known())


def test_a_byte_order_mark_before_the_header_is_not_part_of_time(case_dir):
    text = (case_dir / "metrics.csv").read_bytes()
    (case_dir / "metrics.csv").write_bytes(b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"))
    case = load_case(case_dir, known())
    assert len(case.metrics) == 11 and case.step_s == 15.0


def test_metrics_that_are_not_utf8_name_their_line(case_dir):
    lines = (case_dir / "metrics.csv").read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b",", b",\xe9", 1)
    (case_dir / "metrics.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(CaseError, match=r"metrics\.csv:7: not valid UTF-8"):
        load_case(case_dir, known())


@pytest.mark.parametrize("cell", ["NULL", "None", "N/A", "NaN", "null", " "])
def test_every_spelling_of_no_sample_is_an_empty_cell(case_dir, cell):
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    cells = lines[7].split(",")
    cells[2] = cell
    lines[7] = ",".join(cells)
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    case = load_case(case_dir, known())
    assert sum(c.missing for c in case.metrics) == 1


def test_header_names_may_have_spaces_around_the_slash(case_dir):
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    lines[0] = ", ".join(name.replace("/", " / ") for name in lines[0].split(","))
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    case = load_case(case_dir, known())
    assert ("payment", "latency_p99") in {(c.entity, c.signal) for c in case.metrics}


def test_a_signal_name_with_a_slash_mapped_in_case_yaml_is_read(case_dir):
    # `requests/s` split at its last '/' gave an entity 'checkout/requests' the topology does not hold
    lines = (case_dir / "metrics.csv").read_text().splitlines()
    lines = [lines[0] + ",checkout/requests/s"] + [line + ",12" for line in lines[1:]]
    (case_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    set_case_yaml(case_dir, "signals: {cpu_pct: saturation}", "signals: {cpu_pct: saturation, requests/s: traffic}")
    case = load_case(case_dir, known())
    column = case.metrics[-1]
    assert (column.entity, column.signal, column.family) == ("checkout", "requests/s", "traffic")


def test_a_tab_separated_log_time_in_milliseconds_is_read_as_seconds(case_dir):
    # it was a ValueError traceback (year 57972 is out of range)
    write_log(case_dir, b"1767268740000\tpayment\tERROR charge failed\n")
    assert load_case(case_dir, known()).log_lines == [
        b"<131>1 2026-01-01T11:59:00.000000Z case payment - - - ERROR charge failed"
    ]


def test_a_byte_order_mark_before_the_first_log_line_is_not_part_of_its_time(case_dir):
    write_log(case_dir, b"\xef\xbb\xbf2026-01-01T11:59:00Z\tpayment\tERROR charge failed\n")
    assert load_case(case_dir, known()).log_lines == [
        b"<131>1 2026-01-01T11:59:00.000000Z case payment - - - ERROR charge failed"
    ]


def test_a_raw_syslog_line_with_tabs_in_its_message_goes_through_as_it_is(case_dir):
    line = b"Jan  1 11:59:00 host payment[12]: ERROR charge failed\tcode=5\tretry=3"
    write_log(case_dir, line + b"\n")
    assert load_case(case_dir, known()).log_lines == [line]


def test_a_tab_separated_line_whose_message_is_not_utf8_is_left_to_the_syslog_pipeline(case_dir):
    # one stray byte in one message failed the whole case; the pipeline dead-letters and counts such a line
    write_log(case_dir, b"2026-01-01T11:59:00Z\tpayment\tERROR caf\xe9 failed\n")
    assert load_case(case_dir, known()).log_lines == [
        b"<131>1 2026-01-01T11:59:00.000000Z case payment - - - ERROR caf\xe9 failed"
    ]


def test_a_semicolon_separated_file_is_told_apart_from_a_misnamed_time_column(case_dir):
    text = (case_dir / "metrics.csv").read_text()
    (case_dir / "metrics.csv").write_text(text.replace(",", ";"))
    with pytest.raises(CaseError, match=r"metrics\.csv:1:1: .* \(metrics\.csv is separated by commas, not ';'\)"):
        load_case(case_dir, known())


def test_the_report_tells_an_empty_logs_folder_from_none(case_dir):
    from rca.cli.diagnose.report import case_text
    from rca.cli.diagnose.session import CaseResult
    from rca.service.stubs import pb

    write_log(case_dir, b"")
    result = CaseResult(load_case(case_dir, known()), pb.InferResponse(), [], None, 11, 0)
    assert "logs: none (logs/ holds no lines)" in case_text(result, 5)
    shutil.rmtree(case_dir / "logs")
    result = CaseResult(load_case(case_dir, known()), pb.InferResponse(), [], None, 11, 0)
    assert "logs: none (no logs/ folder)" in case_text(result, 5)


def test_json_output_says_on_stderr_what_the_report_would_have_noted(case_dir, capsys):
    # --json printed the ranking alone: a case whose metrics were never judged looked like any other
    from rca.cli.diagnose.session import CaseResult
    from rca.cli.diagnose_commands import warn_notes
    from rca.service.stubs import pb

    case = load_case(case_dir, known())
    result = CaseResult(
        case, pb.InferResponse(), [], None, 11, 0, ["metrics.csv:9:2: gap"], ["metrics: no point to judge"]
    )
    warn_notes(result)
    err = capsys.readouterr().err.splitlines()
    assert err == ["rca: note: case: metrics: no point to judge", "rca: note: case: bad input: metrics.csv:9:2: gap"]


def test_an_alert_far_from_every_metrics_sample_is_noted_with_dates(case_dir):
    # the detector's note gave times of day only: an alert two months after the data read as one minutes off
    from rca.cli.diagnose.session import DiagnoseSession
    from settings.root import load_settings

    set_case_yaml(case_dir, "at: 2026-01-01T12:00:00Z", "at: 2026-03-01T12:00:00Z")
    notes: list[str] = []
    session = DiagnoseSession(load_settings(), store=None, client=None)
    assert session._metrics(load_case(case_dir, known()), notes) == (0, [])
    assert notes == [
        (
            "metrics: no sample of metrics.csv (2026-01-01 10:24:30 UTC to 2026-01-01 11:59:45 UTC) lies in the "
            "Infer window around the alert (2026-03-01 11:30:00 UTC to 2026-03-01 12:05:00 UTC): nothing judged"
        )
    ]


def test_a_logs_file_where_the_logs_folder_belongs_is_named(case_dir):
    shutil.rmtree(case_dir / "logs")
    (case_dir / "logs").write_text("2026-01-01T12:00:00Z\tpayment\tstarted\n")
    with pytest.raises(CaseError, match=r"logs: expected a folder of log files, found a file"):
        load_case(case_dir, known())
