"""rca.cli.lab.fault_hooks: what the in-process faults do to a request, their checks and their revert."""

from __future__ import annotations

import json
import os
import time

import pytest

from rca.cli.lab import fault_hooks
from rca.cli.lab.fault_hooks import ConnectionDrop, FaultParameterError, InjectedFailure, ServiceFaults


@pytest.fixture
def lines():
    return []


@pytest.fixture
def faults(tmp_path, lines):
    hooks = ServiceFaults("cart", tmp_path, lambda severity, message: lines.append((severity, message)))
    yield hooks
    hooks.revert()


def test_no_fault_lets_requests_and_calls_through(faults):
    faults.on_request()
    faults.on_call("redis-cart")
    assert faults.active() == []


def test_errors_answer_the_status_asked(faults):
    faults.apply("errors", {"status": 503, "reason": "overloaded"})
    with pytest.raises(InjectedFailure) as caught:
        faults.on_request()
    assert (caught.value.status, caught.value.reason) == (503, "overloaded")


def test_errors_ratio_fails_about_that_share(faults):
    faults.apply("errors", {"ratio": 0.3})
    failed = 0
    for _ in range(2000):
        try:
            faults.on_request()
        except InjectedFailure:
            failed += 1
    assert 450 < failed < 750


def test_a_callee_fault_acts_only_on_calls_to_that_callee(faults):
    faults.apply("errors", {"callee": "payments", "status": 502})
    faults.on_request()
    faults.on_call("shipping")
    with pytest.raises(InjectedFailure) as caught:
        faults.on_call("payments")
    assert caught.value.status == 502
    assert "payments" in caught.value.reason


def test_latency_sleeps_in_the_request_path(faults):
    faults.apply("latency", {"ms": 120})
    started = time.perf_counter()
    faults.on_request()
    assert time.perf_counter() - started >= 0.12


def test_connection_reset_and_drop(faults):
    faults.apply("connection", {})
    with pytest.raises(ConnectionDrop) as caught:
        faults.on_request()
    assert caught.value.reset is True
    faults.apply("connection", {"mode": "drop"})
    with pytest.raises(ConnectionDrop) as caught:
        faults.on_request()
    assert caught.value.reset is False


def test_a_reset_outgoing_connection_is_an_os_error_naming_the_callee(faults):
    faults.apply("connection", {"callee": "postgres-orders"})
    with pytest.raises(ConnectionResetError, match="postgres-orders"):
        faults.on_call("postgres-orders")


def test_revert_one_kind_keeps_the_others(faults):
    faults.apply("errors", {})
    faults.apply("latency", {"ms": 1})
    faults.revert("errors")
    assert [f["kind"] for f in faults.active()] == ["latency"]
    faults.on_request()
    faults.revert()
    assert faults.active() == []
    faults.revert("memory")  # reverting what is not active does nothing


def test_applying_a_kind_again_replaces_it(faults):
    faults.apply("errors", {"status": 500})
    faults.apply("errors", {"status": 504})
    assert [f["params"] for f in faults.active()] == [{"status": 504}]


@pytest.mark.parametrize(
    ("kind", "params", "named"),
    [
        ("errors", {"status": 200}, "status"),
        ("errors", {"ratio": 2}, "ratio"),
        ("latency", {"ms": "slow"}, "ms"),
        ("connection", {"mode": "sometimes"}, "mode"),
        ("memory", {"limit_mb": 100_000}, "limit_mb"),
        ("disk", {"mb": 100_000}, "mb"),
        ("cpu", {"threads": 64}, "threads"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(faults, kind, params, named):
    with pytest.raises(FaultParameterError, match=named):
        faults.apply(kind, params)
    assert faults.active() == []


def test_an_unknown_kind_lists_the_known_ones(faults):
    with pytest.raises(FaultParameterError, match="latency, errors"):
        faults.apply("gremlins", {})


def test_start_environment_applies_faults_and_returns_the_version(faults):
    environ = {
        fault_hooks.ENV_FAULTS: json.dumps([{"kind": "errors", "params": {"ratio": 0.5}}]),
        fault_hooks.ENV_VERSION: "2",
    }
    assert fault_hooks.apply_start_environment(faults, environ) == "2"
    assert [(f["kind"], f["params"]) for f in faults.active()] == [("errors", {"ratio": 0.5})]


def test_start_environment_without_variables_is_version_1_without_faults(faults):
    assert fault_hooks.apply_start_environment(faults, {}) == "1"
    assert faults.active() == []


def test_crash_after_is_an_exit_fault_that_revert_cancels(faults):
    fault_hooks.apply_start_environment(faults, {fault_hooks.ENV_CRASH_AFTER_S: "30"})
    assert [f["kind"] for f in faults.active()] == ["exit"]
    faults.revert()  # the process is still alive to assert this: the timer was cancelled
    assert faults.active() == []


@pytest.mark.parametrize("raw", ["not json", '{"kind": "errors"}', '[{"params": {}}]'])
def test_a_bad_start_environment_is_refused(faults, raw):
    with pytest.raises(FaultParameterError, match=fault_hooks.ENV_FAULTS):
        fault_hooks.apply_start_environment(faults, {fault_hooks.ENV_FAULTS: raw})


def test_disk_fill_writes_the_bound_then_fails_requests_and_revert_removes_it(faults, lines):
    faults.apply("disk", {"mb": 3, "mb_per_s": 1000})
    path = faults.temp_dir / f"lab-disk-fill-{os.getpid()}.bin"
    for _ in range(200):
        if faults.active()[0].get("full"):
            break
        time.sleep(0.05)
    assert path.stat().st_size == 3 << 20
    with pytest.raises(InjectedFailure, match="No space left on device"):
        faults.on_request()
    assert any("No space left on device" in message for _, message in lines)
    faults.revert("disk")
    assert not path.exists()
    faults.on_request()
