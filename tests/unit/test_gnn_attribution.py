"""The attribution's written-out gradient is the gradient autograd takes of the candidate's local logit."""

import numpy as np
import pytest
import torch

from rca.rank.gnn.artifact import SHIPPED_DEFAULT, load
from rca.rank.gnn.attribution import LocalScorer, gradient_attribution
from rca.rank.gnn.model import RcaGnn
from rca.rank.gnn.serving import FEATURE_NAMES


def _autograd_contributions(model, x, messages, rows):
    index = torch.tensor(rows)
    xs = x.index_select(0, index).clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model.local_logits(xs, [m.index_select(0, index) for m in messages])
        (grad,) = torch.autograd.grad(logits.sum(), xs)
    return (grad * (x.index_select(0, index) - model.scale.mean)).numpy()


def _shipped():
    return load(SHIPPED_DEFAULT, FEATURE_NAMES).model()


def _trained_looking(n_features):
    torch.manual_seed(3)
    model = RcaGnn(n_features).eval()
    with torch.no_grad():  # layer norms and scaling away from their initial identity
        for norm in model.norms:
            norm.weight.normal_(1.0, 0.3)
            norm.bias.normal_(0.0, 0.3)
        model.scale.mean.normal_()
        model.scale.std.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize("make", [_shipped, lambda: _trained_looking(len(FEATURE_NAMES))], ids=["shipped", "random"])
def test_written_out_gradient_equals_autograd(make):
    model = make()
    rng = np.random.default_rng(11)
    x = torch.from_numpy(rng.standard_normal((60, len(FEATURE_NAMES))).astype(np.float32) * 2)
    messages = [
        torch.from_numpy(rng.standard_normal((60, model.norms[0].weight.shape[0])).astype(np.float32))
        for _ in model.norms
    ]
    rows = [0, 7, 31, 59, 12]
    expected = _autograd_contributions(model, x, messages, rows)
    got = gradient_attribution(LocalScorer.of(model), x, messages, rows, FEATURE_NAMES)
    assert list(got) == rows
    for k, row in enumerate(rows):
        by_name = dict(got[row])
        values = np.array([by_name[name] for name in FEATURE_NAMES])
        np.testing.assert_allclose(values, expected[k], rtol=1e-4, atol=1e-5)
        assert [abs(v) for _, v in got[row]] == sorted((abs(v) for _, v in got[row]), reverse=True)
    assert np.abs(expected).max() > 0.01  # the comparison is not between two vectors of zeros
