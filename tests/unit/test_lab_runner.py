"""rca lab run's pure logic: which alert and which incident belong to a fault, the waits between and
after scenarios, against a scripted stand-in for the lab (clock, alerts API, RootCause client)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rca.cli.lab import runner
from rca.cli.lab.runner import alerts_of_fault, first_fresh_incident, steady_wait
from rca.cli.lab.scoring import ScenarioResult

FAULT_AT = 10_000.0


def iso(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def alert(name="LabEntryErrorRatio", service="web", state="firing", active=FAULT_AT + 10):
    labels = {"alertname": name, **({"service": service} if service else {})}
    return {"labels": labels, "state": state, "activeAt": iso(active)}


def candidate(entity_id, rank):
    return SimpleNamespace(
        entity_id=entity_id,
        rank=rank,
        score=1.0 / (rank + 1),
        breakdown=[SimpleNamespace(term="gnn", value=2.0 / rank), SimpleNamespace(term="rules", value=0.1)],
        evidence=[SimpleNamespace(kind="anomaly", name="error_ratio", strength=8.25, text=f"{entity_id} errors up")],
    )


def incident(incident_id, created, observed, ranking=("db", "web"), symptom=("web", "errors")):
    return SimpleNamespace(
        incident_id=incident_id,
        created_at=created,
        symptoms=[SimpleNamespace(entity_id=symptom[0], family=symptom[1], observed_at=observed)],
        candidates=[candidate(e, r) for r, e in reversed(list(enumerate(ranking, start=1)))],
    )


class Clock:
    """runner's `time` module: time() and sleep() on a scripted clock."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class ScriptedLab:
    """The lab as the runner sees it; alerts, faults and incidents are functions of the clock."""

    def __init__(self, clock, alerts=lambda now: [], incidents=(), faults=lambda now: []):
        self.clock, self._alerts, self._faults = clock, alerts, faults
        self.incidents = list(incidents)  # (visible from, incident)
        self.reverted: list[str] = []
        self.inferred: list = []

    def alerts(self):
        return self._alerts(self.clock.now)

    def active_faults(self):
        return self._faults(self.clock.now)

    def revert(self, fault_id):
        self.reverted.append(fault_id)

    def client(self):
        return self

    def list_incidents(self, limit, since):
        listed = [i for at, i in self.incidents if at <= self.clock.now and i.created_at >= since]
        return SimpleNamespace(incidents=listed[:limit])

    def get_incident(self, incident_id):
        return next(i for _, i in self.incidents if i.incident_id == incident_id)

    def infer(self, request):
        self.inferred.append(request)
        return SimpleNamespace(candidates=[candidate("cache", 1)])


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(FAULT_AT)
    monkeypatch.setattr(runner, "time", fake)
    return fake


def scenario(alert_timeout_s=90.0):
    return SimpleNamespace(alert_timeout_s=alert_timeout_s)


def fresh_result():
    return ScenarioResult("s", "errors", ("db",), FAULT_AT)


# ---- the wait before a fault -------------------------------------------------------------------


def test_the_first_scenario_waits_its_steady_state_only():
    assert steady_wait(1000.0, 30.0, None, 120.0) == 30.0


def test_a_fault_waits_the_bridge_look_back_after_the_previous_recovery():
    # recovered 10 s ago: 110 s more, so the next window (120 s before an alert after the fault) starts after it
    assert steady_wait(1000.0, 30.0, 990.0, 120.0) == pytest.approx(110.0)


def test_a_recovery_long_ago_leaves_the_steady_state():
    assert steady_wait(1000.0, 30.0, 700.0, 120.0) == 30.0
    assert steady_wait(1000.0, 0.5, 700.0, 120.0) == 0.5


def test_a_lab_without_a_look_back_waits_the_steady_state():
    assert steady_wait(1000.0, 30.0, 999.0, 0.0) == 30.0


# ---- which alert belongs to the fault -----------------------------------------------------------


