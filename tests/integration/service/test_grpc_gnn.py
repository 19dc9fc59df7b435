"""The GNN engine behind the real gRPC service and graph: model version, concurrency, similar incidents, feedback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rca.rank.engine import model_engine
from rca.service.stubs import pb
from tests.integration.service.conftest import client_of, infer_request, serving

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gnn_engine():
    return model_engine()


@pytest.fixture(scope="module")
def gnn_service(service_store, gnn_engine):
    with serving(service_store, gnn_engine) as running:
        yield running


@pytest.fixture
def gnn_client(gnn_service):
    with client_of(gnn_service) as client:
        yield client


def _ranking(response):
    return [(c.entity_id, round(c.score, 9)) for c in response.candidates], response.explanation


def test_response_names_the_model_and_explains_with_attribution(simulated, gnn_client, gnn_engine):
    incident = simulated(101, 40, "datastore_outage")
    response = gnn_client.infer(infer_request(incident))
    assert response.versions["model"] == gnn_engine.model.version
    # the model's answer, through the graph and the service (whether it is right is bench/accuracy.py's question)
    in_memory = gnn_engine.rank(incident.to_subgraph(max_hops=3), 5)
    assert response.candidates[0].entity_id == in_memory.candidates[0].entity_id
    assert any(e.name == "model_attribution" for e in response.candidates[0].evidence)
    assert "The model ranked" in response.explanation


def test_concurrent_calls_with_the_model_answer_as_serial_ones(simulated, gnn_client):
    requests = [
        infer_request(simulated(200 + k, 30, f))
        for k, f in enumerate(("latency", "crash", "host_failure", "bad_deploy"))
    ] * 6
    serial = [_ranking(gnn_client.infer(r)) for r in requests]
    with ThreadPoolExecutor(max_workers=12) as pool:
        concurrent = list(pool.map(lambda r: _ranking(gnn_client.infer(r)), requests))
    assert concurrent == serial


def test_confirmed_incident_is_returned_as_similar_with_its_root_cause(simulated, gnn_client):
    first = simulated(301, 40, "host_failure")
    answered = gnn_client.infer(infer_request(first))
    gnn_client.feedback(
        pb.FeedbackRequest(
            incident_id=answered.incident_id,
            root_cause_entity_id=first.root_cause_id,
            verdict=pb.CONFIRMED,
            user="sre-ann",
        )
    )
    again = gnn_client.infer(infer_request(first))  # the same evidence again: its twin must come first
    assert again.similar_incidents, "no similar incident returned"
    best = again.similar_incidents[0]
    assert best.incident_id == answered.incident_id
    assert best.root_cause_entity_id == first.root_cause_id and best.similarity > 0.99
    assert best.symptoms and best.root_cause_entity_name


def _rca(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "rca.cli.main", *args],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_fine_tuning_refuses_empty_and_contradictory_feedback(
    simulated, gnn_client, graph_settings, graph_uri, graph_user, tmp_path
):
    env = {
        **os.environ,
        "NEO4J_URI": graph_uri,
        "NEO4J_USER": graph_user,
        "NEO4J_PASSWORD": graph_settings.password.get_secret_value(),
        "RCA_GRAPH__DATABASE": graph_settings.database,
        "RCA_MODEL__DIR": str(tmp_path / "models"),
        "RCA_MODEL__CACHE_DIR": str(tmp_path / "cache"),
    }
    future = str(time.time() + 10 * 365 * 86400)
    empty = _rca("train", "--with-feedback", "--since", future, env=env)
    assert empty.returncode == 2 and "no confirmed incidents" in empty.stderr, empty.stderr

    since = str(time.time() - 1)
    incident = simulated(401, 30, "crash")
    response = gnn_client.infer(infer_request(incident))
    for verdict in (pb.CONFIRMED, pb.REJECTED, pb.CONFIRMED):  # the same root cause confirmed and rejected
        gnn_client.feedback(
            pb.FeedbackRequest(
                incident_id=response.incident_id,
                verdict=verdict,
                user="bob",
                root_cause_entity_id=incident.root_cause_id,
            )
        )
    contradictory = _rca("train", "--with-feedback", "--since", since, env=env)
    assert contradictory.returncode == 2
    assert f"{response.incident_id}: {incident.root_cause_id} was both confirmed and rejected" in contradictory.stderr
    assert not (tmp_path / "models" / "ACTIVE").exists()


def test_a_confirmed_incident_becomes_a_training_sample_with_the_features_the_engine_saw(
    simulated, gnn_client, gnn_engine, service_store
):
    import numpy as np

    from rca.rank.gnn.serving import FEATURE_NAMES
    from rca.training.feedback import read_confirmed, sample_from_row

    since = time.time() - 1
    incident = simulated(501, 40, "datastore_outage")
    response = gnn_client.infer(infer_request(incident))
    gnn_client.feedback(
        pb.FeedbackRequest(
            incident_id=response.incident_id,
            verdict=pb.CONFIRMED,
            user="sre-cy",
            root_cause_entity_id=incident.root_cause_id,
        )
    )
    row = next(r for r in read_confirmed(service_store, since) if r["id"] == response.incident_id)
    sample = sample_from_row(row, FEATURE_NAMES)
    assert sample.node_ids[sample.y] == incident.root_cause_id
    seen = gnn_engine.rank(incident.to_subgraph(max_hops=3), 5).feature_table  # the engine on the same evidence
    assert sorted(sample.node_ids) == sorted(seen.node_ids)
    for entity in (incident.root_cause_id, response.candidates[-1].entity_id):
        stored = sample.x[sample.node_ids.index(entity)]
        computed = np.array([seen.value(entity, name) if name in seen.columns else 0.0 for name in FEATURE_NAMES])
        assert np.allclose(stored, computed, atol=1e-5), entity
