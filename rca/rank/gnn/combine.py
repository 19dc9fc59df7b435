"""The final score: GNN log-probability, rule findings and propagation consistency, combined.

The combination is a conditional logit over a few per-entity terms (the GNN's log-probability,
the rules-and-propagation engine's logit, the strongest rule finding, the propagation
consistency score), fitted by maximum likelihood on the validation split of simulator
incidents (never the benchmark's held-out suite), so its weights are learned, not hand-picked.
"""

from __future__ import annotations

import numpy as np
import torch

from rca.training.calibrate import fit
from rca.rank.combined import Weights
from rca.rank.gnn.data import Sample
from rca.training.gnn import tensors

TERMS = ("gnn", "engine_logit", "rule_max", "propagation_score")
L2 = 0.01


def terms(gnn_logits: np.ndarray, matrix: np.ndarray, names: list[str], base: Weights) -> np.ndarray:
    """(entities, len(TERMS)) matrix of the combination's inputs."""
    col = {n: j for j, n in enumerate(names)}
    z = gnn_logits - gnn_logits.max()
    gnn_logp = z - np.log(np.exp(z).sum())
    engine_logit = matrix[:, [col[n] for n in base.names]] @ base.values
    return np.column_stack([gnn_logp, engine_logit - engine_logit.max(), matrix[:, col["rule_max"]],
                            matrix[:, col["propagation_score"]]])


def combined_logits(t: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Final logits of every entity."""
    return t @ weights


@torch.inference_mode()
def fit_combination(model: torch.nn.Module, samples: list[Sample], names: list[str], base: Weights) -> dict:
    """Weights of the terms maximising the validation likelihood of the true root causes."""
    model.eval()
    data = [(terms(model(*tensors(s)).numpy().astype(np.float64), s.x.astype(np.float64), names, base), s.y)
            for s in samples]
    w = fit(data, len(TERMS), l2=L2)
    top1 = float(np.mean([int(np.argmax(t @ w) == y) for t, y in data]))
    return {"names": list(TERMS), "weights": [round(float(v), 6) for v in w], "base_weights": base.version,
            "validation_top1": round(top1, 4), "incidents": len(data)}
