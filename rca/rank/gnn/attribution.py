"""Which features and rule findings moved a candidate's score most: gradient x input attribution.

For a candidate entity, the gradient of its root-cause logit with respect to its own features,
times their distance from an average training entity, says how much each feature pushed it up
or down (with what its neighbours told it held fixed). The combination's own terms (rule findings,
propagation consistency) are added exactly, since they enter the final score linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rca.rank.types import Finding

ATTRIBUTION_RULE = "model_attribution"
SHOWN = 3


def readable(feature: str) -> str:
    """A feature column as words ("rule_crash_loop_or_oom" -> "rule finding: crash loop or oom")."""
    if feature.startswith("rule_") and feature != "rule_max":
        return "rule finding: " + feature[5:].replace("_", " ")
    return {"rule_max": "strongest rule finding", "gnn": "graph model score",
            "engine_logit": "rules-and-propagation score"}.get(feature, feature.replace("_", " "))


@dataclass(frozen=True)
class LocalScorer:
    """A GNN's own-path parameters (what `RcaGnn.local_logits` uses) as float64 arrays, copied once.

    Its `gradient` is that function's gradient written out: torch's autograd took most of a
    millisecond per Infer for these few (rows, 32) products, on the serving process's
    interpreter; in numpy they cost tens of microseconds. The test holds it to autograd.
    """

    mean: np.ndarray
    std: np.ndarray
    encoder: tuple[np.ndarray, np.ndarray]  # weight, bias
    norms: tuple[tuple[np.ndarray, np.ndarray, float], ...]  # gamma, beta, eps per layer
    hidden: tuple[np.ndarray, np.ndarray]
    output: np.ndarray  # the last layer's weight (its bias does not move a gradient)

    @classmethod
    def of(cls, model: torch.nn.Module) -> LocalScorer:
        """The scorer of a model (copies: later changes to the model's weights do not reach it)."""
        def array(tensor):
            return tensor.detach().numpy().astype(np.float64)

        def linear(layer):
            return array(layer.weight), array(layer.bias)
        return cls(array(model.scale.mean), array(model.scale.std), linear(model.encode[0]),
                   tuple((array(n.weight), array(n.bias), n.eps) for n in model.norms),
                   linear(model.score[0]), array(model.score[2].weight))

    def gradient(self, own: np.ndarray, messages: list[np.ndarray]) -> np.ndarray:
        """d local logit / d features of each row, with each layer's incoming messages held fixed."""
        (encoder_w, encoder_b), (hidden_w, hidden_b) = self.encoder, self.hidden
        pre_encoding = ((own - self.mean) / self.std) @ encoder_w.T + encoder_b
        h0 = np.maximum(pre_encoding, 0.0)
        h, normalised = h0, []
        for message, (gamma, beta, eps) in zip(messages, self.norms):
            y = h + np.maximum(message, 0.0)
            centred = y - y.mean(axis=1, keepdims=True)
            inverse_std = 1.0 / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + eps)
            y_hat = centred * inverse_std
            normalised.append((y_hat, inverse_std, gamma))
            h = y_hat * gamma + beta
        pre_score = np.concatenate([h0, h], axis=1) @ hidden_w.T + hidden_b
        # backwards: the scorer, then each layer norm (the messages are constants), then the encoder
        grad_states = (self.output * (pre_score > 0)) @ hidden_w
        width = h0.shape[1]
        grad_h0, grad_h = grad_states[:, :width], grad_states[:, width:]
        for y_hat, inverse_std, gamma in reversed(normalised):
            g = grad_h * gamma
            grad_h = inverse_std * (g - g.mean(axis=1, keepdims=True) - y_hat * (g * y_hat).mean(axis=1, keepdims=True))
        return (((grad_h0 + grad_h) * (pre_encoding > 0)) @ encoder_w) / self.std


def gradient_attribution(scorer: LocalScorer, x: torch.Tensor, messages: list[torch.Tensor], rows: list[int],
                         names: list[str]) -> dict[int, list[tuple[str, float]]]:
    """Per candidate row: (feature, contribution) sorted by absolute size.

    The gradient runs through the candidate's own path (encoder, residuals, scorer) with the
    messages its neighbours sent held fixed.
    """
    own = x.numpy()[rows].astype(np.float64)
    grad = scorer.gradient(own, [m.numpy()[rows].astype(np.float64) for m in messages])
    contrib = (grad * (own - scorer.mean)).tolist()
    return {row: sorted(zip(names, c), key=lambda nc: -abs(nc[1])) for row, c in zip(rows, contrib)}


def attribution_findings(entity_ids: list[str], contributions: dict[str, list[tuple[str, float]]],
                         at: float) -> list[Finding]:
    """One evidence item per candidate naming what raised and what lowered its score most."""
    findings = []
    for entity in entity_ids:
        items = [(n, v) for n, v in contributions.get(entity, []) if abs(v) >= 0.05][:SHOWN]
        if not items:
            continue
        text = "model: " + "; ".join(f"{readable(n)} {'raised' if v > 0 else 'lowered'} the score ({v:+.2f})"
                                     for n, v in items)
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
