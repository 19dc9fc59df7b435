"""`rca diagnose import`: Nezha's layout (a trimmed copy of the shared TrainTicket data) and RCAEval's (synthetic)."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.errors import unix_seconds
from rca.cli.diagnose.import_nezha import import_nezha
from rca.cli.diagnose.import_rcaeval import import_rcaeval
from rca.cli.diagnose.rcaeval_sources import read_traces, service_of
from rca.cli.errors import UserError
from settings.ingest import MetricsSettings
from tests.support import nezha_fixture, rcaeval_fixture

NEZHA = Path("/work/shared/data/real/nezha-trainticket")
DAY = "2023-01-29"
PODS = (
    "ts-travel-service-64469b5b48-25zj6",
    "ts-basic-service-5dc8d4f9fd-46997",
    "ts-gateway-service-6f6cfc45b-h5m2n",
)


def known() -> dict[str, str]:
    from rca.cli.diagnose.session import project_signals

    return {name: t.family for name, t in project_signals(MetricsSettings()).items()}


def test_rcaeval_cases_become_case_folders_with_a_star_topology_and_the_folder_truth(tmp_path):
    rcaeval_fixture.write_case(tmp_path / "src", "cartservice", "cpu", 1)
    rcaeval_fixture.write_case(tmp_path / "src", "currencyservice", "mem", 2)
    written = import_rcaeval(tmp_path / "src", tmp_path / "out")
    assert [p.name for p in written] == ["RE1-OB_cartservice_cpu_1", "RE1-OB_currencyservice_mem_2"]
    case = load_case(written[0], known())
    assert case.root_causes == ["cartservice"]
    assert [(s.entity, s.family) for s in case.symptoms] == [("frontend", "latency")]
    assert case.alert_at == rcaeval_fixture.INJECT_AT + 60
    assert case.step_s == 1.0
    assert {(e.source_id, e.target_id) for e in case.topology.edges} == {
        ("frontend", s) for s in rcaeval_fixture.SERVICES if s != "frontend"
    }
    assert len(case.metrics) == 16  # 4 services x 4 metrics; the mystery column is left out
    assert {c.signal: c.family for c in case.metrics} == {
        "cpu": "saturation",
        "mem": "saturation",
        "latency-90": "latency",
        "workload": "traffic",
    }
    assert yaml.safe_load((written[1] / "case.yaml").read_text())["fault"] == "mem"


def test_rcaeval_logs_and_traces_give_the_call_graph_the_logs_and_each_services_own_requests(tmp_path, capsys):
    folder = rcaeval_fixture.write_case(tmp_path / "src", "cartservice", "code", logs_and_traces=True)
    with (folder / "logs.csv").open("a") as logs:
        logs.write("1699999100000000000,cartservice\n")  # a row torn short: left out and counted
        logs.write(",cartservice,INFO no time\n")  # an empty time: the same
    with (folder / "traces.csv").open("a") as traces:
        # the tracing backend traces its own queries: more root spans than the entry service, no metrics
        traces.writelines(f"q{k},,jaeger-query,1699999200000,900,200\n" for k in range(1000))
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    printed = capsys.readouterr().out
    assert "600 lines of containers that are no service left out (istio-proxy)" in printed
    assert "2 rows too short or with an empty cell left out (lines 3077, 3078)" in printed
    assert "3400 spans, 3 calls between the case's services" in printed
    case = load_case(written, known())
    # the topology is the traces' call graph among the services the metrics name, the entry service
    # the one of those that root spans start in; a service only the traces name is no candidate
    assert {(e.source_id, e.target_id) for e in case.topology.edges} == set(rcaeval_fixture.CALLS)
    assert sorted(case.labels) == sorted(rcaeval_fixture.SERVICES)
    assert [(s.entity, s.family) for s in case.symptoms] == [("frontend", "latency")]
    series = {(c.entity, c.signal): c for c in case.metrics}
    assert {c.signal: c.family for c in case.metrics if c.signal.startswith("trace_")} == {
        "trace_latency_p90_s": "latency",
        "trace_error_ratio": "errors",
    }
    # the root cause's own requests: 0.8 s slower and half of them failing from the injection on
    latency = series[("cartservice", "trace_latency_p90_s")]
    errors = series[("cartservice", "trace_error_ratio")]
    before, after = latency.ts < rcaeval_fixture.INJECT_AT, latency.ts >= rcaeval_fixture.INJECT_AT
    assert latency.values[before].max() < 0.03 < 0.8 < latency.values[after].min()
    assert errors.values[errors.ts < rcaeval_fixture.INJECT_AT].max() == 0.0
    assert errors.values[errors.ts >= rcaeval_fixture.INJECT_AT].mean() == pytest.approx(0.5, abs=0.02)
    assert series[("currencyservice", "trace_latency_p90_s")].values.max() < 0.03  # a callee of no fault
    # every service's lines, a pod's under its service's name, a sidecar's left out
    lines = gzip.decompress((written / "logs" / "app.log.gz").read_bytes()).decode().splitlines()
    by_service = Counter(line.split("\t")[1] for line in lines)
    assert set(by_service) == set(rcaeval_fixture.SERVICES)
    assert by_service["checkoutservice"] == by_service["currencyservice"] == 600
    assert [float(line.split("\t")[0]) for line in lines] == sorted(float(line.split("\t")[0]) for line in lines)
    assert sum("ERROR failed to read cart" in line for line in lines) == 75


def test_rcaeval_span_times_and_statuses_are_read_in_any_unit_and_protocol(tmp_path):
    traces = tmp_path / "traces.csv"
    rows = [
        ["spanID", "parentSpanID", "serviceName", "startTime", "duration", "statusCode"],
        ["a", "", "edge-proxy", "1700000000000000", "1000", "0"],  # microseconds; gRPC OK
        ["b", "a", "pricing", "1700000000100000", "2000", "14"],  # gRPC UNAVAILABLE
        ["c", "b", "pricing", "1700000000200000", "500", ""],  # inside pricing: no call
        ["d", "a", "stock", "1700000000300000", "700", "404"],  # a client's error, not the server's
        ["e", "", "edge-proxy", "1700000001000000", "900", "503"],
    ]
    traces.write_text("\n".join(",".join(r) for r in rows) + "\n")
    found = read_traces(traces)
    assert found.roots == {"edge-proxy": 2} and found.calls == {("edge-proxy", "pricing"), ("edge-proxy", "stock")}
    assert [s.span_id for s in found.entry_spans["pricing"]] == ["b"]  # c is work inside pricing
    assert {s.span_id: s.failed for spans in found.entry_spans.values() for s in spans} == {
        "a": False,
        "b": True,
        "d": False,
        "e": True,
    }
    assert found.entry_spans["edge-proxy"][0].start_s == 1_700_000_000.0
    assert found.entry_spans["pricing"][0].duration_s == pytest.approx(0.002)
    assert [unix_seconds(v) for v in (1.7e9, 1.7e12, 1.7e15, 1.7e18)] == [1.7e9] * 4
    services = ["cart", "cartservice", "checkout"]
    assert service_of("cartservice-5d8f9-x2x9q", services) == "cartservice"
    assert service_of("checkout", services) == "checkout"
    assert service_of("istio-proxy", services) is None


def test_rcaeval_span_ids_need_only_be_unique_within_their_trace(tmp_path):
    traces = tmp_path / "traces.csv"
    rows = [
        ["traceID", "spanID", "parentSpanID", "serviceName", "startTimeMillis", "duration", "statusCode"],
        ["t1", "1", "", "orders", "1700000000000", "900", "STATUS_CODE_OK"],
        ["t1", "2", "1", "cart", "1700000000001", "800", "STATUS_CODE_ERROR"],  # OpenTelemetry's text status
        ["t2", "1", "", "users", "1700000000002", "700", "inf"],  # no status it can read: not an error
        ["t2", "2", "1", "orders", "1700000000003", "600", "200"],
        ["t2", "3", "2", "", "1700000000004", "500", "200"],  # no service: left out and counted
    ]
    traces.write_text("\n".join(",".join(r) for r in rows) + "\n")
    found = read_traces(traces)
    assert found.calls == {("orders", "cart"), ("users", "orders")}  # never users -> cart
    assert {s.span_id + s.trace_id: s.failed for spans in found.entry_spans.values() for s in spans} == {
        "1t1": False,
        "2t1": True,
        "1t2": False,
        "2t2": False,
    }
    assert (found.spans, found.torn) == (4, 1)


def test_malformed_rcaeval_logs_and_traces_are_named_by_file_line_and_column(tmp_path):
    folder = rcaeval_fixture.write_case(tmp_path / "src", logs_and_traces=True)
    logs = folder / "logs.csv"
    logs.write_text(logs.read_text().replace("timestamp,container_name,message", "timestamp,container_name,text"))
    with pytest.raises(UserError, match=r"logs.csv:1: no column for the message \(expected one of: message, log"):
        import_rcaeval(tmp_path / "src", tmp_path / "out")
    logs.unlink()
    traces = folder / "traces.csv"
    rows = traces.read_text().splitlines()
    rows[2] = ",".join([*rows[2].split(",")[:4], "slow", *rows[2].split(",")[5:]])
    traces.write_text("\n".join(rows) + "\n")
    with pytest.raises(UserError, match=r"traces.csv:3:5: 'slow' is not a number"):
        import_rcaeval(tmp_path / "src", tmp_path / "out")
    traces.unlink()
    data = folder / "data.csv"
    rows = data.read_text().splitlines()
    rows[5], rows[6] = rows[6], rows[5]
    data.write_text("\n".join(rows) + "\n")
    with pytest.raises(UserError, match=r"data.csv:7:1: time '\d+' is not after the previous row's"):
        import_rcaeval(tmp_path / "src", tmp_path / "out")


def _trimmed_nezha(target: Path) -> None:
    """Two faults of one day, three pods' metrics and three log minutes (two around the first fault,
    one from the fault before it), cut down from the shared data."""
    day_in, day_out = NEZHA / "rca_data" / DAY, target / "rca_data" / DAY
    (day_out / "metric").mkdir(parents=True)
    (day_out / "log").mkdir()
    shutil.copy(NEZHA / "call_graph_from_traces.json", target)
    faults = json.loads((day_in / f"{DAY}-fault_list.json").read_text())
    (day_out / f"{DAY}-fault_list.json").write_text(json.dumps({"10": faults["10"][:2]}))
    for pod in PODS:
        with gzip.open(day_in / "metric" / f"{pod}_metric.csv.gz", "rt") as handle:
            rows = list(csv.reader(handle))
        kept = [rows[0]] + [r for r in rows[1:] if "09:0" <= r[0][11:16] <= "10:20"]
        with gzip.open(day_out / "metric" / f"{pod}_metric.csv.gz", "wt", newline="") as handle:
            csv.writer(handle).writerows(kept)
    for minute in ("09_58", "10_04", "10_05"):
        with gzip.open(day_in / "log" / f"{minute}_log.csv.gz", "rt") as handle:
            lines = handle.read().splitlines()[:40]
        (day_out / "log" / f"{minute}_log.csv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


@pytest.mark.skipif(not NEZHA.is_dir(), reason="shared Nezha TrainTicket data not present")
def test_nezha_faults_become_case_folders_with_the_call_graph_metrics_and_logs(tmp_path):
    _trimmed_nezha(tmp_path / "nezha")
    written = import_nezha(tmp_path / "nezha", tmp_path / "out")
    assert [p.name for p in written] == [
        "2023-01-29T10-04-34_ts-travel-service_exception",
        "2023-01-29T10-12-48_ts-travel-service_exception",
    ]
    case = load_case(written[0], known())
    assert case.root_causes == ["ts-travel-service"]
    assert [(s.entity, s.family) for s in case.symptoms] == [("ts-gateway-service", "latency")]
    assert case.alert_at == 1674986760  # 10:06:00, two minutes after the injection on the minute
    assert ("ts-basic-service", "ts-price-service") in {(e.source_id, e.target_id) for e in case.topology.edges}
    assert case.step_s == 60.0
    assert {c.entity for c in case.metrics} == {"ts-travel-service", "ts-basic-service", "ts-gateway-service"}
    latency = next(c for c in case.metrics if c.entity == "ts-travel-service" and c.signal == "server_latency_p99_s")
    assert latency.family == "latency" and len(latency.ts) >= 60  # an hour of history before the fault
    assert len(case.log_lines) == 117  # 3 x 39 rows: the two minutes around the fault and one before it
    assert all(b" case ts-" in line for line in case.log_lines)
    # the second fault's logs reach back as far as its metrics, the file of 09:58 (14 minutes before) included: the
    # entities' own history, against which a template is new or not
    later = load_case(written[1], known())
    assert len(later.log_lines) == 117
    assert sum(b"T09:5" in line for line in later.log_lines) == 39  # the file of 09:58 holds lines of 09:57


@pytest.mark.skipif(not NEZHA.is_dir(), reason="shared Nezha TrainTicket data not present")
def test_nezha_logs_take_each_row_once_and_the_days_fault_free_reference_minutes(tmp_path):
    _trimmed_nezha(tmp_path / "nezha")
    day_logs = tmp_path / "nezha" / "rca_data" / DAY / "log"
    # the data's files overlap: a minute's file repeats rows of the file before it
    with gzip.open(day_logs / "10_04_log.csv.gz", "rt") as handle:
        repeated = handle.read().splitlines()[1:11]
    with gzip.open(day_logs / "10_05_log.csv.gz", "rt") as handle:
        later = handle.read().splitlines()
    (day_logs / "10_05_log.csv.gz").write_bytes(gzip.compress(("\n".join(later + repeated) + "\n").encode()))
    reference = tmp_path / "nezha" / "construct_data" / DAY / "log"
    reference.mkdir(parents=True)
    at = 1674986400  # 10:00:00, between the two faults
    with gzip.open(reference / "10_00_log.csv.gz", "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Timestamp", "TimeUnixNano", "Node", "PodName", "Container", "TraceID", "SpanID", "Log"])
        for i in range(5):
            line = json.dumps({"log": f"10:00:0{i}.000 INFO reference line {i}"})
            writer.writerow([f"2023-01-29T10:00:0{i}Z", (at + i) * 10**9, "n", PODS[1], "server", "", "", line])
    written = import_nezha(tmp_path / "nezha", tmp_path / "out")
    for folder in written:
        lines = load_case(folder, known()).log_lines
        assert len(lines) == 117 + 5  # each repeated row once, the reference minute's five rows added
        assert len(set(lines)) == len(lines)
        assert sum(b"ts-basic-service - - - 10:00:0" in line for line in lines) == 5


def test_a_nezha_log_row_whose_unix_nanoseconds_overflowed_is_timed_by_its_timestamp():
    from rca.cli.diagnose.import_nezha import _row_time

    assert _row_time({"TimeUnixNano": "1674981742383150913", "Timestamp": "x"}) == 1674981742.383150913
    assert _row_time({"TimeUnixNano": "-6795364578871345152", "Timestamp": "2023-01-29T09:20:29.295"}) == 1674984029.295


def _gzip_all(root: Path) -> None:
    for file in list(root.rglob("*.csv")):
        file.with_name(file.name + ".gz").write_bytes(gzip.compress(file.read_bytes(), mtime=0))
        file.unlink()


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_nezha_onlineboutique_day_in_the_repositorys_layout_imports_with_calls_from_its_traces(tmp_path, gzipped):
    # the repository's own layout: plain .csv files, trace/ beside log/, no call_graph_from_traces.json (the shared
    # TrainTicket copy's, gzipped, has one); before, the import stopped at the missing call graph file
    nezha_fixture.write_day(tmp_path / "nezha")
    if gzipped:
        _gzip_all(tmp_path / "nezha")
    written = import_nezha(tmp_path / "nezha", tmp_path / "out")
    assert [p.name for p in written] == [
        "2022-08-22T04-27-03_cartservice_network_delay",
        "2022-08-22T04-36-03_checkoutservice_cpu_consumed",
    ]
    case = load_case(written[0], known())
    assert case.root_causes == ["cartservice"]
    assert yaml.safe_load((written[1] / "case.yaml").read_text())["fault"] == "cpu_consumed"
    # the entry is the service the traces' root spans start in
    assert [(s.entity, s.family) for s in case.symptoms] == [("frontend", "latency")]
    assert {(e.source_id, e.target_id) for e in case.topology.edges} == {
        ("frontend", "cartservice"),
        ("frontend", "checkoutservice"),
        ("checkoutservice", "currencyservice"),
    }
    assert {c.entity for c in case.metrics} == set(nezha_fixture.PODS)
    assert {c.signal: c.family for c in case.metrics}["cpu_usage_pct"] == "saturation"
    assert len({c.signal for c in case.metrics}) == 15  # PodSuccessRate and the Node* columns left out
    lines = case.log_lines
    assert len(lines) == len(nezha_fixture.log_rows())
    assert [line.split(b" ")[3] for line in lines] == [
        b"frontend",
        b"frontend",
        b"checkoutservice",
        b"currencyservice",
        b"cartservice",
    ]
    # a service that logs JSON: its message and its severity (lower case: "error"), not the object as text
    error = lines[1].decode()
    assert error.startswith("<131>1 ") and error.endswith(
        " - - - ERROR TraceID: 04c87ec97bae041b1b15b3c7676a43cc SpanID: 989036326b156480 could not retrieve cart"
    )
    assert lines[4].endswith(
        b" - - - TraceID: 04c87ec97bae041b1b15b3c7676a43cc SpanID: 989036326b156480 "
        b"GetCartAsync called with userId=a009eb0b"
    )


def test_a_nezha_day_without_traces_or_call_graph_gets_the_front_end_calling_every_service(tmp_path):
    nezha_fixture.write_day(tmp_path / "nezha", traces=False)
    written = import_nezha(tmp_path / "nezha", tmp_path / "out")
    case = load_case(written[0], known())
    assert [(s.entity, s.family) for s in case.symptoms] == [("frontend", "latency")]
    assert {(e.source_id, e.target_id) for e in case.topology.edges} == {
        ("frontend", s) for s in nezha_fixture.PODS if s != "frontend"
    }


@pytest.mark.skipif(not NEZHA.is_dir(), reason="shared Nezha TrainTicket data not present")
def test_a_nezha_folder_with_both_systems_gives_each_day_its_own_topology_and_entry(tmp_path):
    # the whole repository's rca_data/ with the shared copy's call graph file beside it: the file is TrainTicket's,
    # and before, the OnlineBoutique day got its services and its entry (ts-gateway-service)
    _trimmed_nezha(tmp_path / "nezha")
    nezha_fixture.write_day(tmp_path / "nezha")
    written = import_nezha(tmp_path / "nezha", tmp_path / "out")
    assert [p.name[:10] for p in written] == ["2022-08-22"] * 2 + ["2023-01-29"] * 2
    ob, tt = load_case(written[0], known()), load_case(written[2], known())
    assert [s.entity for s in ob.symptoms] == ["frontend"]
    assert not [e for e in ob.topology.entities if e.id.startswith("ts-")]
    assert ("checkoutservice", "currencyservice") in {(e.source_id, e.target_id) for e in ob.topology.edges}
    assert [s.entity for s in tt.symptoms] == ["ts-gateway-service"]
    assert ("ts-basic-service", "ts-price-service") in {(e.source_id, e.target_id) for e in tt.topology.edges}


def test_a_nezha_structured_log_line_is_written_as_its_level_and_message(tmp_path):
    # OnlineBoutique's Go, Node and Python services log JSON objects, severity in lower case; before, the object was
    # the line, and an "error" one read as info (the level words are matched in upper case)
    from rca.cli.diagnose.import_nezha import _read_log_file

    day = nezha_fixture.write_day(tmp_path / "nezha", traces=False)
    _gzip_all(day / "log")
    rows, damaged = _read_log_file(day / "log" / f"{nezha_fixture.LOG_MINUTE}_log.csv.gz")
    assert not damaged
    messages = [row.line.split("\t", 2)[1:] for row in rows]
    trace = "TraceID: 04c87ec97bae041b1b15b3c7676a43cc SpanID: 989036326b156480"
    assert messages == [
        ["frontend", f"INFO {trace} request started"],
        ["frontend", f"ERROR {trace} could not retrieve cart"],
        ["checkoutservice", f"INFO {trace} payment went through"],
        ["currencyservice", f"INFO {trace} conversion request successful"],
        ["cartservice", f"{trace} GetCartAsync called with userId=a009eb0b"],  # plain text stays as it is
    ]


def test_a_nezha_day_of_plain_csv_files_is_read_as_the_gzipped_ones_are(tmp_path):
    # the repository holds plain .csv files; before, its metric folder read as empty ("no <pod>_metric.csv.gz")
    nezha_fixture.write_day(tmp_path / "nezha", traces=False)
    graph = {"caller_to_callee": [["frontend", "cartservice", 3]], "root_span_services": {"frontend": 3}}
    (tmp_path / "nezha" / "call_graph_from_traces.json").write_text(json.dumps(graph))
    case = load_case(import_nezha(tmp_path / "nezha", tmp_path / "out")[0], known())
    assert {(e.source_id, e.target_id) for e in case.topology.edges} == {("frontend", "cartservice")}
    assert {c.entity for c in case.metrics} == set(nezha_fixture.PODS)
    assert len(case.log_lines) == len(nezha_fixture.log_rows())
