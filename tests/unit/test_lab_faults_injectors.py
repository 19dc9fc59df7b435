"""rca.cli.lab.injectors: the checks of kind, target and parameters, and what each supervisor-side fault
does and undoes, against a recording stand-in for the supervisor's handle (the real one is exercised
in tests/integration/lab/test_lab_faults.py)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest

from rca.cli.lab import datastore_faults, fault_hooks, injectors
from rca.cli.lab.estate import parse_estate
from rca.cli.lab.injectors import FaultError
from tests.support.lab_faults_estate import FAULTS_ESTATE


class FakeService:
    def __init__(self, name, calls):
        self.name, self.calls = name, calls
        self.pid, self.url, self.host, self.auto_restart = 100, "http://127.0.0.1:1", "node-1", True

    def kill(self, sig=signal.SIGKILL):
        self.calls.append(("kill", self.name, sig, self.auto_restart))

    def restart(self, extra_env=None):
        self.calls.append(("restart", self.name, extra_env, self.auto_restart))


class FakeDatastore:
    def __init__(self, name, kind, calls):
        self.name, self.kind, self.calls, self.port = name, kind, calls, 1

    def stop(self):
        self.calls.append(("stop", self.name))

    def start(self):
        self.calls.append(("start", self.name))

    def sql(self, statement):
        self.calls.append(("sql", statement))
        if statement == datastore_faults.CLIENT_ROLES:
            return [("lab", -1), ('odd"name', 5)]
        return []


class FakeLab:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.estate = parse_estate(FAULTS_ESTATE, workdir / "estate.yaml")
        self.calls: list = []
        self.lines: list = []
        self.stop_requested = threading.Event()
        self._services = {name: FakeService(name, self.calls) for name in self.estate.services}
        self._stores = {n: FakeDatastore(n, d.kind, self.calls) for n, d in self.estate.datastores.items()}

    def service(self, name):
        return self._services[name]

    def datastore(self, name):
        return self._stores[name]

    def log(self, entity, severity, message):
        self.lines.append((entity, severity, message))


@pytest.fixture
def lab(tmp_path):
    return FakeLab(tmp_path)


def test_unknown_kind_lists_the_known_kinds(lab):
    with pytest.raises(FaultError, match=r"unknown fault kind 'meteor'.*latency, errors.*bad_deploy"):
        injectors.inject(lab, "meteor", "orders", {})
    assert lab.calls == []


def test_a_target_outside_the_estate_says_so_and_lists_the_estate(lab):
    with pytest.raises(FaultError, match=r"'checkout' is not in the estate \(services: frontend, orders; datastores"):
        injectors.inject(lab, "crash", "checkout", {})


def test_a_kind_that_does_not_fit_the_target_says_what_it_applies_to(lab):
    with pytest.raises(FaultError, match="datastore_outage applies to a datastore; 'orders' is a service"):
        injectors.inject(lab, "datastore_outage", "orders", {})
    with pytest.raises(FaultError, match="latency applies to a service; 'pg-orders' is a datastore"):
        injectors.inject(lab, "latency", "pg-orders", {})
    assert lab.calls == []


def test_unknown_and_bad_parameters_are_refused_by_name(lab):
    with pytest.raises(FaultError, match=r"no parameter 'speed' .*parameters: ms, jitter_ms, callee"):
        injectors.inject(lab, "latency", "orders", {"speed": 3})
    with pytest.raises(FaultError, match="'ratio' must be between 0 and 1"):
        injectors.inject(lab, "errors", "orders", {"ratio": 3})
    with pytest.raises(FaultError, match="'effect' must be"):
        injectors.inject(lab, "bad_deploy", "orders", {"effect": "fire"})
    with pytest.raises(FaultError, match="no parameter 'limit'"):
        injectors.inject(lab, "crash", "orders", {"limit": 1})
    with pytest.raises(FaultError, match=r"orders does not call 'frontend' \(its callees: pg-orders, redis-cart\)"):
        injectors.inject(lab, "errors", "orders", {"callee": "frontend"})


def test_crash_kills_without_restart_and_revert_restarts(lab):
    revert = injectors.inject(lab, "crash", "orders", {})
    assert lab.calls == [("kill", "orders", signal.SIGKILL, False)]
    revert()
    revert()  # a second call does nothing
    assert lab.calls[1:] == [("restart", "orders", None, True)]


def test_an_instance_names_its_service_process(lab):
    injectors.inject(lab, "crash", "orders-0", {})
    assert lab.calls[0][:2] == ("kill", "orders")


def test_crash_loop_restarts_with_the_exit_timer_and_revert_restarts_clean(lab):
    revert = injectors.inject(lab, "crash_loop", "orders", {"after_s": 2})
    assert lab.calls == [("restart", "orders", {fault_hooks.ENV_CRASH_AFTER_S: "2"}, True)]
    revert()
    assert lab.calls[1] == ("restart", "orders", None, True)


def test_bad_deploy_logs_the_version_restarts_with_the_misbehaviour_and_rolls_back(lab):
    revert = injectors.inject(lab, "bad_deploy", "orders", {"version": "2.4.0", "ratio": 0.8})
    (_, name, env, _) = lab.calls[0]
    assert name == "orders"
    assert env[fault_hooks.ENV_VERSION] == "2.4.0"
    (fault,) = json.loads(env[fault_hooks.ENV_FAULTS])
    assert (fault["kind"], fault["params"]["ratio"]) == ("errors", 0.8)
    assert "version 2.4.0" in lab.lines[0][2]
    revert()
    assert lab.calls[1] == ("restart", "orders", None, True)
    assert "rolling back" in lab.lines[1][2]


def test_bad_deploy_latency_and_crash_loop_effects(lab):
    injectors.inject(lab, "bad_deploy", "orders", {"effect": "latency", "ms": 900})
    assert json.loads(lab.calls[0][2][fault_hooks.ENV_FAULTS]) == [{"kind": "latency", "params": {"ms": 900.0}}]
    injectors.inject(lab, "bad_deploy", "frontend", {"effect": "crash_loop"})
    assert fault_hooks.ENV_CRASH_AFTER_S in lab.calls[1][2]


def test_datastore_outage_stops_and_revert_starts(lab):
    revert = injectors.inject(lab, "datastore_outage", "redis-cart", {})
    assert lab.calls == [("stop", "redis-cart")]
    revert()
    assert lab.calls == [("stop", "redis-cart"), ("start", "redis-cart")]


def test_postgres_config_limits_every_client_role_and_restores_each_limit(lab):
    revert = injectors.inject(lab, "datastore_config", "pg-orders", {"limit": 2})
    statements = [call[1] for call in lab.calls]
    assert statements == [
        datastore_faults.CLIENT_ROLES,
        'ALTER ROLE "lab" CONNECTION LIMIT 2',
        'ALTER ROLE "odd""name" CONNECTION LIMIT 2',
        datastore_faults.TERMINATE_CLIENTS,
    ]
    lab.calls.clear()
    revert()
    assert [call[1] for call in lab.calls] == [
        'ALTER ROLE "lab" CONNECTION LIMIT -1',
        'ALTER ROLE "odd""name" CONNECTION LIMIT 5',
    ]


def test_cpu_on_a_host_needs_a_service_there(lab):
    with pytest.raises(FaultError, match="host 'db-1' runs no lab service"):
        injectors.inject(lab, "cpu", "db-1", {})


def test_an_in_process_fault_on_a_service_that_does_not_answer_says_so(lab):
    with pytest.raises(FaultError, match=r"service orders does not answer at http://127\.0\.0\.1:1"):
        injectors.inject(lab, "latency", "orders", {"ms": 100})


def test_describe_kinds_names_each_kind_then_its_parameters():
    described = injectors.describe_kinds().splitlines()
    assert [line.split(" ")[0] for line in described if not line.startswith(" ")] == list(injectors.FAULT_KINDS)
    assert "    ms: added delay per request (500)" in described


def test_reverts_on_lab_down_bring_nothing_back_up(lab):
    reverts = [
        injectors.inject(lab, "crash", "orders", {}),
        injectors.inject(lab, "crash_loop", "frontend", {}),
        injectors.inject(lab, "datastore_outage", "pg-orders", {}),
    ]
    lab.calls.clear()
    lab.stop_requested.set()
    for revert in reverts:
        revert()
    assert lab.calls == []
    assert lab.service("orders").auto_restart is True
