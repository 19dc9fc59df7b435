"""The GNN's attention message passing for inference, compiled with numba (as the engine's kernels).

What `RelationalAttention.forward` does between its two projections and its output, over a
300-entity incident, is a dozen small torch operations (gathers, the grouped softmax's scatters,
an index_add) that cost the serving process about 0.4 ms per layer in dispatch alone; one
compiled loop over the edges does the same arithmetic in a few tens of microseconds. Training
and gradients keep the torch operations; this kernel serves only calls without gradients.

The floats agree with the torch path to float32 rounding, not to the last bit: the compiler may
reorder the sums (``fastmath`` reassociation, so they run in vector lanes) and torch orders its
own differently (tests/unit/test_gnn_kernels.py holds the two together).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NEGATIVE_SLOPE = np.float32(0.2)  # GATv2's leaky ReLU slope (RelationalAttention's torch path uses it too)
SOFTMAX_EPSILON = np.float32(1e-16)  # torch_geometric's softmax adds it to every group's sum


@njit(
    "float32[:, ::1](float32[:, :, ::1], float32[:, :, ::1], float32[:, :, ::1], float32[::1], int64[::1], int64[::1], "
    "int64[::1], int64[::1], int64)",
    cache=True,
    fastmath={"reassoc", "contract"},
)
def attention_messages(
    source_projection, target_projection, attention, bias, source_rows, target_rows, relations, targets, entities
):
    """Each entity's summed incoming attention messages plus the bias: (entities, hidden).

    source_projection, target_projection: (entities * relations, heads, hidden), the rows of
    lin_src(h) and lin_dst(h) per (entity, relation); attention: (relations, heads, hidden).
    source_rows, target_rows: the (entity, relation) row of each edge's source and target;
    relations: each edge's relation; targets: each edge's target entity. The softmax runs over
    the edges that share a target row (one target's incoming edges of one relation).
    """
    n_edges = source_rows.shape[0]
    heads, hidden = source_projection.shape[1], source_projection.shape[2]
    score = np.empty((n_edges, heads), dtype=np.float32)
    for e in range(n_edges):
        s, t, r = source_rows[e], target_rows[e], relations[e]
        for h in range(heads):
            total = np.float32(0.0)
            for d in range(hidden):
                v = source_projection[s, h, d] + target_projection[t, h, d]
                total += max(v, v * NEGATIVE_SLOPE) * attention[r, h, d]  # leaky ReLU
            score[e, h] = total
    groups = target_projection.shape[0]
    peak = np.full((groups, heads), -np.inf, dtype=np.float32)
    for e in range(n_edges):
        for h in range(heads):
            peak[target_rows[e], h] = max(peak[target_rows[e], h], score[e, h])
    mass = np.zeros((groups, heads), dtype=np.float32)
    for e in range(n_edges):
        for h in range(heads):
            score[e, h] = np.float32(math.exp(score[e, h] - peak[target_rows[e], h]))
            mass[target_rows[e], h] += score[e, h]
    for e in range(n_edges):  # the score becomes the attention weight, alpha
        for h in range(heads):
            score[e, h] = score[e, h] / (mass[target_rows[e], h] + SOFTMAX_EPSILON)
    out = np.zeros((entities, hidden), dtype=np.float32)
    message = np.empty(hidden, dtype=np.float32)
    for e in range(n_edges):
        s = source_rows[e]
        for d in range(hidden):
            message[d] = source_projection[s, 0, d] * score[e, 0]
        for h in range(1, heads):
            for d in range(hidden):
                message[d] += source_projection[s, h, d] * score[e, h]
        for d in range(hidden):  # the mean over heads
            out[targets[e], d] += message[d] / np.float32(heads)
    for i in range(entities):
        for d in range(hidden):
            out[i, d] += bias[d]
    return out
