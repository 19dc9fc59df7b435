"""Distillation (rca.training.distil): the loss with teacher logits, averaged weights, and students that
learn the teachers' ranking, on a handful of simulated 20-entity incidents."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rca.rank.gnn.model import incident_log_softmax
from rca.rank.gnn.serving import load_artifact
from rca.rank.rules.evaluate import default_rule_engine
from rca.training.distil import average_weights, distil, distil_settings, scratch_settings, with_teacher_logits
from rca.training.gnn import TrainSettings, collate, loss_of
from rca.training.pipeline import model_view
from rca.training.samples import cached_suite


@pytest.fixture(scope="module")
def suite():
    """(names, samples): one simulated incident per fault type on 20-entity estates (full analysed tables)."""
    return cached_suite(None, "training", 1, (20,), default_rule_engine(), progress=False)


@pytest.fixture
def pinned_torch():
    """Training pins torch's threads and determinism; leave the process as the other tests found it."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def _perturbed(artifact, seed: int, scale: float = 0.3):
    """The artifact with noise added to every weight: a teacher that ranks otherwise than `artifact`."""
    generator = torch.Generator().manual_seed(seed)
    state = {
        k: v + scale * torch.randn(v.shape, generator=generator) if v.is_floating_point() and "scale" not in k else v
        for k, v in artifact.state.items()
    }
    return dataclasses.replace(artifact, state=state, version="")


def _divergence(teacher, student, samples) -> float:
    """Mean KL divergence of the student's per-incident softmax from the teacher's."""
    b = collate(samples)
    with torch.inference_mode():
        t = incident_log_softmax(teacher.eval()(b.x, b.edges), b.batch)
        s = incident_log_softmax(student.eval()(b.x, b.edges), b.batch)
    return float((t.exp() * (t - s)).sum()) / len(samples)


def test_the_loss_blends_the_teachers_ranking_with_the_truth(suite):
    names, samples = suite
    model = load_artifact().model().eval()
    seen = model_view(samples, names)
    plain = collate(seen)
    taught = collate(with_teacher_logits(seen, [model]))  # the teacher is the model itself
    with torch.inference_mode():
        truth = float(loss_of(model, plain))
        assert float(loss_of(model, taught, 0.0)) == pytest.approx(truth)
        # agreeing with the teacher costs nothing: only the truth's share remains
        assert float(loss_of(model, taught, 0.7)) == pytest.approx(0.3 * truth, rel=1e-4)
        other = collate(with_teacher_logits(seen, [_perturbed(load_artifact(), 1).model()]))
        assert float(loss_of(model, other, 0.7)) > 0.3 * truth + 1e-3


def test_teacher_logits_are_the_mean_of_the_teachers(suite):
    names, samples = suite
    a, b = _perturbed(load_artifact(), 1).model(), _perturbed(load_artifact(), 2).model()
    seen = model_view(samples, names)[:2]
    both = with_teacher_logits(seen, [a, b])
    only_a, only_b = with_teacher_logits(seen, [a]), with_teacher_logits(seen, [b])
    for mean, x, y in zip(both, only_a, only_b):
        assert mean.teacher.shape == (len(mean.x),)
        assert torch.allclose(torch.from_numpy(mean.teacher), torch.from_numpy((x.teacher + y.teacher) / 2), atol=1e-5)


def test_averaged_weights_are_the_mean_of_the_networks():
    a, b = _perturbed(load_artifact(), 1).model(), _perturbed(load_artifact(), 2).model()
    mean = average_weights([a, b])
    for name, value in mean.state_dict().items():
        assert torch.allclose(value, (a.state_dict()[name] + b.state_dict()[name]) / 2, atol=1e-6), name


def test_students_learn_the_teachers_ranking_and_the_artifact_says_whose(suite, pinned_torch):
    names, samples = suite
    active = load_artifact()
    teacher = _perturbed(active, 3, scale=0.1)
    settings = distil_settings(TrainSettings(max_epochs=6))
    artifact = distil(active, [teacher], names, samples, samples, settings, students=2, progress=False)
    seen = model_view(samples, names)
    before = _divergence(teacher.model(), active.model(), seen)
    after = _divergence(teacher.model(), artifact.model(), seen)
    assert after < 0.8 * before, (before, after)
    assert artifact.parent == active.version and artifact.version != active.version
    assert artifact.settings["teachers"] == [teacher.version] and artifact.settings["students"] == 2
    assert [s["seed"] for s in artifact.metrics["students"]] == [7, 8]
    assert artifact.settings["lr"] == pytest.approx(TrainSettings().lr / 3)
    assert artifact.combination["names"]  # the composition was fitted with the averaged network


def test_distil_refuses_no_students(suite):
    names, samples = suite
    with pytest.raises(ValueError, match="students must be at least 1"):
        distil(load_artifact(), [load_artifact()], names, samples, samples, TrainSettings(), students=0)


def test_an_ablation_beside_a_distilled_model_trains_from_scratch_with_the_committed_pace():
    committed = TrainSettings()
    trained = dataclasses.asdict(dataclasses.replace(committed, seed=12, lr=0.002, max_epochs=30))
    # a model trained from scratch: its own settings are the recipe
    assert scratch_settings(trained, kind="mlp") == dataclasses.replace(
        committed, seed=12, lr=0.002, max_epochs=30, kind="mlp"
    )
    # a distilled one recorded its students' fine-tuning (a third of the rate, at most 10 epochs)
    distilled = {**dataclasses.asdict(distil_settings(dataclasses.replace(committed, seed=12))), "teachers": ["a", "b"]}
    assert scratch_settings(distilled, kind="mlp") == dataclasses.replace(committed, seed=12, kind="mlp")
