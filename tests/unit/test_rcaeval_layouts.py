"""`rca diagnose import rcaeval` against the layouts RCAEval's datasets really have.

The column names below are those of RCAEval's case folders (github.com/phamquiluan/RCAEval, RE1: the
Online Boutique, Sock Shop and Train Ticket data.csv; RE2 and RE3: metrics.csv with cAdvisor, Istio and
node-exporter series, and simple_metrics.csv); the values are synthetic (tests/support/rcaeval_fixture).
"""

from __future__ import annotations

import csv

import pytest

from rca.cli.diagnose.case import load_case
from rca.cli.diagnose.import_rcaeval import import_rcaeval
from rca.cli.errors import UserError
from settings.ingest import MetricsSettings
from tests.support import rcaeval_fixture


def known() -> dict[str, str]:
    from rca.cli.diagnose.session import project_signals

    return {name: t.family for name, t in project_signals(MetricsSettings()).items()}


def families(case) -> dict[tuple[str, str], str]:
    return {(c.entity, c.signal): c.family for c in case.metrics}


def test_re1_online_boutique_load_columns_are_traffic_and_a_repeated_time_column_is_no_metric(tmp_path, capsys):
    # RE1-OB's data.csv: <svc>_cpu, _mem, _load, _latency, a `main` container's memory, and `time` twice
    services = ("frontend", "cartservice", "adservice")
    columns = [f"{s}_{m}" for m in ("cpu", "mem", "load", "latency") for s in services]
    rcaeval_fixture.write_layout_case(
        tmp_path / "src", "online-boutique", "cartservice_delay", [*columns, "main_mem", "time"]
    )
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    case = load_case(written, known())
    assert case.root_causes == ["cartservice"]
    found = families(case)
    assert found[("cartservice", "load")] == "traffic"
    assert found[("cartservice", "latency")] == "latency"
    assert found[("cartservice", "mem")] == "saturation"
    assert len(found) == 13  # 3 services x 4 metrics, and main's memory
    assert "left out" not in capsys.readouterr().out  # the second `time` is no metric of unknown family


def test_re1_sock_shop_and_train_ticket_columns_keep_their_families(tmp_path):
    ss = ["front-end_cpu", "carts_mem", "carts_latency-50", "carts_latency-90", "carts_workload", "carts-db_cpu"]
    ss += ["front-end_error", "orders_lat_50", "orders_lat_90", "orders_lat_99"]  # Sock Shop 1's percentiles
    rcaeval_fixture.write_layout_case(tmp_path / "src", "RE1-SS", "carts_mem", ss)
    tt = ["ts-ui-dashboard_latency-90", "ts-auth-service_cpu", "ts-auth-service_mem", "ts-auth-service_workload"]
    rcaeval_fixture.write_layout_case(tmp_path / "src", "RE1-TT", "ts-auth-service_cpu", tt)
    ss_case, tt_case = (load_case(p, known()) for p in import_rcaeval(tmp_path / "src", tmp_path / "out"))
    assert families(ss_case) == {
        ("front-end", "cpu"): "saturation",
        ("carts", "mem"): "saturation",
        ("carts", "latency-50"): "latency",
        ("carts", "latency-90"): "latency",
        ("carts", "workload"): "traffic",
        ("carts-db", "cpu"): "saturation",
        ("front-end", "error"): "errors",
        ("orders", "lat_50"): "latency",
        ("orders", "lat_90"): "latency",
        ("orders", "lat_99"): "latency",
    }
    assert [(s.entity, s.family) for s in ss_case.symptoms] == [("front-end", "latency")]
    assert tt_case.root_causes == ["ts-auth-service"]
    assert [(s.entity, s.family) for s in tt_case.symptoms] == [("ts-ui-dashboard", "latency")]
    assert set(families(tt_case).values()) == {"latency", "saturation", "traffic"}


RE2_METRICS = {  # metrics.csv of RE2 and RE3: cAdvisor, Istio and node-exporter series -> their family
    "container-cpu-usage-seconds-total": "saturation",
    "container-cpu-system-seconds-total": "saturation",
    "container-spec-cpu-quota": "saturation",
    "container-memory-working-set-bytes": "saturation",
    "container-memory-failures-total": "saturation",  # page faults: memory pressure, not failed requests
    "container-blkio-device-usage-total": "saturation",
    "container-fs-reads-bytes-total": "saturation",
    "container-sockets": "saturation",
    "container-network-receive-bytes-total": "traffic",
    "container-network-transmit-packets-total": "traffic",
    "istio-request-total": "traffic",
    "istio-error-total": "errors",
    "istio-latency-50": "latency",
    "istio-latency-99": "latency",
    "istio-bytes-90": "traffic",  # request sizes, not saturation (the "io" of "istio" is no I/O)
}
NODES = ("gke-gke-cluster-default-pool-2e1807ce-0e4z", "192-168-25-221-9100")


