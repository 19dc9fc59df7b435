"""The root-cause GNN and its topology-agnostic ablation (DiagMLP).

RcaGnn: standardised features -> linear encoder -> two layers of attention message passing over
the typed, directed subgraph (GATv2-style attention with its own parameters per relation and per
direction, summed per layer, with a residual) -> one logit per entity. A softmax over the entities
of one incident gives the probability of each being the root cause. The incident embedding is the
probability-weighted mean of the final entity states next to their plain mean: what the model
looked at, and the context.

DiagMLP (Gao et al. 2025): the same features through an MLP of similar size that never sees an
edge, so the benchmark can tell what message passing adds.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import softmax as group_softmax

from rca import fast
from rca.fast.gnn_attention import NEGATIVE_SLOPE, attention_messages
from rca.rank.gnn.data import RELATIONS


class _Standardise(nn.Module):
    """Feature standardisation with statistics fixed at training time (saved with the weights)."""

    # buffers (register_buffer), declared so that type checkers know them as tensors
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class RelationalAttention(nn.Module):
    """GATv2 attention per relation and direction, all relations in one pass (RGAT style).

    Every relation has its own source and target projections and attention vector; the softmax
    runs over one target's incoming edges of one relation (as a GATv2Conv per relation would),
    and the relations' messages are summed. One fused pass instead of a module per relation keeps
    a 300-entity incident within a few milliseconds on one CPU thread.
    """

    def __init__(self, hidden: int, relations: int, heads: int):
        super().__init__()
        self.relations, self.heads, self.hidden = relations, heads, hidden
        self.lin_src = nn.Linear(hidden, relations * heads * hidden)
        self.lin_dst = nn.Linear(hidden, relations * heads * hidden, bias=False)
        self.att = nn.Parameter(torch.empty(relations, heads, hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        nn.init.xavier_uniform_(self.att)

    def forward(self, h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        n = h.size(0)
        # rows of the (entity, relation) projections: plain gathers, cheaper than 2-D fancy indexing
        flat = (n * self.relations, self.heads, self.hidden)
        src_rel, dst_rel = src * self.relations + rel, dst * self.relations + rel
        if fast.enabled() and not torch.is_grad_enabled() and h.dtype == torch.float32:
            # serving: the same arithmetic in one compiled loop (sums in another order: float32 rounding apart)
            def rows(index: torch.Tensor) -> np.ndarray:
                return np.ascontiguousarray(index.numpy(), dtype=np.int64)

            return torch.from_numpy(
                attention_messages(
                    self.lin_src(h).view(flat).numpy(),
                    self.lin_dst(h).view(flat).numpy(),
                    self.att.detach().numpy(),
                    self.bias.detach().numpy(),
                    rows(src_rel),
                    rows(dst_rel),
                    rows(rel),
                    rows(dst),
                    n,
                )
            )
        xj = self.lin_src(h).view(flat).index_select(0, src_rel)  # (edges, heads, hidden)
        xi = self.lin_dst(h).view(flat).index_select(0, dst_rel)
        score = (F.leaky_relu(xj + xi, float(NEGATIVE_SLOPE)) * self.att.index_select(0, rel)).sum(-1)  # (edges, heads)
        alpha = group_softmax(score, dst_rel, num_nodes=n * self.relations)
        messages = (xj * alpha.unsqueeze(-1)).mean(1)
        return torch.zeros(n, self.hidden, dtype=h.dtype).index_add_(0, dst, messages) + self.bias


def stack_edges(edges: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source rows, target rows and relation ids of all typed edges (relations in RELATIONS order)."""
    parts = [(edges[r], k) for k, r in enumerate(RELATIONS) if r in edges and edges[r].shape[1]]
    if not parts:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty, empty
    index = torch.cat([e for e, _ in parts], dim=1)
    rel = torch.cat([torch.full((e.shape[1],), k, dtype=torch.long) for e, k in parts])
    return index[0], index[1], rel


class RcaGnn(nn.Module):
    """Relation- and direction-aware attention message passing that scores every entity."""

    kind = "gnn"

    def __init__(self, n_features: int, hidden: int = 32, layers: int = 2, heads: int = 2, dropout: float = 0.1):
        super().__init__()
        self.scale = _Standardise(n_features)
        self.encode = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.convs = nn.ModuleList(RelationalAttention(hidden, len(RELATIONS), heads) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def states(self, x: torch.Tensor, edges: dict[str, torch.Tensor], messages: list | None = None) -> torch.Tensor:
        """Final entity states (entities, 2*hidden): own encoding next to the message-passed one.

        When `messages` is a list, each layer's aggregated incoming messages are appended to it
        (the attribution holds them fixed to see what an entity's own features did).
        """
        h0 = self.encode(self.scale(x))
        h = h0
        src, dst, rel = stack_edges(edges)
        for conv, norm in zip(self.convs, self.norms):
            out = conv(h, src, dst, rel)
            if messages is not None:
                messages.append(out)
            h = norm(h + self.dropout(torch.relu(out)))
        return torch.cat([h0, h], dim=1)

    def local_logits(self, x_rows: torch.Tensor, messages_rows: list[torch.Tensor]) -> torch.Tensor:
        """Logits of some entities from their own features, with their incoming messages held fixed."""
        h0 = self.encode(self.scale(x_rows))
        h = h0
        for out, norm in zip(messages_rows, self.norms):
            h = norm(h + torch.relu(out))
        return self.readout(torch.cat([h0, h], dim=1))

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


# What build_model makes: an RcaGnn for kind "gnn", a DiagMLP for "mlp".
Network = RcaGnn | DiagMLP
MODEL_KINDS: dict[str, type[Network]] = {"gnn": RcaGnn, "mlp": DiagMLP}


def build_model(kind: str, n_features: int, **hyper) -> Network:
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
