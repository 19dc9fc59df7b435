"""The attribution: each feature's contribution is its own-path gradient times its distance from the mean."""

import numpy as np
import pytest
import torch

from rca.rank.gnn.artifact import SHIPPED_DEFAULT, load
from rca.rank.gnn.attribution import gradient_attribution, own_path_gradient
from rca.rank.gnn.model import RcaGnn
from rca.rank.gnn.serving import FEATURE_NAMES


def _shipped():
    return load(SHIPPED_DEFAULT, FEATURE_NAMES).model().double()  # float64: finite differences need the digits


def _trained_looking(n_features):
    torch.manual_seed(3)
    model = RcaGnn(n_features).eval()
    with torch.no_grad():  # layer norms and scaling away from their initial identity
        for norm in model.norms:
            norm.weight.normal_(1.0, 0.3)
            norm.bias.normal_(0.0, 0.3)
        model.scale.mean.normal_()
        model.scale.std.uniform_(0.5, 2.0)
    return model.double()


def _local_logits(model, own, messages):
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        return model.local_logits(
            torch.from_numpy(own).to(dtype), [torch.from_numpy(m).to(dtype) for m in messages]
        ).numpy()


@pytest.mark.parametrize("make", [_shipped, lambda: _trained_looking(len(FEATURE_NAMES))], ids=["shipped", "random"])
def test_own_path_gradient_matches_finite_differences(make):
    model = make()
    rng = np.random.default_rng(11)
    own = rng.standard_normal((5, len(FEATURE_NAMES))) * 2
    messages = [rng.standard_normal((5, model.norms[0].weight.shape[0])) for _ in model.norms]
    grad = own_path_gradient(model, own, messages)
    step = 1e-3
    for j in rng.choice(len(FEATURE_NAMES), 8, replace=False):
        up, down = own.copy(), own.copy()
        up[:, j] += step
        down[:, j] -= step
        numeric = (_local_logits(model, up, messages) - _local_logits(model, down, messages)) / (2 * step)
        np.testing.assert_allclose(grad[:, j], numeric, rtol=2e-2, atol=2e-3)
    assert np.abs(grad).max() > 0.01  # the comparison is not between two vectors of zeros


def test_contributions_are_gradient_times_distance_from_the_mean_sorted_by_size():
    model = _shipped()
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((30, len(FEATURE_NAMES))).astype(np.float32))
    messages = [
        torch.from_numpy(rng.standard_normal((30, model.norms[0].weight.shape[0])).astype(np.float32))
        for _ in model.norms
    ]
    mean = model.scale.mean.numpy().astype(np.float64)
    rows = [0, 7, 29]

    def gradient(own, msgs):
        return own_path_gradient(model, own, msgs)

    got = gradient_attribution(gradient, mean, x, messages, rows, FEATURE_NAMES)
    own = x.numpy()[rows].astype(np.float64)
    expected = gradient(own, [m.numpy()[rows].astype(np.float64) for m in messages]) * (own - mean)
    assert list(got) == rows
    for k, row in enumerate(rows):
        by_name = dict(got[row])
        np.testing.assert_allclose([by_name[n] for n in FEATURE_NAMES], expected[k], rtol=1e-9)
        assert [abs(v) for _, v in got[row]] == sorted((abs(v) for _, v in got[row]), reverse=True)
