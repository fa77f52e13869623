"""The comparisons between rows and runs (harness/summary/comparisons.py): starting
points, run-to-run determinism, agreement across backends, accuracy against seed noise."""

import numpy as np
import pytest
from conftest import make_result

from harness.record import results
from harness.report import text
from harness.summary import comparisons


def test_starting_points_say_whether_every_backend_had_the_same_digests():
    same = [make_result(backend=b, digests=("w1", "b1", b)) for b in ("jax", "torch")]
    other = [
        make_result(backend="jax", seed=2, digests=("w2", "b2", "x")),
        make_result(backend="torch", seed=2, digests=("w3", "b2", "y")),
    ]
    points = comparisons.starting_points(same + other)
    assert [(p.seed, p.identical) for p in points] == [(1, True), (2, False)]


def test_run_to_run_differences_come_from_the_saved_arrays(tmp_path, write_result):
    weights = [np.zeros((2, 2), "float32"), np.ones(3, "float32")]
    moved = [np.zeros((2, 2), "float32"), np.array([1.0, 1.5, 1.0], "float32")]
    p1 = np.array([[0.9, 0.1], [0.2, 0.8]], "float32")
    p2 = np.array([[0.7, 0.3], [0.2, 0.8]], "float32")
    write_result(backend="torch", digests=("w", "b", "f1"), final_weights=weights, predictions=[p1])
    write_result(backend="torch", digests=("w", "b", "f2"), final_weights=moved, predictions=[p2])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    runs, _ = results.read_all(tmp_path)
    warnings = []
    rows = {d.backend: d for d in comparisons.determinism(runs, tmp_path, warnings)}
    assert warnings == []
    assert (rows["jax"].bitwise, rows["jax"].weights_max_abs) == (True, 0.0)
    assert rows["torch"].bitwise is False
    assert rows["torch"].weights_max_abs == pytest.approx(0.5)
    assert rows["torch"].predictions_max_abs == pytest.approx(0.2)


def test_agreement_across_backends_from_saved_predictions(tmp_path, write_result):
    pa = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], "float32")
    pb = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5]], "float32")
    write_result(backend="jax", accuracy=0.99, predictions=[pa])
    write_result(backend="torch", accuracy=0.98, predictions=[pb])
    write_result(backend="tensorflow", seed=2, predictions=[pa])  # no partner for seed 2
    runs, _ = results.read_all(tmp_path)
    warnings = []
    [pair] = comparisons.agreement(runs, tmp_path, warnings)
    assert warnings == []
    assert pair.backends == ("jax", "torch")
    assert pair.predictions.same_class == pytest.approx(2 / 3)
    assert pair.predictions.max_abs_diff == pytest.approx(0.3)
    assert pair.predictions.mean_abs_diff == pytest.approx((0.1 + 0.1 + 0.3 + 0.3) / 6)
    assert pair.accuracy_diff == pytest.approx(0.01)


def test_noise_compares_backends_paired_by_seed_in_plain_words():
    acc = {"jax": (0.9900, 0.9910, 0.9890), "torch": (0.9880, 0.9895, 0.9870)}
    runs = [
        make_result(backend=b, seed=seed, accuracy=a)
        for b, values in acc.items()
        for seed, a in zip((1, 2, 3), values, strict=True)
    ]
    [n] = comparisons.noise(runs)
    assert n.backends["jax"].mean == pytest.approx(0.9900)
    assert n.backends["torch"].std == pytest.approx(0.0012583, rel=1e-4)
    [t] = n.tests
    # differences 0.0020, 0.0015, 0.0020: mean 0.0018333, sd 0.00028868, t = 11.0, df 2
    assert t.test.kind == "paired" and t.test.t == pytest.approx(11.0)
    assert t.test.p == pytest.approx(0.00816, abs=1e-5)
    sentence = text.noise_sentence("jax", "torch", t.test)
    assert "+0.183 points" in sentence and "larger than the seed-to-seed spread" in sentence
