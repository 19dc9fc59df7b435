"""The compiled attention (serving, no gradients) gives what the torch operations (training) give."""

import numpy as np
import pytest
import torch

from rca.rank.gnn.data import RELATIONS
from rca.rank.gnn.model import RcaGnn, RelationalAttention

HIDDEN, HEADS = 32, 2


def _graph(entities: int, edges: int, seed: int):
    rng = np.random.default_rng(seed)
    src = torch.from_numpy(rng.integers(0, entities, edges))
    dst = torch.from_numpy(rng.integers(0, entities, edges))
    rel = torch.from_numpy(rng.integers(0, len(RELATIONS), edges))
    return src, dst, rel


def _both_paths(layer, h, src, dst, rel):
    with torch.enable_grad():  # the torch operations, as in training
        reference = layer(h, src, dst, rel).detach()
    with torch.inference_mode():  # the compiled loop, as in serving
        served = layer(h, src, dst, rel)
    return reference, served


@pytest.mark.parametrize("entities,edges,seed", [(300, 1200, 0), (20, 60, 1), (5, 40, 2), (7, 1, 3), (9, 0, 4)])
def test_served_attention_matches_the_torch_operations(entities, edges, seed):
    torch.manual_seed(seed)
    layer = RelationalAttention(HIDDEN, len(RELATIONS), HEADS)
    torch.nn.init.normal_(layer.bias)
    h = torch.randn(entities, HIDDEN)
    reference, served = _both_paths(layer, h, *_graph(entities, edges, seed))
    assert served.dtype == torch.float32 and served.shape == (entities, HIDDEN)
    assert torch.allclose(served, reference, rtol=1e-5, atol=1e-5)
    # entities no edge reaches get the bias alone, on both paths
    _src, dst, _rel = _graph(entities, edges, seed)
    unreached = sorted(set(range(entities)) - set(dst.tolist()))
    assert torch.equal(served[unreached], layer.bias.detach().expand(len(unreached), HIDDEN))


def test_served_attention_is_stable_for_large_scores():
    # scores in the hundreds overflow exp() unless each group's maximum is taken off first
    torch.manual_seed(5)
    layer = RelationalAttention(HIDDEN, len(RELATIONS), HEADS)
    with torch.no_grad():
        layer.att.mul_(200.0)
    h = torch.randn(40, HIDDEN) * 10
    reference, served = _both_paths(layer, h, *_graph(40, 300, 5))
    assert torch.isfinite(served).all()
    assert torch.allclose(served, reference, rtol=1e-4, atol=1e-3)


def test_served_model_scores_match_the_torch_operations():
    torch.manual_seed(6)
    model = RcaGnn(12).eval()
    x = torch.randn(120, 12)
    src, dst, rel = _graph(120, 500, 6)
    edges = {r: torch.stack([src[rel == k], dst[rel == k]]) for k, r in enumerate(RELATIONS)}
    with torch.enable_grad():
        reference = model(x, edges).detach()
    with torch.inference_mode():
        served = model(x, edges)
    assert torch.allclose(served, reference, rtol=1e-5, atol=1e-5)
    assert torch.equal(torch.argsort(served, descending=True)[:5], torch.argsort(reference, descending=True)[:5])


def test_served_attention_takes_edge_rows_that_are_views():
    # edge index rows sliced out of a larger tensor are not contiguous; the compiled loop needs them to be
    torch.manual_seed(7)
    layer = RelationalAttention(HIDDEN, len(RELATIONS), HEADS)
    h = torch.randn(30, HIDDEN)
    src, dst, rel = (t.repeat_interleave(2)[::2] for t in _graph(30, 90, 7))
    assert not src.is_contiguous()
    reference, served = _both_paths(layer, h, src, dst, rel)
    assert torch.allclose(served, reference, rtol=1e-5, atol=1e-5)
