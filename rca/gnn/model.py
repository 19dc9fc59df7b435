"""The root-cause GNN and its topology-agnostic ablation (DiagMLP).

RcaGnn: standardised features -> linear encoder -> two layers of attention message passing over
the typed, directed subgraph (one GATv2 attention per relation and direction, summed per layer,
with a residual) -> one logit per entity. A softmax over the entities of one incident gives the
probability of each being the root cause. The incident embedding is the probability-weighted mean
of the final entity states next to their plain mean: what the model looked at, and the context.

DiagMLP (Gao et al. 2025): the same features through an MLP of similar size that never sees an
edge, so the benchmark can tell what message passing adds.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv, HeteroConv
from torch_geometric.utils import softmax as group_softmax

from rca.gnn.data import RELATIONS

NODE = "entity"


class _Standardise(nn.Module):
    """Feature standardisation with statistics fixed at training time (saved with the weights)."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class RcaGnn(nn.Module):
    """Relation- and direction-aware attention message passing that scores every entity."""

    kind = "gnn"

    def __init__(self, n_features: int, hidden: int = 32, layers: int = 2, heads: int = 2, dropout: float = 0.1):
        super().__init__()
        self.scale = _Standardise(n_features)
        self.encode = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.convs = nn.ModuleList(
            HeteroConv({(NODE, rel, NODE): GATv2Conv(hidden, hidden, heads=heads, concat=False,
                                                     add_self_loops=False, dropout=0.0)
                        for rel in RELATIONS}, aggr="sum")
            for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def states(self, x: torch.Tensor, edges: dict[str, torch.Tensor]) -> torch.Tensor:
        """Final entity states (entities, 2*hidden): own encoding next to the message-passed one."""
        h0 = self.encode(self.scale(x))
        h = h0
        edge_dict = {(NODE, rel, NODE): e for rel, e in edges.items() if e.shape[1] > 0}
        for conv, norm in zip(self.convs, self.norms):
            if edge_dict:
                out = conv({NODE: h}, edge_dict).get(NODE)
                h = norm(h + self.dropout(torch.relu(out))) if out is not None else h
        return torch.cat([h0, h], dim=1)

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        """Logits from entity states."""
        return self.score(states).squeeze(-1)

    def forward(self, x: torch.Tensor, edges: dict[str, torch.Tensor]) -> torch.Tensor:
        """One root-cause logit per entity."""
        return self.readout(self.states(x, edges))


class DiagMLP(nn.Module):
    """The same features through an MLP that ignores the topology (the ablation row)."""

    kind = "mlp"

    def __init__(self, n_features: int, hidden: int = 64, layers: int = 3, dropout: float = 0.1, **_ignored):
        super().__init__()
        self.scale = _Standardise(n_features)
        blocks: list[nn.Module] = []
        width = n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, 1)

    def states(self, x: torch.Tensor, edges=None) -> torch.Tensor:
        """Entity states without any message passing."""
        return self.body(self.scale(x))

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        """Logits from entity states."""
        return self.head(states).squeeze(-1)

    def forward(self, x: torch.Tensor, edges=None) -> torch.Tensor:
        """One root-cause logit per entity."""
        return self.readout(self.states(x))


MODEL_KINDS = {"gnn": RcaGnn, "mlp": DiagMLP}


def build_model(kind: str, n_features: int, **hyper) -> nn.Module:
    """A fresh model of the named kind."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[kind](n_features, **hyper)


def incident_log_softmax(logits: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """log P(entity is the root cause) with the softmax taken within each incident of the batch."""
    return torch.log(group_softmax(logits, batch).clamp_min(1e-12))


def embedding(states: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """One vector per incident: attention-weighted and plain means of the entity states, unit length."""
    p = torch.softmax(logits, dim=0).unsqueeze(1)
    vec = torch.cat([(p * states).sum(0), states.mean(0)])
    return vec / vec.norm().clamp_min(1e-9)
