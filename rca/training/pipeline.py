"""From simulator suites to a saved artifact: data, training, validation metrics, combination."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rca.rank.ensemble import TERMS, EnsembleWeights, compose, ranker_outputs
from rca.rank.features import FeatureTable
from rca.rank.gnn.artifact import Artifact
from rca.rank.gnn.data import Sample, schema_id
from rca.rank.gnn.serving import FEATURE_NAMES
from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator.suite import SUITE_SEED_BASE
from rca.training.calibrate import fit_composition
from rca.training.gnn import TrainSettings, metrics_of, ranks, tensors, train
from rca.training.samples import cached_suite


def simulator_data(
    settings: TrainSettings, cache_dir: Path | None, progress: bool = True
) -> tuple[list[str], list[Sample], list[Sample]]:
    """Feature names, training and validation samples (cached on disk between runs)."""
    rules = default_rule_engine()
    names, train_set = cached_suite(
        cache_dir, "training", settings.train_per_cell, tuple(settings.train_sizes), rules, progress=progress
    )
    _, val_set = cached_suite(
        cache_dir, "validation", settings.val_per_cell, tuple(settings.val_sizes), rules, progress=progress
    )
    return names, train_set, val_set


def model_view(samples: list[Sample], names: list[str]) -> list[Sample]:
    """The samples with only the columns the network reads (FEATURE_NAMES), in its order."""
    columns = [names.index(n) for n in FEATURE_NAMES]
    return [replace(s, x=s.x[:, columns]) for s in samples]


@torch.inference_mode()
def composition_data(model: torch.nn.Module, samples: list[Sample], names: list[str]) -> list[tuple[np.ndarray, int]]:
    """Every term's output per entity (the network's included) and the true root cause's row, per incident."""
    model.eval()
    data = []
    for full, seen in zip(samples, model_view(samples, names)):
        table = FeatureTable(
            list(full.node_ids) or [str(i) for i in range(len(full.x))], names, full.x.astype(np.float64)
        )
        logits = model(*tensors(seen)).numpy().astype(np.float64)
        data.append((ranker_outputs(table, TERMS, logits), full.y))
    return data


def composition_metrics(data: list[tuple[np.ndarray, int]], weights: EnsembleWeights) -> dict:
    """AC@1/AC@3/Avg@5 of the composed score."""
    ranks_ = []
    for outputs, y in data:
        z = compose(outputs, weights).logits
        ranks_.append(int((z > z[y]).sum()) + 1)
    return metrics_of(ranks_)


def train_artifact(
    settings: TrainSettings,
    names: list[str],
    train_set: list[Sample],
    val_set: list[Sample],
    progress: bool = True,
    init=None,
    parent: str = "",
    extra_settings: dict | None = None,
) -> Artifact:
    """Train the network on its columns, fit the composition on validation, and package both as an artifact.

    train_set and val_set hold the full analysed tables (`names`): the network reads its own columns,
    the composition the other rankers' outputs next to the network's.
    """
    model, history = train(
        model_view(train_set, names), model_view(val_set, names), settings, init=init, progress=progress
    )
    run = {"best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"], "history": history["history"]}
    return package(model, settings, names, len(train_set), val_set, run, parent, extra_settings)


def package(
    model: torch.nn.Module,
    settings: TrainSettings,
    names: list[str],
    training_incidents: int,
    val_set: list[Sample],
    run: dict,
    parent: str = "",
    extra_settings: dict | None = None,
) -> Artifact:
    """A trained network as an artifact: its validation figures (next to `run`'s record of the training),
    the composition fitted on validation with it, and the settings that made it."""
    metrics = {"validation": metrics_of(ranks(model, model_view(val_set, names))), **run}
    combination: dict = {}
    if settings.kind == "gnn":
        data = composition_data(model, val_set, names)
        weights = fit_composition(data, TERMS, "ensemble")
        combination = {**weights.as_dict(), "incidents": len(data)}
        metrics["validation_combined"] = composition_metrics(data, weights)
    return Artifact(
        kind=settings.kind,
        hyper=settings.hyper(),
        state={k: v.clone() for k, v in model.state_dict().items()},
        feature_names=list(FEATURE_NAMES),
        schema_id=schema_id(list(FEATURE_NAMES)),
        settings={
            **settings.as_dict(),
            "data_seed_base": {"training": SUITE_SEED_BASE["training"], "validation": SUITE_SEED_BASE["validation"]},
            "training_incidents": training_incidents,
            "validation_incidents": len(val_set),
            **(extra_settings or {}),
        },
        metrics=metrics,
        combination=combination,
        parent=parent,
        created_at=time.time(),
    )
