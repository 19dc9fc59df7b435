"""Which features and rule findings moved a candidate's score most: gradient x input attribution.

For a candidate entity, the gradient of its root-cause logit with respect to its own features,
times their distance from an average training entity, says how much each feature pushed it up
or down (with what its neighbours told it held fixed). The combination's own terms (rule findings,
propagation consistency) are added exactly, since they enter the final score linearly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from rca.rank.types import Finding

if TYPE_CHECKING:
    from rca.rank.gnn.model import RcaGnn

ATTRIBUTION_RULE = "model_attribution"
SHOWN = 3


def readable(feature: str) -> str:
    """A feature column as words ("rule_crash_loop_or_oom" -> "rule finding: crash loop or oom")."""
    if feature.startswith("rule_") and feature != "rule_max":
        return "rule finding: " + feature[5:].replace("_", " ")
    return {
        "rule_max": "strongest rule finding",
        "gnn": "graph model score",
        "engine_logit": "rules-and-propagation score",
    }.get(feature, feature.replace("_", " "))


def own_path_gradient(network: RcaGnn, own: np.ndarray, messages: list[np.ndarray]) -> np.ndarray:
    """d local logit / d features of each row, with each layer's incoming messages held fixed (autograd)."""
    dtype = next(network.parameters()).dtype
    xs = torch.from_numpy(own).to(dtype).requires_grad_(True)
    with torch.enable_grad():
        logits = network.local_logits(xs, [torch.from_numpy(m).to(dtype) for m in messages])
        (grad,) = torch.autograd.grad(logits.sum(), xs)
    return grad.numpy().astype(np.float64)


def gradient_attribution(
    gradient: Callable[[np.ndarray, list[np.ndarray]], np.ndarray],
    mean: np.ndarray,
    x: torch.Tensor,
    messages: list[torch.Tensor],
    rows: list[int],
    names: list[str],
) -> dict[int, list[tuple[str, float]]]:
    """Per candidate row: (feature, contribution) sorted by absolute size.

    `gradient` takes the rows' features and incoming messages and returns d logit / d features
    through the candidate's own path (encoder, residuals, scorer), the messages its neighbours sent
    held fixed; `mean` is the network's feature mean (the average training entity).
    """
    own = x.numpy()[rows].astype(np.float64)
    grad = gradient(own, [m.numpy()[rows].astype(np.float64) for m in messages])
    contrib = (grad * (own - mean)).tolist()
    return {row: sorted(zip(names, c), key=lambda nc: -abs(nc[1])) for row, c in zip(rows, contrib)}


def attribution_findings(
    entity_ids: list[str], contributions: dict[str, list[tuple[str, float]]], at: float
) -> list[Finding]:
    """One evidence item per candidate naming what raised and what lowered its score most."""
    findings = []
    for entity in entity_ids:
        items = [(n, v) for n, v in contributions.get(entity, []) if abs(v) >= 0.05][:SHOWN]
        if not items:
            continue
        text = "model: " + "; ".join(
            f"{readable(n)} {'raised' if v > 0 else 'lowered'} the score ({v:+.2f})" for n, v in items
        )
        strength = min(1.0, sum(abs(v) for _, v in items) / 5.0)
        findings.append(Finding(ATTRIBUTION_RULE, entity, round(strength, 4), text, at))
    return findings


def attribution_sentence(name: str, contributions: list[tuple[str, float]]) -> str:
    """One plain-language sentence about the top candidate's strongest drivers."""
    up = [readable(n) for n, v in contributions if v > 0.05][:SHOWN]
    down = [readable(n) for n, v in contributions if v < -0.05][:1]
    if not up:
        return ""
    text = f"The model ranked {name} first mostly because of {', '.join(up)}"
    return text + (f", despite {down[0]}." if down else ".")
