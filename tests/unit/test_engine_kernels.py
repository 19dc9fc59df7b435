"""The compiled kernels add as numpy adds: their sums equal ndarray.sum() to the last bit.

(The walk and the symptom distances built on them are compared with their reference
formulations in test_engine_graph.py.)
"""

import numpy as np
import pytest

from rca.fast.engine_kernels import array_sum

LENGTHS = [*range(40), 127, 128, 129, 135, 136, 255, 256, 257, 263, 1000, 1023, 1024, 1031, 5000]


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e8])
def test_array_sum_is_numpys_pairwise_sum(scale):
    rng = np.random.default_rng(int(scale * 7) % 1000)
    for n in LENGTHS:
        values = rng.standard_normal(n) * scale
        assert array_sum(values) == values.sum(), n


def test_array_sum_of_signed_zeros_and_nothing_is_positive_zero():
    for values in (np.array([-0.0, -0.0]), np.zeros(0), np.full(200, -0.0)):
        got, expected = array_sum(values), values.sum()
        assert got == expected and np.signbit(got) == np.signbit(expected)


def test_array_sum_is_not_a_plain_running_sum():
    # a case where adding in turn loses what the pairwise order keeps: the test above could not
    # tell the two orders apart if they always agreed
    values = np.array([1.0] + [1e-16] * 300)
    running = 0.0
    for v in values:
        running += v
    assert array_sum(values) == values.sum() != running
