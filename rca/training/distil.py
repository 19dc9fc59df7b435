"""Distilling several trained models into one network of the same size.

Networks trained from different seeds rank real incidents differently (docs/accuracy.md: up to
20 points AC@1 on the lab's recordings), and the mean of their logits ranks better than most of
them; but serving several networks multiplies the graph model's share of each Infer's CPU. So
the mean is taught to one network: students start from the active model's weights, learn the
teachers' mean ranking of every simulated entity (and, for a share, the true root cause), and,
since they share that start, their weights are averaged into one network (a "model soup",
Wortsman et al. 2022), which evens out what each student's seed made of the teachers.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import torch

from rca.rank.gnn.artifact import Artifact
from rca.rank.gnn.data import Sample
from rca.rank.gnn.model import Network
from rca.training.gnn import TrainSettings, tensors, train
from rca.training.pipeline import model_view, package

# The fields distil_settings changes: in a distilled artifact's recorded settings they describe its
# students' fine-tuning, not a recipe to train a network from scratch with.
FINE_TUNING_FIELDS = ("lr", "max_epochs")


def distil_settings(settings: TrainSettings) -> TrainSettings:
    """Students continue from trained weights: a third of the learning rate and at most 10 epochs."""
    return replace(settings, lr=settings.lr / 3, max_epochs=min(settings.max_epochs, 10))


def scratch_settings(recorded: dict, **overrides) -> TrainSettings:
    """The settings to train a network from scratch as the artifact that recorded `recorded` was trained
    (an ablation beside it, say): its own, except that a distilled artifact's fine-tuning fields give way
    to the committed settings'; `overrides` last."""
    fields = {k: v for k, v in recorded.items() if k in TrainSettings.__dataclass_fields__}
    if recorded.get("teachers"):
        for name in FINE_TUNING_FIELDS:
            fields.pop(name, None)
    return TrainSettings(**{**fields, **overrides})


@torch.inference_mode()
def with_teacher_logits(samples: list[Sample], teachers: list[Network]) -> list[Sample]:
    """The samples (in the networks' columns) carrying the teachers' mean logit of every entity."""
    for t in teachers:
        t.eval()
    out = []
    for s in samples:
        x, edges = tensors(s)
        mean = torch.stack([t(x, edges) for t in teachers]).mean(0)
        out.append(replace(s, teacher=mean.numpy().astype(np.float32)))
    return out


def average_weights(networks: list[Network]) -> Network:
    """One network whose parameters and buffers are the mean of the networks' (same architecture and start)."""
    states = [n.state_dict() for n in networks]
    mean = {k: (sum(s[k].double() for s in states) / len(states)).to(states[0][k].dtype) for k in states[0]}
    out = copy.deepcopy(networks[0])
    out.load_state_dict(mean)
    out.eval()
    return out


def distil(
    active: Artifact,
    teachers: list[Artifact],
    names: list[str],
    train_set: list[Sample],
    val_set: list[Sample],
    settings: TrainSettings,
    students: int,
    progress: bool = True,
    extra_settings: dict | None = None,
) -> Artifact:
    """`students` students of the teachers, started from `active` with seeds settings.seed, +1, ...; their average.

    train_set and val_set hold full analysed tables in `names` order, as for rca.training.pipeline.
    """
    if students < 1:
        raise ValueError(f"students must be at least 1, got {students}")
    taught = with_teacher_logits(model_view(train_set, names), [t.model() for t in teachers])
    seen_val = model_view(val_set, names)
    trained, runs = [], []
    for k in range(students):
        student, history = train(
            taught, seen_val, replace(settings, seed=settings.seed + k), init=active.model(), progress=progress
        )
        trained.append(student)
        runs.append(
            {"seed": settings.seed + k, "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"]}
        )
    run = {
        "students": runs,
        "best_epoch": max(r["best_epoch"] for r in runs),
        "epochs_run": max(r["epochs_run"] for r in runs),
    }
    return package(
        average_weights(trained),
        settings,
        names,
        len(train_set),
        val_set,
        run,
        parent=active.version,
        extra_settings={**(extra_settings or {}), "teachers": [t.version for t in teachers], "students": students},
    )