def test_re2_metrics_columns_map_to_their_families_and_nodes_are_no_services(tmp_path, capsys):
    services = ("frontend", "checkoutservice", "redis")
    columns = [f"{s}_{m}" for m in RE2_METRICS for s in services]
    columns += ["frontend-external_istio-request-total", "loadgenerator_container-network-transmit-bytes-total"]
    columns += [f"{n}_{m}" for n in NODES for m in ("node-cpu-seconds-total", "node-memory-active-bytes")]
    rcaeval_fixture.write_layout_case(tmp_path / "src", "RE2-OB", "checkoutservice_socket", columns, "metrics.csv")
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    case = load_case(written, known())
    assert sorted(case.labels) == ["checkoutservice", "frontend", "frontend-external", "loadgenerator", "redis"]
    found = families(case)
    assert {m: found[("checkoutservice", m)] for m in RE2_METRICS} == RE2_METRICS
    printed = capsys.readouterr().out
    assert "4 columns of 2 nodes (node-exporter's host series; RCAEval ties no service to a node) left out" in printed
    # counters become rates: the root cause's CPU seconds per second, 5.5 before and 10.5 after
    cpu = next(
        c for c in case.metrics if (c.entity, c.signal) == ("checkoutservice", "container-cpu-usage-seconds-total")
    )
    assert cpu.values[cpu.ts < rcaeval_fixture.INJECT_AT].mean() == pytest.approx(5.5, abs=0.1)


def test_re2_simple_metrics_columns_map_to_their_families(tmp_path):
    names = ("cpu", "mem", "diskio", "socket", "workload", "error", "latency-50", "latency-90")
    columns = [f"ts-order-service_{m}" for m in names] + ["ts-ui-dashboard_latency-90"]
    rcaeval_fixture.write_layout_case(
        tmp_path / "src", "RE2-TT", "ts-order-service_disk", columns, "simple_metrics.csv"
    )
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    found = families(load_case(written, known()))
    assert {m: found[("ts-order-service", m)] for m in names} == {
        "cpu": "saturation",
        "mem": "saturation",
        "diskio": "saturation",
        "socket": "saturation",
        "workload": "traffic",
        "error": "errors",
        "latency-50": "latency",
        "latency-90": "latency",
    }


def test_rcaeval_infinite_and_nan_samples_are_missing_samples(tmp_path):
    # RCAEval's own loader replaces inf with NaN: its data holds both (a latency over no requests)
    columns = ["frontend_latency-90", "cartservice_cpu", "cartservice_istio-request-total"]
    folder = rcaeval_fixture.write_layout_case(tmp_path / "src", "RE2-OB", "cartservice_cpu", columns, "metrics.csv")
    data = folder / "metrics.csv"
    rows = list(csv.reader(data.open()))
    rows[10][1], rows[11][1], rows[12][2], rows[13][3] = "inf", "-inf", "NaN", "nan"
    with data.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    case = load_case(written, known())
    series = {(c.entity, c.signal): c for c in case.metrics}
    assert series[("frontend", "latency-90")].missing == 2
    assert series[("cartservice", "cpu")].missing == 1
    # a counter's rate is missing at its NaN sample only: the next one is taken from the last good sample
    requests = series[("cartservice", "istio-request-total")]
    assert requests.missing == 2  # the first row (no rate yet) and the NaN's
    assert requests.values.max() < 12


def test_rcaeval_inject_time_is_its_first_line_and_code_level_faults_keep_their_name(tmp_path):
    columns = ["frontend_latency-90", "emailservice_cpu"]
    rcaeval_fixture.write_layout_case(
        tmp_path / "src",
        "RE3-OB",
        "emailservice_f4",
        columns,
        "metrics.csv",
        inject_text=f"{rcaeval_fixture.INJECT_AT}\nf4\n",
    )
    (written,) = import_rcaeval(tmp_path / "src", tmp_path / "out")
    case = load_case(written, known())
    assert case.root_causes == ["emailservice"]
    assert case.alert_at == rcaeval_fixture.INJECT_AT + 60
    assert "f4 injected into emailservice" in (written / "case.yaml").read_text()
    (tmp_path / "src" / "RE3-OB" / "emailservice_f4" / "1" / "inject_time.txt").write_text("\nsoon\n")
    with pytest.raises(UserError, match=r"inject_time\.txt: expected unix seconds"):
        import_rcaeval(tmp_path / "src", tmp_path / "out")
