"""The synthetic dataset (harness/datasets/synthetic.py): the same arrays at every load,
of MNIST's shapes, with every class."""

import numpy as np

from harness.datasets.synthetic import Synthetic


def test_synthetic_data_is_deterministic_and_valid():
    a, b = Synthetic().load(), Synthetic().load()
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.test.y, b.test.y)
    assert a.train.x.shape == (12000, 28, 28) and a.test.x.shape == (2000, 28, 28)
    assert set(np.unique(a.train.y)) == set(range(10))
