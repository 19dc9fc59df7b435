"""From simulator suites to a saved artifact: data, training, validation metrics, combination."""

from __future__ import annotations

import time
from pathlib import Path

from rca.rank.combined import load_weights
from rca.rank.gnn.artifact import Artifact
from rca.rank.gnn.combine import fit_combination
from rca.rank.gnn.data import Sample, cached_suite, schema_id
from rca.training.gnn import TrainSettings, metrics_of, ranks, train
from rca.rank.rules.evaluate import default_rule_engine
from rca.simulator.suite import SUITE_SEED_BASE


def simulator_data(settings: TrainSettings, cache_dir: Path | None,
                   progress: bool = True) -> tuple[list[str], list[Sample], list[Sample]]:
    """Feature names, training and validation samples (cached on disk between runs)."""
    rules = default_rule_engine()
    names, train_set = cached_suite(cache_dir, "training", settings.train_per_cell, tuple(settings.train_sizes), rules,
                                    progress=progress)
    _, val_set = cached_suite(cache_dir, "validation", settings.val_per_cell, tuple(settings.val_sizes), rules,
                              progress=progress)
    return names, train_set, val_set


def combined_metrics(model, combination: dict, samples: list[Sample], names: list[str]) -> dict:
    """AC@1/AC@3/Avg@5 of the combined score on samples."""
    import numpy as np
    import torch

    from rca.rank.gnn.combine import combined_logits, terms
    from rca.training.gnn import tensors
    base, w = load_weights(), np.array(combination["weights"])
    out = []
    with torch.inference_mode():
        for s in samples:
            z = combined_logits(terms(model(*tensors(s)).numpy().astype(np.float64), s.x.astype(np.float64), names, base), w)
            out.append(int((z > z[s.y]).sum()) + 1)
    return metrics_of(out)


def train_artifact(settings: TrainSettings, names: list[str], train_set: list[Sample], val_set: list[Sample],
                   progress: bool = True, init=None, parent: str = "", extra_settings: dict | None = None) -> Artifact:
    """Train, fit the combination on validation, and package everything as an artifact."""
    model, history = train(train_set, val_set, settings, init=init, progress=progress)
    combination = fit_combination(model, val_set, names, load_weights()) if settings.kind == "gnn" else {}
    metrics = {"validation": metrics_of(ranks(model, val_set)), "best_epoch": history["best_epoch"],
               "epochs_run": history["epochs_run"], "history": history["history"]}
    if combination:
        metrics["validation_combined"] = combined_metrics(model, combination, val_set, names)
    return Artifact(
        kind=settings.kind, hyper=settings.hyper(), state={k: v.clone() for k, v in model.state_dict().items()},
        feature_names=list(names), schema_id=schema_id(names),
        settings={**settings.as_dict(), "data_seed_base": {"training": SUITE_SEED_BASE["training"],
                                                            "validation": SUITE_SEED_BASE["validation"]},
                  "training_incidents": len(train_set), "validation_incidents": len(val_set), **(extra_settings or {})},
        metrics=metrics, combination=combination, parent=parent, created_at=time.time())