def test_only_firing_alerts_active_since_the_fault_count():
    alerts = [
        alert(active=FAULT_AT + 12),
        alert(service="api", state="pending", active=FAULT_AT + 12),
        alert(service="old", active=FAULT_AT - 100),  # still firing from the previous scenario
        alert(service="edge", active=FAULT_AT - runner.ALERT_SLACK_S + 1),  # within the slack
    ]
    assert [a["labels"]["service"] for a in alerts_of_fault(alerts, FAULT_AT)] == ["web", "edge"]


def test_an_alert_without_a_readable_active_time_is_not_the_faults():
    broken = {**alert(), "activeAt": "yesterday"}
    assert alerts_of_fault([broken], FAULT_AT) == []


def test_alert_symptoms_take_the_family_from_the_alert_name_once_per_entity_and_family():
    alerts = [
        alert("LabEntryErrorRatio"),
        alert("LabEntryErrorRatio"),
        alert("LabEntryLatencyP99"),
        alert("SomethingElse", service="api"),
        alert(service=None),
    ]
    assert runner._alert_symptoms(alerts) == [
        {"entity": "web", "family": "errors"},
        {"entity": "web", "family": "latency"},
        {"entity": "api", "family": "errors"},
    ]


# ---- which incident is the fault's diagnosis ----------------------------------------------------


def test_the_first_incident_of_an_alert_begun_after_the_fault_is_taken():
    found = first_fresh_incident(
        [incident("b", FAULT_AT + 40, FAULT_AT + 20), incident("a", FAULT_AT + 30, FAULT_AT + 20)], FAULT_AT
    )
    assert found is not None and found.incident_id == "a"


def test_a_stale_re_diagnosis_stored_after_the_fault_is_not_its_diagnosis():
    # the bridge re-diagnoses a group still firing from an earlier fault: stored now, alert began long ago
    stale = incident("stale", FAULT_AT + 5, FAULT_AT - 900)
    assert first_fresh_incident([stale], FAULT_AT) is None
    assert first_fresh_incident([incident("old", FAULT_AT - 1, FAULT_AT - 1)], FAULT_AT) is None
    edge = incident("edge", FAULT_AT + 3, FAULT_AT - runner.ALERT_SLACK_S)
    assert first_fresh_incident([edge], FAULT_AT) is edge


def test_the_diagnosis_is_the_bridges_incident_with_its_ranking_and_symptoms(clock):
    lab = ScriptedLab(
        clock,
        alerts=lambda now: [alert(active=FAULT_AT + 15)] if now >= FAULT_AT + 20 else [],
        incidents=[
            (FAULT_AT + 6, incident("stale", FAULT_AT + 5, FAULT_AT - 900, ranking=("old",))),
            (FAULT_AT + 40, incident("mine", FAULT_AT + 38, FAULT_AT + 15, ranking=("db", "web", "cache"))),
        ],
    )
    result = fresh_result()
    symptoms = runner._wait_for_diagnosis(lab, scenario(), result)
    assert (result.diagnosis, result.diagnosed_at, result.ranking) == (
        "incident",
        FAULT_AT + 38,
        ["db", "web", "cache"],
    )
    assert result.alert_at is not None and FAULT_AT + 20 <= result.alert_at < FAULT_AT + 20 + runner.POLL_S
    assert symptoms == [{"entity": "web", "family": "errors"}]
    assert lab.inferred == []
    # the first candidates are kept with the service's explanation, for reading a miss afterwards
    assert [c["entity"] for c in result.explained] == ["db", "web", "cache"]
    assert result.explained[1] == {
        "entity": "web",
        "score": 0.3333,
        "breakdown": {"gnn": 1.0, "rules": 0.1},
        "evidence": ["anomaly error_ratio 8.2: web errors up"],
    }


