"""`rca lab run`: every scenario of a scenario file end to end on a running lab, recorded and scored.

Per scenario: steady state, inject through the supervisor's control API (POST /faults), wait for the
entry SLO alert (Prometheus' alerts API) and for the diagnosis (the incident the Alertmanager bridge
stored, read with ListIncidents/GetIncident over gRPC; when the alert fires and no incident comes, the
runner calls Infer itself with the alert's symptoms), wait for the fault's end, wait for recovery (no
alert firing or pending), record the case folder. A run starts the estate itself (`rca lab up`) when no
lab answers in the workdir and stops it at the end; then it prints the figures (rca/cli/lab/scoring.py)
beside bench/accuracy.py's rankers on the recorded cases.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO, cast

import requests

from rca.cli.lab import scoring
from rca.cli.lab.recorder import Recording, record_case
from rca.cli.lab.scenarios import Scenario, ScenarioFile, load_scenarios
from rca.cli.lab.scoring import ScenarioResult

RCA = [sys.executable, "-m", "rca.cli.main"]
POLL_S = 2.0
ALERT_SLACK_S = 5.0  # an alert that became active this long before the fault still counts as the fault's
EXPLAINED_CANDIDATES = 3  # the live diagnosis' first candidates kept with their breakdown in lab.json
EXPLAINED_EVIDENCE = 6
INCIDENT_GRACE_S = 60.0  # after the alert fires, how long the bridge's incident may take before we Infer
REVERT_GRACE_S = 20.0  # after the fault's duration, how long the supervisor's own revert may take
UP_TIMEOUT_S = 600.0  # the whole estate and the project's parts, on 2 busy cores
DOWN_WAIT_S = 300.0  # the supervisor's own down: faults reverted, every process group stopped
# alert name -> the symptom family the bridge reads from it (the lab's entry SLO rules)
BASELINES = ("pagerank", "anomaly-magnitude")  # bench/accuracy.py's "best baseline" rows
ALERT_FAMILIES = {"LabEntryErrorRatio": "errors", "LabEntryLatencyP99": "latency"}
# bench/accuracy.py of a source checkout (rca/cli/lab/runner.py -> the repository's root)
BENCH_ACCURACY = Path(__file__).resolve().parents[3] / "bench" / "accuracy.py"


class RunError(RuntimeError):
    """The lab could not be started or does not answer."""


class LabConnection:
    """The running lab as lab.json describes it: control API, Prometheus, the RootCause service."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        info = json.loads((self.workdir / "lab.json").read_text(encoding="utf-8"))
        self.control_url = str(info["control_url"]).rstrip("/")
        self.prometheus_url = str(info["prometheus_url"]).rstrip("/")
        self.grpc_target = str(info["grpc_target"])
        # the bridge's look-back (Infer's window before the alert); 0 for a lab that does not say
        self.window_before_s = float(info.get("bridge_window_before_s") or 0.0)
        self._client: Any = None

    def status(self) -> dict:
        """The supervisor's GET /status."""
        answer = requests.get(f"{self.control_url}/status", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def inject(self, scenario: Scenario) -> str:
        """POST /faults; the supervisor reverts it after the scenario's duration."""
        body = {"kind": scenario.fault, "target": scenario.target, "for_s": scenario.duration_s}
        answer = requests.post(f"{self.control_url}/faults", json={**body, "params": scenario.params}, timeout=60)
        if answer.status_code >= 400:
            raise RunError(f"POST /faults {body} refused: {answer.status_code} {answer.text.strip()[:500]}")
        return str(answer.json()["id"])

    def active_faults(self) -> list[str]:
        """Ids of the faults the supervisor holds."""
        return [str(f.get("id")) for f in self.status().get("faults") or []]

    def revert(self, fault_id: str) -> None:
        """DELETE /faults/ID (when the supervisor's own timer has not reverted it)."""
        requests.delete(f"{self.control_url}/faults/{fault_id}", timeout=60)

    def alerts(self) -> list[dict]:
        """Prometheus' alerts (state pending or firing), with their labels and activeAt."""
        answer = requests.get(f"{self.prometheus_url}/api/v1/alerts", timeout=10)
        answer.raise_for_status()
        return list(answer.json()["data"]["alerts"])

    def history_from(self) -> float:
        """When the lab started (its Prometheus holds no older sample), epoch seconds."""
        return float(self.status().get("started_at") or time.time())

    def client(self):
        """A RootCause gRPC client to the lab's `rca serve`."""
        if self._client is None:
            from rca.service.client import RootCauseClient, open_channel

            self._client = RootCauseClient(open_channel(self.grpc_target), timeout_s=30.0)
        return self._client

    def close(self) -> None:
        """Close the gRPC channel."""
        if self._client is not None:
            self._client.close()
            self._client = None


def lab_answers(workdir: Path) -> bool:
    """True when the lab in WORKDIR is up: its supervisor answers and its load generator has sent requests.

    The control API answers while the lab is still starting; the load starts last, once everything is up.
    """
    try:
        status = LabConnection(workdir).status()
    except (OSError, ValueError, KeyError, requests.RequestException):
        return False
    return any(sum(outcomes.values()) > 0 for outcomes in (status.get("load") or {}).values())


class LabProcess:
    """`rca lab up` started by the run (its own process group), stopped by `rca lab down` at the end."""

    def __init__(self, estate: Path, workdir: Path):
        self.estate, self.workdir = estate, workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir.parent / f"{self.workdir.name}-lab-up.log"
        self.proc: subprocess.Popen | None = None

    def start(self, out: TextIO) -> None:
        """Start the lab and wait until it is up (its load generator running)."""
        from rca.cli.lab.processes import pid_alive
        from rca.cli.lab.supervisor import read_lab_file

        previous = read_lab_file(self.workdir)
        if previous and pid_alive(int(previous.get("supervisor_pid", 0))):
            raise RunError(f"a lab that does not answer runs in {self.workdir}: stop it with `rca lab down`")
        (self.workdir / "lab.json").unlink(missing_ok=True)  # a dead lab's file must not be taken for this one
        print(
            f"starting the lab: rca lab up --estate {self.estate} --workdir {self.workdir} (log {self.log})", file=out
        )
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*RCA, "lab", "up", "--estate", str(self.estate), "--workdir", str(self.workdir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + UP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RunError(f"rca lab up exited with {self.proc.returncode}; see {self.log}")
            if lab_answers(self.workdir):
                return
            time.sleep(POLL_S)
        self.stop()
        raise RunError(f"the lab did not answer within {UP_TIMEOUT_S:.0f} s; see {self.log}")

    def stop(self) -> None:
        """`rca lab down` until the supervisor has stopped everything it started.

        The supervisor's own down (every fault reverted, every process group stopped) may take minutes on
        a busy machine; it is never killed alone, which would leave its children running. If it has not
        finished after DOWN_WAIT_S, `rca lab down` runs again: with the supervisor gone or hung, it stops
        every process group lab.json records.
        """
        if self.proc is None:
            return
        for _ in range(2):
            with self.log.open("ab") as log:
                subprocess.run(
                    [*RCA, "lab", "down", "--workdir", str(self.workdir)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=DOWN_WAIT_S + 60,
                    check=False,
                )
            try:
                self.proc.wait(DOWN_WAIT_S)
                break
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGTERM)  # the supervisor's own clean-up, as on Ctrl-C
        if self.proc.poll() is None:  # hung even so: its children are gone (the second down), it goes too
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None


def run_scenarios(
    scenario_file: Path,
    *,
    workdir: Path,
    estate: Path | None = None,
    record_dir: Path | None = None,
    out: TextIO = sys.stdout,
    replay: bool = True,
    parallel_estates: bool = False,
) -> int:
    """Run every scenario, record each, print the figures; 0 when every scenario ran.

    With ``parallel_estates`` the scenarios of each estate run at the same time as the other estates'
    (each estate is a lab of its own, in its own workdir): the run takes as long as its longest estate.
    """
    loaded = load_scenarios(
        scenario_file, lambda path: set(_entity_kinds(path)), estate_override=estate, check_fault=_check_fault
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    record_dir = Path(record_dir) if record_dir else Path(workdir).parent / f"{Path(workdir).name}-runs" / stamp
    record_dir.mkdir(parents=True, exist_ok=True)
    estates = loaded.estates()
    done: dict[Path, list[ScenarioResult]] = {}
    lock = threading.Lock()

    def run_estate(estate_path: Path) -> None:
        group = [s for s in loaded.scenarios if s.estate == estate_path]
        # a lab's graph, Prometheus and logs belong to one estate: several estates get a workdir each
        lab_dir = Path(workdir) if len(estates) == 1 else Path(workdir) / estate_path.stem
        results = _run_on_estate(loaded, estate_path, group, lab_dir, record_dir, out)
        with lock:
            done[estate_path] = results
            _save(record_dir, [r for e in estates for r in done.get(e, [])])

    if parallel_estates and len(estates) > 1:
        out = cast(TextIO, LineWriter(out))
        with ThreadPoolExecutor(max_workers=len(estates), thread_name_prefix="lab-estate") as pool:
            for future in [pool.submit(run_estate, e) for e in estates]:
                future.result()
    else:
        for estate_path in estates:
            run_estate(estate_path)
    results = [r for e in estates for r in done[e]]
    print_figures(results, record_dir, out, replay=replay)
    return 0 if all(r.diagnosis != "none" for r in results) else 1


class LineWriter:
    """A text stream several threads print to: each thread's lines come out whole (print writes a line's
    text and its end separately)."""

    def __init__(self, out: TextIO):
        self.out = out
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        """Buffer this thread's text; write its complete lines at once."""
        buffered = getattr(self._pending, "text", "") + text
        whole, _, rest = buffered.rpartition("\n")
        self._pending.text = rest
        if whole:
            with self._lock:
                self.out.write(whole + "\n")
        return len(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        with self._lock:
            self.out.flush()


@functools.cache
def _entity_kinds(estate: Path) -> dict[str, str]:
    """Entity id -> kind (service, host, datastore, instance) of an estate file."""
    from rca.cli.lab.estate import load_estate

    return {e.id: str(e.label).lower() for e in load_estate(estate).entities}


def _check_fault(kind: str, target: str, estate: Path, params: dict) -> None:
    """The injectors' own checks of kind, target and parameters (FaultError is a ValueError)."""
    from rca.cli.lab.injectors import check_fault

    check_fault(kind, target, _entity_kinds(estate).get(target), params)


def _run_on_estate(
    loaded: ScenarioFile, estate: Path, group: list[Scenario], workdir: Path, record_dir: Path, out: TextIO
) -> list[ScenarioResult]:
    started: LabProcess | None = None
    if lab_answers(workdir):
        print(f"using the lab running in {workdir}", file=out)
    else:
        started = LabProcess(estate, workdir)
        started.start(out)
    lab = LabConnection(workdir)
    results = []
    try:
        _warm_up(lab, loaded.warmup_s, out)
        recovered_at = None
        for index, scenario in enumerate(group, start=1):
            print(
                f"[{estate.stem} {index}/{len(group)}] {scenario.name}: {scenario.fault} on {scenario.target}",
                file=out,
                flush=True,
            )
            time.sleep(steady_wait(time.time(), scenario.steady_s, recovered_at, lab.window_before_s))
            result = run_one(lab, scenario, workdir, record_dir, loaded.warmup_s, out, logs_from=recovered_at)
            recovered_at = result.recovered_at or time.time()
            results.append(result)
            print("  " + scoring.scenario_lines([result]), file=out, flush=True)
    finally:
        lab.close()
        if started is not None:
            started.stop()
    return results


def _warm_up(lab: LabConnection, warmup_s: float, out: TextIO) -> None:
    """Wait until Prometheus holds ``warmup_s`` of history: the detector's baseline before the first fault."""
    wait = lab.history_from() + warmup_s - time.time()
    if wait > 0:
        print(
            f"warm-up ({lab.workdir.name}): {wait:.0f} s more of steady history before the first fault",
            file=out,
            flush=True,
        )
        time.sleep(wait)


def steady_wait(now: float, steady_s: float, recovered_at: float | None, window_before_s: float) -> float:
    """Seconds to wait before the next fault: its steady state, and at least the bridge's look-back since
    the previous scenario recovered, so that no evidence of the previous fault lies in the next
    diagnosis' window (which reaches ``window_before_s`` before an alert that comes after the fault)."""
    wait = steady_s
    if recovered_at is not None:
        wait = max(wait, recovered_at + window_before_s - now)
    return max(0.0, wait)


def run_one(
    lab: LabConnection,
    scenario: Scenario,
    workdir: Path,
    record_dir: Path,
    lookback_s: float,
    out: TextIO,
    logs_from: float | None = None,
) -> ScenarioResult:
    """One scenario (its steady state already waited): inject, alert, diagnosis, revert, recovery, record."""
    fault_id = lab.inject(scenario)
    fault_at = time.time()
    result = ScenarioResult(scenario.name, scenario.fault, scenario.expect, fault_at)
    symptoms = _wait_for_diagnosis(lab, scenario, result)
    _wait_for_revert(lab, fault_id, fault_at + scenario.duration_s, result)
    recovered = _wait_for_recovery(lab, scenario.recovery_timeout_s)
    result.recovered_at = recovered
    if recovered is None:
        result.notes.append(f"alerts still active {scenario.recovery_timeout_s:.0f} s after the revert")
    if not symptoms:
        result.notes.append("no alert: the case's symptoms are the entry services' errors")
    end = time.time()
    recording = Recording(
        name=scenario.name,
        fault=scenario.fault,
        root_causes=list(scenario.expect),
        alert_at=result.alert_at or fault_at + scenario.duration_s / 2,
        symptoms=symptoms or _entry_symptoms(scenario.estate),
        start=max(lab.history_from(), fault_at - lookback_s),
        end=end,
        description=scenario.description or f"lab: {scenario.fault} on {scenario.target} ({scenario.params or {}})",
        live={**asdict(result), "target": scenario.target, "params": scenario.params, "estate": str(scenario.estate)},
        logs_from=logs_from,
    )
    report = record_case(
        record_dir / scenario.name,
        recording,
        prometheus_url=lab.prometheus_url,
        estate=scenario.estate,
        logs_dir=workdir / "logs",
    )
    result.case_dir = str(report.path)
    if report.empty_queries:
        print(f"  recorded without series for: {', '.join(report.empty_queries)}", file=out)
    return result


def _wait_for_diagnosis(lab: LabConnection, scenario: Scenario, result: ScenarioResult) -> list[dict]:
    """Fill the result's alert time, diagnosis and ranking; returns the symptoms (empty: no alert)."""
    deadline = result.fault_at + scenario.alert_timeout_s
    symptoms: list[dict] = []
    while time.time() < deadline:
        firing = alerts_of_fault(lab.alerts(), result.fault_at)
        if firing and result.alert_at is None:
            result.alert_at = time.time()
            symptoms = _alert_symptoms(firing)
        incident = _first_incident(lab, result.fault_at)
        if incident is not None:
            result.diagnosis, result.diagnosed_at = "incident", float(incident.created_at)
            _take_ranking(result, incident.candidates)
            if incident.symptoms:
                symptoms = [{"entity": s.entity_id, "family": s.family} for s in incident.symptoms]
            if result.alert_at is None:  # the alert fired and resolved between two polls
                result.alert_at = float(incident.created_at)
            return symptoms
        if result.alert_at is not None and time.time() - result.alert_at > INCIDENT_GRACE_S:
            _infer_ourselves(lab, symptoms, result)
            return symptoms
        time.sleep(POLL_S)
    if symptoms:
        _infer_ourselves(lab, symptoms, result)
    return symptoms


def alerts_of_fault(alerts: Iterable[dict], fault_at: float) -> list[dict]:
    """The firing alerts that became active after the fault (ALERT_SLACK_S before it counts too).

    An alert still firing from the previous scenario is not this fault's.
    """
    return [a for a in alerts if a.get("state") == "firing" and _active_at(a) >= fault_at - ALERT_SLACK_S]


def _active_at(alert: dict) -> float:
    text = str(alert.get("activeAt") or "")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _alert_symptoms(alerts: list[dict]) -> list[dict]:
    seen = {}
    for alert in alerts:
        labels = alert.get("labels") or {}
        family = ALERT_FAMILIES.get(str(labels.get("alertname")), "errors")
        if labels.get("service"):
            seen[(labels["service"], family)] = {"entity": labels["service"], "family": family}
    return list(seen.values())


def _first_incident(lab: LabConnection, since: float):
    """The first incident of an alert that began after ``since``.

    Its symptoms' times are the alerts' startsAt: an incident stored after the fault for an alert of the
    previous scenario (Alertmanager re-sends a group whose alerts change) is not this fault's diagnosis.
    """
    listed = lab.client().list_incidents(limit=50, since=since)
    first = first_fresh_incident(listed.incidents, since)
    return lab.client().get_incident(first.incident_id) if first is not None else None


def first_fresh_incident(incidents: Iterable[Any], since: float) -> Any | None:
    """Of incident summaries (created_at, symptoms with observed_at), the earliest created after ``since``
    for an alert that began after it (ALERT_SLACK_S before counts): a re-diagnosis of an alert that
    fired before the fault, stored after it, is not the fault's diagnosis."""
    fresh = [
        i
        for i in incidents
        if i.created_at >= since and any(s.observed_at >= since - ALERT_SLACK_S for s in i.symptoms)
    ]
    return min(fresh, key=lambda i: i.created_at, default=None)


def _infer_ourselves(lab: LabConnection, symptoms: list[dict], result: ScenarioResult) -> None:
    """The bridge stored no incident: Infer with the alert's symptoms, as the bridge would have."""
    from rca.service.stubs import pb

    request = pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_id=s["entity"], family=s["family"], observed_at=result.alert_at or time.time())
            for s in symptoms
        ],
        top_k=10,
    )
    response = lab.client().infer(request)
    result.diagnosis, result.diagnosed_at = "infer", time.time()
    _take_ranking(result, response.candidates)
    result.notes.append("no incident from the bridge: the runner called Infer")


def _take_ranking(result: ScenarioResult, candidates: Iterable[Any]) -> None:
    ranked = sorted(candidates, key=lambda c: c.rank)
    result.ranking = [c.entity_id for c in ranked]
    result.explained = [
        {
            "entity": c.entity_id,
            "score": round(c.score, 4),
            "breakdown": {t.term: round(t.value, 3) for t in c.breakdown},
            "evidence": [
                f"{e.kind} {e.name} {e.strength:.1f}: {e.text}"[:160] for e in c.evidence[:EXPLAINED_EVIDENCE]
            ],
        }
        for c in ranked[:EXPLAINED_CANDIDATES]
    ]


def _wait_for_revert(lab: LabConnection, fault_id: str, ends_at: float, result: ScenarioResult) -> None:
    time.sleep(max(0.0, ends_at - time.time()))
    deadline = time.time() + REVERT_GRACE_S
    while fault_id in lab.active_faults():
        if time.time() > deadline:
            lab.revert(fault_id)
            result.notes.append("the supervisor had not reverted the fault: the runner deleted it")
            return
        time.sleep(1.0)


def _wait_for_recovery(lab: LabConnection, timeout_s: float) -> float | None:
    """When no alert is pending or firing any more (None: still some after ``timeout_s``)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not lab.alerts():
            return time.time()
        time.sleep(POLL_S)
    return None


def _entry_symptoms(estate: Path) -> list[dict]:
    from rca.cli.lab.estate import load_estate

    return [{"entity": e, "family": "errors"} for e in sorted(load_estate(estate).load)]


def _save(record_dir: Path, results: list[ScenarioResult]) -> None:
    (record_dir / "results.json").write_text(
        json.dumps([asdict(r) for r in results], indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


def replay_ranks(record_dir: Path, out: TextIO) -> dict[str, dict]:
    """bench/accuracy.py --cases on the recordings (every ranker), per case; {} when bench/ is not here."""
    bench = BENCH_ACCURACY
    if not bench.is_file():
        print(f"bench/accuracy.py not found beside the package ({bench}): no baselines", file=out)
        return {}
    ranks = record_dir / "replay-ranks.json"
    log = record_dir / "replay-accuracy.txt"
    print(f"replaying the recordings: python bench/accuracy.py --cases {record_dir} (output {log})", file=out)
    with log.open("w") as handle:
        done = subprocess.run(
            [sys.executable, str(bench), "--cases", str(record_dir), "--ranks-json", str(ranks)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=bench.parents[1],
            check=False,
        )
    if done.returncode != 0 or not ranks.is_file():
        print(f"bench/accuracy.py failed ({done.returncode}); see {log}", file=out)
        return {}
    return json.loads(ranks.read_text(encoding="utf-8"))


def print_figures(
    results: list[ScenarioResult],
    record_dir: Path,
    out: TextIO,
    *,
    replay: bool = True,
    replayed: Callable[[Path, TextIO], dict[str, dict]] = replay_ranks,
) -> None:
    """The per-scenario lines, the timing table, live vs the replayed rankers, and the targets."""
    ranks = replayed(record_dir, out) if replay else {}
    print(f"\nrecordings: {record_dir}", file=out)
    print(scoring.scenario_lines(results), file=out)
    print("\nlive diagnosis and time from fault to diagnosis (medians)", file=out)
    print(scoring.timing_table(results), file=out)
    if ranks:
        print("\nAC@1 / AC@3 / Avg@5: live, and every ranker of bench/accuracy.py on the recorded cases", file=out)
        print(scoring.side_by_side(results, ranks), file=out)
    print("", file=out)
    print(scoring.verdicts(results, ranks, BASELINES), file=out)
