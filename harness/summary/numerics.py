"""How far two runs' outputs agree: their test predictions, their weights, and the
parity probes' first training steps against the tolerances measured for them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.contract.spec import System
from harness.record.parity_record import ParityPair, Tolerances


@dataclass(frozen=True)
class PredictionAgreement:
    same_class: float  # the share of images given the same class
    max_abs_diff: float  # of the class probabilities
    mean_abs_diff: float


def prediction_agreement(a: np.ndarray, b: np.ndarray) -> PredictionAgreement:
    """How far two sets of predicted class probabilities (N, classes) agree."""
    if a.shape != b.shape:
        raise ValueError(f"predictions differ in shape: {a.shape} and {b.shape}")
    diff = np.abs(a.astype("float64") - b.astype("float64"))
    return PredictionAgreement(
        same_class=float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))),
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
    )


def max_abs_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The largest element-wise difference between two lists of same-shaped arrays."""
    return max(float(np.max(np.abs(x.astype("float64") - y))) for x, y in zip(a, b, strict=True))


# Chosen from `python -m harness parity --backend tf,jax,torch` on MNIST, seed 1,
# batch 500 (keras 3.15.1, tensorflow-cpu 2.21.0, jax 0.10.2, torch 2.13.0), measured
# on 2 cores with 1 and with 2 threads.
PARITY_TOLERANCES = Tolerances(
    # Measured: 1.2e-7 to 2.1e-7 between any two backends, float32 rounding of softmax
    # outputs; a real difference in the model (a layer, an activation) is orders larger.
    forward_max_abs=1e-6,
    # Measured: every pair's training loss agrees to 3.7e-6 or better over the first 10
    # steps (step 1 is identical), then rounding differences grow through Adadelta's
    # updates (learning rate 1.0) and the pairs part beyond 1e-4 at steps 14 to 23,
    # reaching 7e-4 to 8e-3 by step 50.
    loss_rel=1e-4,
    # The anchor rows (MNIST, seed 1, batch 500, 2 threads, tf_keras 2.21.0, optax
    # 0.2.8), each against Keras 3 on its framework: outputs 0 (JAX, TensorFlow native
    # and Keras 2: the same kernels) and 1.8e-7 (torch native); losses within 1.2e-7
    # (JAX native, Keras 2) and 3.0e-6 (TensorFlow and torch native: their own
    # cross-entropy of logits) over the first 10 steps, parting beyond 1e-4 at steps
    # 14 (TensorFlow, torch native), 29 (Keras 2) and 31 (JAX native), 0.9e-3 to 1.7e-3
    # by step 50. The same tolerances hold for them.
    # So the backends must agree within loss_rel for at least this many steps.
    steps_in_agreement=10,
)


def parity_pairs(names: list[System], anchors: dict[System, System]) -> list[tuple[System, System]]:
    """Which probes parity compares: every two of those that are no anchor, and each
    anchor (a native implementation, Keras 2) with the Keras 3 probe it anchors."""
    plain = sorted(n for n in names if n not in anchors)
    pairs = [(a, b) for i, a in enumerate(plain) for b in plain[i + 1 :]]
    return pairs + sorted((anchors[n], n) for n in names if n in anchors)


@dataclass(frozen=True)
class Probe:
    """A parity probe's answer: the untrained model's outputs on the test set, and the
    training loss of each step."""

    outputs: np.ndarray
    losses: np.ndarray


def parity(
    probes: dict[System, Probe], anchors: dict[System, System] | None = None
) -> list[ParityPair]:
    """Comparison of parity probes, pair by pair (`parity_pairs`; `anchors`: anchor
    probe -> its Keras 3 probe): forward outputs of the untrained model, and the
    relative difference of the training loss at each step."""
    pairs = []
    for a, b in parity_pairs(list(probes), anchors or {}):
        pa, pb = probes[a], probes[b]
        la, lb = pa.losses, pb.losses
        rel = np.abs(la - lb) / np.maximum(np.maximum(np.abs(la), np.abs(lb)), 1e-12)
        beyond = np.flatnonzero(rel > PARITY_TOLERANCES.loss_rel)
        forward = float(np.max(np.abs(pa.outputs - pb.outputs)))
        pairs.append(
            ParityPair(
                backends=[a, b],
                forward_max_abs=forward,
                loss_rel=rel.tolist(),
                loss_rel_max=float(rel.max()),
                first_step_beyond=int(beyond[0]) + 1 if beyond.size else None,
                within_tolerance=bool(
                    forward <= PARITY_TOLERANCES.forward_max_abs
                    and (not beyond.size or beyond[0] >= PARITY_TOLERANCES.steps_in_agreement)
                ),
            )
        )
    return pairs
