"""`rca ingest metrics` and `rca sync status|now` as a user runs them: real processes, real Prometheus and graph."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from graph_schema.cypher import anomalies as anomaly_cypher
from graph_schema.model import Label
from ingest.jobs.scheduler import JobOutcome, JobRunner, JobSpec, Schedules
from ingest.jobs.status import StatusFile
from tests.integration import metrics_estate
from tests.integration.cli import ROOT, graph_env, rca
from tests.support.waiting import WaitTimeout, wait_until


@pytest.fixture(scope="module")
def estate_prometheus(tmp_path_factory):
    prometheus, estate = metrics_estate.start_prometheus(tmp_path_factory.mktemp("prometheus"))
    yield prometheus, estate
    prometheus.stop()


@pytest.fixture
def cli_env(store, graph_uri, graph_user, graph_settings, tmp_path, unique_prefix, estate_prometheus):
    """Environment of an `rca` process aimed at the (migrated) session graph and the estate's Prometheus."""
    prometheus, _ = estate_prometheus
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCA_", "NEO4J_"))}
    env.update(graph_env(graph_settings, graph_uri, graph_user))
    env.update(
        {
            "RCA_METRICS__PROMETHEUS_URL": prometheus.url,
            "RCA_METRICS__ENTITY_PREFIX": unique_prefix,
            "RCA_METRICS__EXPORTER_PORT": "0",
            "RCA_SYNC__SOURCE": f"{unique_prefix}metrics",
            "RCA_SYNC__STATUS_FILE": str(tmp_path / "status.json"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_backfill_replays_a_window_with_progress(cli_env, estate_prometheus, store, unique_prefix):
    _, estate = estate_prometheus
    done = rca("ingest", "metrics", "--from", f"{estate.start + 80 * 60:.0f}", "--to", f"{estate.end:.0f}", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"backfill \d+\.\.\d+: 20 polls .* [1-9]\d* anomalies opened", done.stdout)
    assert "backfill" in done.stderr and "poll" in done.stderr  # the tqdm progress bar
    rows = store.read(
        anomaly_cypher.ANOMALIES_OF_ENTITY, entity_id=f"{unique_prefix}orders-db", entity_label=str(Label.DATASTORE)
    )
    assert [r["anomaly"]["signal"] for r in rows] == ["latency_p99"]


def test_backfill_rejects_bad_times(cli_env):
    done = rca("ingest", "metrics", "--from", "yesterday-ish", env=cli_env)
    assert done.returncode == 2 and "cannot read time 'yesterday-ish'" in done.stderr
    done = rca("ingest", "metrics", "--from", "now-1h", "--to", "now-2h", env=cli_env)
    assert done.returncode == 2 and "--to must be after --from" in done.stderr


def test_sync_now_then_status_and_a_failing_sync(cli_env, estate_prometheus):
    _, estate = estate_prometheus
    preview = rca("sync", "now", "--dry-run", "--at", f"{estate.end - 60:.0f}", env=cli_env)
    assert preview.returncode == 0, preview.stderr
    assert re.search(r"14 entities, 15 edges; would change [1-9]", preview.stdout) and "14 created" in preview.stdout
    assert "no job has run yet" in rca("sync", "status", env=cli_env).stdout  # a preview is not a sync

    done = rca("sync", "now", "--at", f"{estate.end - 60:.0f}", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"topology sync from .*: 1[0-9] entities, 1[5-9] edges; changed [1-9]", done.stdout)
    status = rca("sync", "status", env=cli_env)
    assert (
        status.returncode == 0
        and "topology_sync: ok" in status.stdout
        and "runs:         1, failures 0" in status.stdout
    )

    down = dict(
        cli_env,
        RCA_METRICS__PROMETHEUS_URL=f"http://127.0.0.1:{_free_port()}",
        RCA_METRICS__RETRIES="1",
        RCA_METRICS__BACKOFF_S="0.1",
    )
    failed = rca("sync", "now", env=down)
    assert failed.returncode == 1 and "PrometheusUnavailable" in failed.stderr
    status = json.loads(rca("sync", "status", "--json", env=cli_env).stdout)["topology_sync"]
    assert status["runs"] == 2 and status["failures"] == 1 and "unavailable after 2 attempts" in status["last_error"]
    assert status["last_success"] is not None and status["last_changes"] > 0  # the good run's figures are kept


def test_worker_runs_both_jobs_on_schedule_and_exports_its_figures(cli_env, tmp_path):
    port = _free_port()
    env = dict(
        cli_env,
        RCA_METRICS__POLL_INTERVAL_S="2",
        RCA_METRICS__POLL_JITTER_S="0.5",
        RCA_SYNC__INTERVAL_S="3",
        RCA_SYNC__JITTER_S="0.5",
        RCA_METRICS__EXPORTER_PORT=str(port),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "ingest", "metrics"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    scraped = {"text": ""}

    def jobs_ran() -> bool:
        try:
            scraped["text"] = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        except requests.RequestException:
            scraped["text"] = ""
        polls = re.search(r'rca_job_runs_total\{job="metrics_poll"\} (\d+)', scraped["text"])
        syncs = re.search(r'rca_job_runs_total\{job="topology_sync"\} (\d+)', scraped["text"])
        return bool(polls and syncs and int(float(polls.group(1))) >= 3 and int(float(syncs.group(1))) >= 2)

    try:
        try:
            wait_until(jobs_ran, timeout=90, interval=1, message="3 metrics polls and 2 topology syncs")
        except WaitTimeout:
            worker.send_signal(signal.SIGINT)
            out, err = worker.communicate(timeout=60)
            pytest.fail(
                f"jobs did not run on schedule; /metrics said:\n{scraped['text'][-2000:]}\n"
                f"worker said:\n{out}\n{err[-3000:]}"
            )
        text = scraped["text"]
        assert re.search(r'rca_job_last_duration_seconds\{job="metrics_poll"\} [0-9.e-]+', text)
        assert 'rca_job_failures_total{job="topology_sync"} 0.0' in text
        # the first poll read the estate; its history ends a minute before the test, so the next
        # poll finds nothing new and counts those series as missing
        missing = re.search(r'rca_metrics_bad_input_total\{kind="missing_series"\} ([0-9.]+)', text)
        assert missing and float(missing.group(1)) >= 10, text
    finally:
        worker.send_signal(signal.SIGINT)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "metrics worker stopped" in out
    jobs = StatusFile(Path(env["RCA_SYNC__STATUS_FILE"])).load()
    assert jobs["metrics_poll"].runs >= 3 and jobs["metrics_poll"].last_error is None
    assert jobs["topology_sync"].runs >= 2 and jobs["topology_sync"].last_error is None


def test_runs_never_overlap_and_failures_back_off(tmp_path):
    running, overlaps, calls = [0], [0], []
    lock = threading.Lock()

    def slow() -> JobOutcome:
        with lock:
            running[0] += 1
            overlaps[0] = max(overlaps[0], running[0])
        calls.append(time.monotonic())
        time.sleep(1.2)  # the job's own work, longer than its interval (not a wait for anything)
        with lock:
            running[0] -= 1
        return JobOutcome(1)

    def failing() -> JobOutcome:
        calls_failing.append(time.monotonic())
        raise ConnectionError("graph unreachable")

    calls_failing: list[float] = []
    runner = JobRunner(StatusFile(tmp_path / "status.json"))
    schedules = Schedules(
        runner, [JobSpec("slow", slow, interval_s=0.3), JobSpec("failing", failing, interval_s=30.0, retry_base_s=0.5)]
    )
    schedules.start()
    try:  # until the outcome is there, not for a time: a second slow run, and the failing job retried twice
        wait_until(lambda: len(calls) >= 2 and len(calls_failing) >= 3, timeout=30, message="2 slow runs, 3 failing")
    finally:
        schedules.shutdown(wait=True)
    assert overlaps[0] == 1  # the second slow run waited for the first, though it was due every 0.3 s
    # failed at start, retried after 0.5 s, then 1 s (then 2 s): backing off, well before its 30 s interval
    gaps = [b - a for a, b in itertools.pairwise(calls_failing)]
    assert gaps == sorted(gaps) and gaps[0] >= 0.4 and gaps[-1] < 10
    status = StatusFile(tmp_path / "status.json").load()
    assert status["failing"].consecutive_failures == len(calls_failing)
    assert status["failing"].last_error == "ConnectionError: graph unreachable"
    assert status["slow"].failures == 0 and status["slow"].last_changes == 1
