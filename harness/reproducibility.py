"""Identical starting points for every backend, drawn with numpy, and their digests.

Each backend has its own random number generator, so the same seed gives different
initial weights and shuffles on TensorFlow, JAX and PyTorch. The harness draws both
itself: initial weights from Keras's own distributions (a "weight plan" describes each
variable's initializer), and one permutation of the training set per epoch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

WEIGHTS_STREAM, BATCHES_STREAM = 0, 1


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fan computation: a conv kernel is (..., input_depth, depth)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def draw(entry: dict, rng: np.random.Generator) -> np.ndarray:
    """One variable's initial value from its plan entry:
    {"shape": [...], "initializer": "variance_scaling", "scale", "mode", "distribution"}
    or {"shape": [...], "initializer": "constant", "value": v}."""
    shape = tuple(entry["shape"])
    kind = entry["initializer"]
    if kind == "constant":
        return np.full(shape, entry["value"], dtype="float32")
    if kind != "variance_scaling":
        raise ValueError(
            f"unsupported initializer {kind!r} (supported: variance_scaling, constant)"
        )
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[entry["mode"]]
    scale = entry["scale"] / max(1.0, n)
    distribution = entry["distribution"]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape).astype("float32")
    if distribution == "untruncated_normal":
        return rng.normal(0.0, math.sqrt(scale), shape).astype("float32")
    if distribution == "truncated_normal":
        # Keras divides by the standard deviation of a unit normal truncated at +-2.
        stddev = math.sqrt(scale) / 0.87962566103423978
        values = rng.normal(0.0, 1.0, shape)
        outside = np.abs(values) > 2.0
        while outside.any():
            values[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
            outside = np.abs(values) > 2.0
        return (values * stddev).astype("float32")
    raise ValueError(f"unsupported distribution {distribution!r}")


def initial_weights(plan: list[dict], seed: int) -> list[np.ndarray]:
    """Every variable's initial value, drawn in plan order from one stream of `seed`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, WEIGHTS_STREAM]))
    return [draw(entry, rng) for entry in plan]


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch `epoch` visits the `n` training images; each epoch has
    its own stream, so any epoch's order can be drawn without the ones before it."""
    return np.random.default_rng(np.random.SeedSequence([seed, BATCHES_STREAM, epoch])).permutation(
        n
    )


def batch_plan(seed: int, epochs: int, n: int, batch: int) -> list[np.ndarray]:
    """Every epoch's batches, in order: epoch e visits the `n` training images in the
    permutation `batch_order(seed, e, n)`, `batch` after `batch` (the last may be short)."""
    plan = []
    for epoch in range(epochs):
        order = batch_order(seed, epoch, n)
        plan += [order[k : k + batch] for k in range(0, n, batch)]
    return plan


def served_digest(served: dict[int, np.ndarray], epochs: int, steps: int) -> str:
    """The batch-order digest of the batches a feed served, by position in the plan:
    each epoch's batches joined in step order, so that it equals the digest of the epoch
    permutations exactly when every batch of the plan was served."""
    per_epoch = []
    for e in range(epochs):
        parts = [served[k] for k in range(e * steps, (e + 1) * steps) if k in served]
        per_epoch.append(np.concatenate(parts) if parts else np.empty(0, np.int64))
    return digest(per_epoch)


def digest(arrays: Iterable[np.ndarray]) -> str:
    """SHA-256 over the shapes, dtypes and bytes of `arrays`, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


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
PARITY_TOLERANCES = {
    # Measured: 1.2e-7 to 2.1e-7 between any two backends, float32 rounding of softmax
    # outputs; a real difference in the model (a layer, an activation) is orders larger.
    "forward_max_abs": 1e-6,
    # Measured: every pair's training loss agrees to 3.7e-6 or better over the first 10
    # steps (step 1 is identical), then rounding differences grow through Adadelta's
    # updates (learning rate 1.0) and the pairs part beyond 1e-4 at steps 14 to 23,
    # reaching 7e-4 to 8e-3 by step 50.
    "loss_rel": 1e-4,
    # The anchor rows (MNIST, seed 1, batch 500, 2 threads, tf_keras 2.21.0, optax
    # 0.2.8), each against Keras 3 on its framework: outputs 0 (JAX, TensorFlow native
    # and Keras 2: the same kernels) and 1.8e-7 (torch native); losses within 1.2e-7
    # (JAX native, Keras 2) and 3.0e-6 (TensorFlow and torch native: their own
    # cross-entropy of logits) over the first 10 steps, parting beyond 1e-4 at steps
    # 14 (TensorFlow, torch native), 29 (Keras 2) and 31 (JAX native), 0.9e-3 to 1.7e-3
    # by step 50. The same tolerances hold for them.
    # So the backends must agree within loss_rel for at least this many steps.
    "steps_in_agreement": 10,
}


def parity_pairs(names: list[str], anchors: dict[str, str]) -> list[tuple[str, str]]:
    """Which probes parity compares: every two of those that are no anchor, and each
    anchor (a native implementation, Keras 2) with the Keras 3 probe it anchors."""
    plain = sorted(n for n in names if n not in anchors)
    pairs = [(a, b) for i, a in enumerate(plain) for b in plain[i + 1 :]]
    return pairs + sorted((anchors[n], n) for n in names if n in anchors)


def parity(probes: dict[str, dict[str, np.ndarray]], anchors: dict | None = None) -> list[dict]:
    """Comparison of parity probes, pair by pair (`parity_pairs`; `anchors`: anchor
    probe -> its Keras 3 probe): forward outputs of the untrained model, and the
    relative difference of the training loss at each step."""
    pairs = []
    for a, b in parity_pairs(list(probes), anchors or {}):
        pa, pb = probes[a], probes[b]
        la, lb = pa["losses"], pb["losses"]
        rel = np.abs(la - lb) / np.maximum(np.maximum(np.abs(la), np.abs(lb)), 1e-12)
        beyond = np.flatnonzero(rel > PARITY_TOLERANCES["loss_rel"])
        forward = float(np.max(np.abs(pa["outputs"] - pb["outputs"])))
        pairs.append(
            {
                "backends": [a, b],
                "forward_max_abs": forward,
                "loss_rel": rel.tolist(),
                "loss_rel_max": float(rel.max()),
                "first_step_beyond": int(beyond[0]) + 1 if beyond.size else None,
                "within_tolerance": bool(
                    forward <= PARITY_TOLERANCES["forward_max_abs"]
                    and (not beyond.size or beyond[0] >= PARITY_TOLERANCES["steps_in_agreement"])
                ),
            }
        )
    return pairs
