"""How far two runs agree: predictions, and the parity probes' first steps."""

import numpy as np
import pytest

from harness.summary import numerics as rp


def test_prediction_agreement_with_literal_numbers():
    a = np.array([[0.9, 0.1], [0.4, 0.6]])
    b = np.array([[0.6, 0.4], [0.55, 0.45]])
    agreement = rp.prediction_agreement(a, b)
    assert agreement.same_class == 0.5
    assert agreement.max_abs_diff == pytest.approx(0.3)
    assert agreement.mean_abs_diff == pytest.approx(0.225)


def test_parity_reports_forward_difference_and_the_first_step_that_parts():
    losses = np.linspace(2.5, 0.5, 20)
    drift = np.ones(20)
    drift[12:] = 1 + 1e-3  # parts at step 13
    probes = {
        "jax": rp.Probe(outputs=np.zeros((2, 3)), losses=losses),
        "torch": rp.Probe(outputs=np.full((2, 3), 1e-7), losses=losses * drift),
    }
    [pair] = rp.parity(probes)
    assert pair.backends == ["jax", "torch"]
    assert pair.forward_max_abs == pytest.approx(1e-7)
    assert pair.loss_rel[:12] == [0.0] * 12
    assert pair.loss_rel_max == pytest.approx(1e-3 / (1 + 1e-3))
    assert pair.first_step_beyond == 13
    assert pair.within_tolerance is True  # agreement held for the first 10 steps
    drift[5:] = 1.01
    probes["torch"] = rp.Probe(outputs=np.full((2, 3), 1e-7), losses=losses * drift)
    assert rp.parity(probes)[0].first_step_beyond == 6
    assert rp.parity(probes)[0].within_tolerance is False


def test_parity_pairs_every_two_keras_3_backends_and_each_anchor_with_its_own():
    anchors = {"torch native": "torch", "keras2": "tensorflow"}
    names = ["torch", "keras2", "tensorflow", "jax", "torch native"]
    assert rp.parity_pairs(names, anchors) == [
        ("jax", "tensorflow"), ("jax", "torch"), ("tensorflow", "torch"),
        ("tensorflow", "keras2"), ("torch", "torch native"),
    ]  # fmt: skip
    assert rp.parity_pairs(["jax", "torch"], {}) == [("jax", "torch")]
