"""The GNN: deterministic training, artifacts refusing other feature schemas, the shipped model, attribution."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rca.rank.baselines import AnomalyMagnitudeRanker, PageRankRanker
from rca.rank.engine import engine_of, model_engine
from rca.rank.gnn.artifact import SHIPPED_DEFAULT, ArtifactError, Registry, load
from rca.rank.gnn.attribution import ATTRIBUTION_RULE
from rca.rank.gnn.serving import FEATURE_NAMES, GnnRanker
from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator import simulate
from rca.simulator.suite import IncidentSpec, suite
from rca.training.gnn import TrainSettings
from rca.training.pipeline import train_artifact
from rca.training.samples import simulate_samples

TINY = TrainSettings(hidden=8, max_epochs=2, patience=2, batch_incidents=4)


@pytest.fixture(scope="module")
def tiny_data():
    rules = default_rule_engine()
    names, train_set = simulate_samples(
        [
            IncidentSpec(2_000_000 + k, 20, f)
            for k in range(2)
            for f in ("latency", "datastore_outage", "host_failure", "bad_deploy")
        ],
        rules,
    )
    _, val_set = simulate_samples([IncidentSpec(1_000_000, 20, f) for f in ("latency", "crash", "errors")], rules)
    return names, train_set, val_set


def test_two_short_runs_with_one_seed_give_identical_weights_and_metrics(tiny_data):
    names, train_set, val_set = tiny_data
    a = train_artifact(TINY, names, train_set, val_set, progress=False)
    b = train_artifact(TINY, names, train_set, val_set, progress=False)
    assert a.state.keys() == b.state.keys()
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
    assert a.metrics["validation"] == b.metrics["validation"] and a.version == b.version
    c = train_artifact(dataclasses.replace(TINY, seed=TINY.seed + 1), names, train_set, val_set, progress=False)
    assert any(not torch.equal(a.state[k], c.state[k]) for k in a.state)  # the seed matters


def test_artifact_of_another_feature_schema_is_refused(tiny_data, tmp_path):
    names, train_set, val_set = tiny_data
    artifact = train_artifact(TINY, names, train_set, val_set, progress=False)
    path = artifact.save(tmp_path / "m.pt")
    assert artifact.feature_names == FEATURE_NAMES  # the network reads the base features only
    assert load(path, FEATURE_NAMES).version == artifact.version
    data = torch.load(path, weights_only=False)
    data["feature_schema_version"] = "0"
    torch.save(data, tmp_path / "old.pt")
    with pytest.raises(ArtifactError, match=r"feature schema 0.*retrain"):
        load(tmp_path / "old.pt", FEATURE_NAMES)
    with pytest.raises(
        ArtifactError, match=r"other feature columns.*missing \['not_a_feature'\], unknown \['names_peer'\]"
    ):
        load(path, FEATURE_NAMES[:-1] + ["not_a_feature"])


def test_registry_lists_activates_and_refuses_unknown_versions(tiny_data, tmp_path):
    names, train_set, val_set = tiny_data
    registry = Registry(tmp_path)
    artifact = train_artifact(TINY, names, train_set, val_set, progress=False)
    registry.store(artifact)
    assert registry.active_version() == Registry.shipped_version()
    registry.activate(artifact.version)
    assert registry.active_version() == artifact.version
    assert artifact.version in [v for v, _ in registry.versions()]
    with pytest.raises(ArtifactError, match="no model version 'nope'"):
        registry.activate("nope")


def test_shipped_default_model_beats_the_baselines_on_a_small_fixed_suite():
    engine = model_engine()
    assert engine.model is not None
    rankers = [engine, GnnRanker(engine.model.artifact), PageRankRanker(), AnomalyMagnitudeRanker()]
    hits = {r.name: 0 for r in rankers}
    specs = list(suite("heldout", 1, (20, 100)))
    for spec in specs:
        incident = simulate(spec.seed, spec.size, spec.fault_type)
        sub = incident.to_subgraph()
        for r in rankers:
            hits[r.name] += r.rank(sub, 1).candidates[0].entity_id == incident.root_cause_id
    best_baseline = max(hits["pagerank"], hits["anomaly-magnitude"])
    assert hits["engine"] > best_baseline and hits["gnn"] > best_baseline, hits
    assert engine.versions["model"] == load(SHIPPED_DEFAULT).version


def test_engine_explains_with_attribution_and_embeds_the_incident():
    engine = model_engine()
    assert engine.model is not None
    incident = simulate(3, 60, "datastore_outage")
    result = engine.rank(incident.to_subgraph(), 5)
    top = result.candidates[0].entity_id
    attributions = [f for f in result.findings if f.rule == ATTRIBUTION_RULE]
    assert {f.entity_id for f in attributions} >= {top}
    assert any(word in attributions[0].text for word in ("raised", "lowered"))
    assert "The model ranked" in result.explanation
    assert len(result.embedding) == 2 * 2 * engine.model.artifact.hyper["hidden"]
    assert abs(sum(v * v for v in result.embedding) - 1.0) < 1e-3
    assert result.versions["model"].startswith("gnn-")
    assert abs(sum(c.score for c in engine.rank(incident.to_subgraph(), 1000).candidates) - 1.0) < 1e-3


def test_engine_refuses_a_model_without_composition(tiny_data):
    names, train_set, val_set = tiny_data
    mlp = train_artifact(dataclasses.replace(TINY, kind="mlp"), names, train_set, val_set, progress=False)
    with pytest.raises(ArtifactError, match="no composition"):
        engine_of(mlp)
    assert GnnRanker(mlp).name == "diag-mlp"
    assert FEATURE_NAMES == mlp.feature_names
