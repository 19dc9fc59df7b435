"""The learned rows of bench/accuracy.py: the engine (composed with the model), GNN alone, DiagMLP ablation,
and verdicts."""

from __future__ import annotations

from pathlib import Path

from rca.rank.engine import model_engine
from rca.rank.gnn.artifact import SHIPPED_DEFAULT, load
from rca.rank.gnn.serving import FEATURE_NAMES, GnnRanker


def diag_mlp_artifact(path: Path | None, cache_dir: Path | None):
    """The DiagMLP ablation: the given artifact, or one trained here on the GNN's data and settings."""
    if path is not None:
        return load(path, FEATURE_NAMES)
    from rca.training.distil import scratch_settings
    from rca.training.pipeline import simulator_data, train_artifact

    # a distilled model's own settings are a fine-tuning's: the ablation is trained from scratch
    settings = scratch_settings(load(SHIPPED_DEFAULT, FEATURE_NAMES).settings, kind="mlp")
    names, train_set, val_set = simulator_data(settings, cache_dir)
    return train_artifact(settings, names, train_set, val_set)


def model_rankers(mlp_path: Path | None, cache_dir: Path | None) -> list:
    """The engine with the shipped model, the GNN alone, and DiagMLP."""
    gnn = load(SHIPPED_DEFAULT, FEATURE_NAMES)
    mlp = diag_mlp_artifact(mlp_path, cache_dir)
    return [model_engine(attribute=False), GnnRanker(gnn), GnnRanker(mlp, name="diag-mlp")]


def _ac1(ranks: list[int]) -> float:
    return sum(1 for r in ranks if r == 1) / (len(ranks) or 1)


def print_model_verdicts(ranks: dict, overall: dict, best_baseline: float) -> None:
    """Targets of the GNN issue, and what message passing adds over DiagMLP per fault type."""
    ac1, ac3 = overall["engine"][0], overall["engine"][1]
    per_fault = {f: _ac1(r) for f, r in ranks["engine"].items()}
    worst = min(per_fault, key=per_fault.get)
    print(
        "\nGNN vs DiagMLP (AC@1, points) per fault type: "
        + ", ".join(f"{f} {100 * (_ac1(ranks['gnn'][f]) - _ac1(ranks['diag-mlp'][f])):+.0f}" for f in ranks["gnn"])
    )
    print(
        f"GNN alone AC@1 {overall['gnn'][0]:.3f} vs DiagMLP {overall['diag-mlp'][0]:.3f}: "
        f"{100 * (overall['gnn'][0] - overall['diag-mlp'][0]):+.1f} points"
    )
    print(
        f"engine AC@1 {ac1:.3f} (target >= 0.85): {'MET' if ac1 >= 0.85 else 'NOT MET'}; "
        f"AC@3 {ac3:.3f} (target >= 0.95): {'MET' if ac3 >= 0.95 else 'NOT MET'}"
    )
    print(
        f"best baseline AC@1 {best_baseline:.3f}, lead {100 * (ac1 - best_baseline):+.1f} points (target >= +15): "
        f"{'MET' if ac1 - best_baseline >= 0.15 else 'NOT MET'}"
    )
    print(
        f"weakest fault type {worst} AC@1 {per_fault[worst]:.3f} (target >= 0.6): "
        f"{'MET' if per_fault[worst] >= 0.6 else 'NOT MET'}"
    )
    if "engine-no-model" in overall:
        print(
            f"engine without the model (rules, propagation, walk, deviation size composed) AC@1 "
            f"{overall['engine-no-model'][0]:.3f}"
        )