def test_an_alert_without_an_incident_has_the_runner_call_infer_after_the_grace(clock):
    lab = ScriptedLab(clock, alerts=lambda now: [alert("LabEntryLatencyP99", active=FAULT_AT + 15)])
    result = fresh_result()
    symptoms = runner._wait_for_diagnosis(lab, scenario(alert_timeout_s=600.0), result)
    assert result.diagnosis == "infer" and result.ranking == ["cache"]
    assert result.diagnosed_at - result.alert_at >= runner.INCIDENT_GRACE_S
    assert result.diagnosed_at - result.alert_at < runner.INCIDENT_GRACE_S + 2 * runner.POLL_S
    assert symptoms == [{"entity": "web", "family": "latency"}]
    assert [(s.entity_id, s.family) for s in lab.inferred[0].symptoms] == [("web", "latency")]
    assert any("runner called Infer" in n for n in result.notes)


def test_no_alert_within_the_alert_timeout_is_no_diagnosis(clock):
    lab = ScriptedLab(clock, alerts=lambda now: [alert(active=FAULT_AT - 300)])  # the previous scenario's
    result = fresh_result()
    assert runner._wait_for_diagnosis(lab, scenario(alert_timeout_s=90.0), result) == []
    assert (result.diagnosis, result.alert_at, result.ranking) == ("none", None, [])
    assert clock.now >= FAULT_AT + 90.0
    assert lab.inferred == []


def test_an_alert_that_fired_and_resolved_between_polls_takes_the_incident_time(clock):
    lab = ScriptedLab(clock, incidents=[(FAULT_AT + 9, incident("quick", FAULT_AT + 8, FAULT_AT + 3))])
    result = fresh_result()
    runner._wait_for_diagnosis(lab, scenario(), result)
    assert (result.diagnosis, result.alert_at) == ("incident", FAULT_AT + 8)


# ---- the waits after the fault ------------------------------------------------------------------


def test_recovery_is_the_first_poll_without_any_alert(clock):
    lab = ScriptedLab(clock, alerts=lambda now: [alert()] if now < FAULT_AT + 31 else [])
    recovered = runner._wait_for_recovery(lab, 120.0)
    assert recovered is not None and FAULT_AT + 31 <= recovered < FAULT_AT + 31 + runner.POLL_S


def test_a_pending_alert_is_not_a_recovery_and_the_wait_gives_up_after_its_timeout(clock):
    lab = ScriptedLab(clock, alerts=lambda now: [alert(state="pending")])
    assert runner._wait_for_recovery(lab, 60.0) is None
    assert FAULT_AT + 60 <= clock.now < FAULT_AT + 60 + runner.POLL_S


def test_the_supervisor_reverting_in_time_leaves_the_fault_alone(clock):
    lab = ScriptedLab(clock, faults=lambda now: ["f1"] if now < FAULT_AT + 65 else [])
    result = fresh_result()
    runner._wait_for_revert(lab, "f1", FAULT_AT + 60, result)
    assert lab.reverted == [] and result.notes == []


def test_a_fault_the_supervisor_did_not_revert_is_deleted_by_the_runner(clock):
    lab = ScriptedLab(clock, faults=lambda now: ["f1"])
    result = fresh_result()
    runner._wait_for_revert(lab, "f1", FAULT_AT + 60, result)
    assert lab.reverted == ["f1"]
    assert clock.now >= FAULT_AT + 60 + runner.REVERT_GRACE_S
    assert any("runner deleted it" in n for n in result.notes)


# ---- output of estates run side by side ---------------------------------------------------------


def test_lines_printed_by_several_threads_come_out_whole():
    import io
    import threading

    sink = io.StringIO()
    writer = runner.LineWriter(sink)

    def talk(name):
        for i in range(200):
            print(f"{name} line {i} of a scenario", file=writer)  # type: ignore[arg-type]

    threads = [threading.Thread(target=talk, args=(n,)) for n in ("shop", "deep")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = sink.getvalue().splitlines()
    assert len(lines) == 400
    assert all(line.endswith(" of a scenario") and line.count("line") == 1 for line in lines)


def test_the_replay_finds_bench_accuracy_of_the_checkout():
    # rca lab run replays its recordings through it; after the move to rca/cli/lab it looked in rca/bench
    assert runner.BENCH_ACCURACY.is_file()
    assert runner.BENCH_ACCURACY.parent.parent == runner.Path(runner.__file__).resolve().parents[3]
