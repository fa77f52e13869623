"""The worker's per-epoch evaluation (time to target) and its weights' sketch, without a
framework: a fake model's predictions."""

from __future__ import annotations

import numpy as np
import pytest

from harness.worker.quality import SKETCH_SIZE, EpochEvaluation, count_sketch
from harness.worker.starting_points import perturbed


def _weights(seed: int, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(s).astype("float32") for s in ((3, 3, 1, 32), (50000,))]


def test_the_sketch_is_the_same_for_the_same_weights_and_linear():
    a, b = _weights(1), _weights(2)
    assert count_sketch(a).shape == (SKETCH_SIZE,)
    assert np.array_equal(count_sketch(a), count_sketch([w.copy() for w in a]))
    assert not np.array_equal(count_sketch(a), count_sketch(b))
    both = [x.astype(float) + y for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(count_sketch(both), count_sketch(a) + count_sketch(b), atol=1e-9)


def test_the_sketch_is_fixed_for_every_backend_and_run():
    # Numbers 1..6 into 4 buckets: buckets 3, 0, 3, 2, 1, 1 and signs -, -, +, +, -, +
    # (numpy's PCG64 from SKETCH_SEED, the same in every process).
    weights = [np.array([1.0, 2.0]), np.array([[3.0, 4.0], [5.0, 6.0]])]
    assert count_sketch(weights, size=4).tolist() == [-2.0, 1.0, 4.0, 2.0]


def test_the_sketch_keeps_distances_roughly():
    for seed, scale in ((1, 1.0), (3, 1e-6)):
        a = _weights(seed)
        b = [w + d for w, d in zip(a, _weights(seed + 10, scale), strict=True)]
        true = np.sqrt(sum(np.sum((x.astype(float) - y) ** 2) for x, y in zip(a, b, strict=True)))
        sketched = np.linalg.norm(count_sketch(a) - count_sketch(b))
        assert sketched / true == pytest.approx(1.0, abs=0.1)


def test_one_ulp_moves_exactly_the_first_number_to_the_next_float():
    weights = _weights(1)
    moved = perturbed(weights)
    first, before = moved[0].ravel(), weights[0].ravel()
    assert first[0] == np.nextafter(before[0], np.float32(np.inf)) and first[0] > before[0]
    assert np.array_equal(first[1:], before[1:]) and np.array_equal(moved[1], weights[1])
    assert moved[0].dtype == np.float32 and weights[0].ravel()[0] == before[0]  # a copy


class _Fake:
    """A model whose predicted classes are given per epoch."""

    def __init__(self, classes: list[list[int]]) -> None:
        self.classes = iter(classes)

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.eye(3)[next(self.classes)]

    def weights(self) -> list[np.ndarray]:
        return [np.zeros(4, "float32")]


def _evaluation(stop: bool) -> EpochEvaluation:
    x, y = np.zeros((4, 2)), np.eye(3)[[0, 1, 2, 0]]
    return EpochEvaluation(x, y, 2, 0.75, "model", stop)


def test_each_epoch_records_its_accuracy_and_the_first_that_reaches_the_target():
    fake = _Fake([[0, 0, 0, 0], [0, 1, 0, 0], [0, 1, 2, 0], [1, 1, 1, 1]])
    evaluation = _evaluation(stop=False)
    evaluation.begin()
    assert [evaluation.after_epoch(fake.predict, fake.weights) for _ in range(4)] == [False] * 4
    section = evaluation.section()
    assert section.accuracy == [0.5, 0.75, 1.0, 0.25]
    assert section.reached_epoch == 2 and not section.stopped
    assert section.reached_s == section.elapsed_s[1]
    assert section.elapsed_s == sorted(section.elapsed_s)
    classes, sketches = evaluation.trajectory()
    assert classes.dtype == np.uint8 and classes.tolist()[2] == [0, 1, 2, 0]
    assert sketches.shape == (4, SKETCH_SIZE)


def test_with_stop_at_target_it_says_stop_at_the_first_epoch_there():
    fake = _Fake([[0, 0, 0, 0], [0, 1, 0, 0]])
    evaluation = _evaluation(stop=True)
    evaluation.begin()
    assert evaluation.after_epoch(fake.predict, fake.weights) is False
    assert evaluation.after_epoch(fake.predict, fake.weights) is True
    assert evaluation.section().stopped
