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

import numpy as np

from harness.worker.native import PlannedWeight

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


def draw(entry: PlannedWeight, rng: np.random.Generator) -> np.ndarray:
    """One variable's initial value from its plan entry."""
    shape = entry.shape
    if entry.initializer == "constant":
        return np.full(shape, entry.value, dtype="float32")
    if entry.initializer != "variance_scaling":
        raise ValueError(
            f"unsupported initializer {entry.initializer!r} (supported: variance_scaling, constant)"
        )
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[entry.mode]
    scale = entry.scale / max(1.0, n)
    distribution = entry.distribution
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


def initial_weights(plan: list[PlannedWeight], seed: int) -> list[np.ndarray]:
    """Every variable's initial value, drawn in plan order from one stream of `seed`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, WEIGHTS_STREAM]))
    return [draw(entry, rng) for entry in plan]


def perturbed(weights: list[np.ndarray]) -> list[np.ndarray]:
    """`weights` with one number moved by one ulp (--perturb-init): the first number of
    the first weight in Keras's order (the seed model's first Conv2D kernel, at [0, 0, 0,
    0]), up to the next number of its dtype. A change as small as a number can make, to
    set how fast training's own instability drives two starts apart beside how fast two
    backends do."""
    first = weights[0].copy()
    first.flat[0] = np.nextafter(first.flat[0], np.array(np.inf, first.dtype))
    return [first, *weights[1:]]


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
