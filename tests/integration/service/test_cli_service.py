"""`rca serve` as its own process and `rca infer` as a client, as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from graph_schema.embedded import free_port
from tests.integration.cli import graph_env

REPO = Path(__file__).resolve().parents[3]


def _rca(*args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "rca.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_rca_serve_with_token_answers_rca_infer(graph_settings, graph_uri, graph_user, simulated, tmp_path):
    incident = simulated(seed=51, n_entities=40, fault_type="host_failure")
    port = free_port()
    token_file = tmp_path / "token"
    token_file.write_text("cli-token-123\n")
    token_file.chmod(0o644)  # readable by every local user: served, with a warning
    env = {
        **os.environ,
        **graph_env(graph_settings, graph_uri, graph_user),
        "RCA_SERVICE__METRICS_PORT": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "serve", "--port", str(port), "--token-file", str(token_file)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = server.stdout.readline()
        assert f"gRPC on 127.0.0.1:{port}" in banner, banner + server.stderr.read()
        symptom = incident.symptoms[0]
        common = [
            "infer",
            "--symptom",
            f"id={symptom['entity_id']}:{symptom['family']}",
            "--at",
            str(symptom["observed_at"]),
            "--target",
            f"127.0.0.1:{port}",
        ]

        refused = _rca(*common, env=env)
        assert refused.returncode == 2 and "UNAUTHENTICATED" in refused.stderr

        shown = _rca(*common, "--token-file", str(token_file), env=env)
        assert shown.returncode == 0, shown.stderr
        assert "#1 " in shown.stdout and ("path to" in shown.stdout or "is the symptom" in shown.stdout)
        assert symptom["entity_id"] in shown.stdout
        assert " hops around the symptoms)" in shown.stdout  # the radius the server chose (3, or grown to 5)

        as_json = _rca(*common, "--token-file", str(token_file), "--json", "--top-k", "2", env=env)
        answer = json.loads(as_json.stdout)
        assert len(answer["candidates"]) == 2 and answer["symptoms"][0]["entity_id"] == symptom["entity_id"]

        unknown = _rca(
            "infer",
            "--symptom",
            "no-such-thing-xyz:errors",
            "--target",
            f"127.0.0.1:{port}",
            "--token-file",
            str(token_file),
            env=env,
        )
        assert unknown.returncode == 2 and "NOT_FOUND" in unknown.stderr and "no-such-thing-xyz" in unknown.stderr

        bad = _rca("infer", "--symptom", "checkout", "--target", f"127.0.0.1:{port}", env=env)
        assert bad.returncode == 2 and "ENTITY:FAMILY" in bad.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, err = server.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
            pytest.fail(f"rca serve did not stop within 90 s of SIGTERM: {err[-2000:]}")
    assert server.returncode == 0, err
    assert "RootCause stopped" in out
    # warned once each: the token file is open to other users, the token travels over plaintext gRPC
    assert err.count(f"--token-file {token_file} is open to other users (mode 0644)") == 1, err
    assert err.count("a bearer token is set but gRPC on 127.0.0.1") == 1 and "is plaintext" in err, err


def _request_for(incident):
    from rca.service.stubs import pb

    symptom = incident.symptoms[0]
    return pb.InferRequest(
        symptoms=[
            pb.Symptom(entity_id=symptom["entity_id"], family=symptom["family"], observed_at=symptom["observed_at"])
        ]
    )


def _serve_in_two_processes(graph_settings, graph_uri, graph_user):
    """`rca serve --processes 2` on a free port: (port, its environment, the process)."""
    port = free_port()
    env = {
        **os.environ,
        **graph_env(graph_settings, graph_uri, graph_user),
        "RCA_SERVICE__METRICS_PORT": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "rca.cli.main", "serve", "--port", str(port), "--processes", "2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return port, env, server


def test_rca_serve_in_two_processes_shares_the_port_and_reads_incidents_across_them(
    graph_settings, graph_uri, graph_user, simulated
):
    import psutil

    from rca.service.client import RootCauseClient, open_channel

    incident = simulated(seed=52, n_entities=40, fault_type="datastore_outage")
    port, _env, server = _serve_in_two_processes(graph_settings, graph_uri, graph_user)
    try:
        banner = server.stdout.readline()
        assert f"gRPC on 127.0.0.1:{port} in 2 processes" in banner, banner + server.stderr.read()
        serving = [
            p
            for p in psutil.Process(server.pid).children()
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in p.net_connections("tcp"))
        ]
        assert len(serving) == 2
        request = _request_for(incident)
        answers = []
        for _ in range(16):  # a fresh connection each time: the kernel spreads them over both processes
            client = RootCauseClient(open_channel(f"127.0.0.1:{port}"), timeout_s=60)
            answers.append(client.infer(request))
            client.close()
        assert len({a.candidates[0].entity_id for a in answers}) == 1  # both processes give the same answer
        for answer in answers:  # whichever process answers, an incident answered a moment ago is readable
            client = RootCauseClient(open_channel(f"127.0.0.1:{port}"), timeout_s=60)
            assert client.get_incident(answer.incident_id).candidates[0].entity_id == answer.candidates[0].entity_id
            client.close()

        serving[0].kill()  # one serving process dies: the service stops as a whole and says so
        _out, err = server.communicate(timeout=60)
        assert server.returncode == 1 and "exited with code" in err
        assert not serving[1].is_running() or serving[1].status() == psutil.STATUS_ZOMBIE
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_rca_serve_in_two_processes_stops_cleanly_on_sigterm(graph_settings, graph_uri, graph_user):
    port, env, server = _serve_in_two_processes(graph_settings, graph_uri, graph_user)
    banner = server.stdout.readline()
    assert "in 2 processes" in banner, banner + server.stderr.read()
    taken = _rca("serve", "--port", str(port), "--processes", "2", env=env)  # the port is not silently shared
    assert taken.returncode == 2 and f"cannot bind the gRPC server to 127.0.0.1:{port}" in taken.stderr
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=90)
    assert server.returncode == 0 and "RootCause stopped" in out, err


def test_rca_serve_in_two_processes_says_why_a_serving_process_could_not_start(
    session_store, graph_settings, graph_uri, graph_user, tmp_path
):
    from rca.rank.gnn.artifact import ACTIVE_FILE

    (tmp_path / ACTIVE_FILE).write_text("no-such-version\n")  # the active model pointer names a missing version
    env = {
        **os.environ,
        **graph_env(graph_settings, graph_uri, graph_user),
        "RCA_SERVICE__METRICS_PORT": "0",
        "RCA_MODEL__DIR": str(tmp_path),
    }
    failed = _rca("serve", "--port", str(free_port()), "--processes", "2", env=env)
    assert failed.returncode == 2
    assert "serving process" in failed.stderr and "no model version 'no-such-version'" in failed.stderr
