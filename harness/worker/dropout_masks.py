"""Dropout masks that are the same on every backend, drawn by the harness.

Each backend draws Keras's dropout masks with its own generator, so identical starting
weights and batches still train differently. With init "harness" every
keras.layers.Dropout's call is replaced, after the model is built, by one that draws
its mask from a counter-based generator: each element's bits are a hash of (the layer's
key, the step, the element's index), in 32-bit integer arithmetic that keras.ops
computes bit for bit alike on TensorFlow, JAX and PyTorch. The layer's key comes from
the run's seed and the layer's position (numpy's SeedSequence, as the other starting
points); the step is the layer's own seed state (its SeedGenerator's variable, which
Keras already carries through compiled train steps: JAX's stateless step hands it back
updated), reset to 0 and advanced once per training call.

The hash is lowbias32 (Chris Wellons's 32-bit integer hash: xor-shifts and two
multiplications, a bijection). The step's word comes from the layer's key, and each
element's index is spread over 32 bits (a Weyl sequence: times the golden ratio's odd
32-bit word) and mixed with it:

    a = h(h(step ^ k0) ^ k1);  bits(i) = h((i * G) ^ a)

so that another step's (or layer's) mask is no shifted copy of this one, at about
fifteen integer operations per element: the mask must not slow a training step. An
element is kept when its top 24 bits are below round(keep * 2**24). torch 2.13 has no
right shift, addition or comparison on uint32 on the CPU, and JAX no 64-bit integers by
default, so the arithmetic runs on int32, whose multiplication wraps modulo 2**32 on
every backend (the same bits as uint32); a right shift is arithmetic on int32, so it is
masked to be logical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.record import schema
from harness.worker.modelinfo import all_layers

GENERATOR = "lowbias32 v2"  # v1: two rounds per element
# Reproducibility.dropout_masks of a run whose masks this module drew.
DESCRIPTION = f"{schema.HARNESS_MASKS} {GENERATOR}"
MASKS_STREAM = 2  # after starting_points' weights (0) and batches (1)
KEEP_BITS = 24
M1, M2 = 0x7FEB352D, 0x846CA68B  # lowbias32's multipliers
GOLDEN = 0x9E3779B9  # 2**32 / the golden ratio, odd


def signed(value: int) -> int:
    """A 32-bit word as the int32 with the same bits."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def layer_key(seed: int, layer: int) -> tuple[int, int]:
    """The two 32-bit key words of the `layer`-th Dropout layer of a run of `seed`, as
    int32 values."""
    words = np.random.SeedSequence([seed, MASKS_STREAM, layer]).generate_state(2, np.uint32)
    return signed(int(words[0])), signed(int(words[1]))


def shift_right(ops: Any, x: Any, k: int) -> Any:
    """The logical right shift of int32 `x` by `k` bits."""
    return ops.bitwise_and(ops.right_shift(x, const(k)), const((1 << (32 - k)) - 1))


def lowbias32(ops: Any, x: Any) -> Any:
    """lowbias32 on the int32 `x`, with `ops` (keras.ops, or numpy for the reference)."""
    x = ops.bitwise_xor(x, shift_right(ops, x, 16))
    x = ops.multiply(x, const(M1))
    x = ops.bitwise_xor(x, shift_right(ops, x, 15))
    x = ops.multiply(x, const(M2))
    return ops.bitwise_xor(x, shift_right(ops, x, 16))


def const(word: int) -> np.int32:
    """A 32-bit word as an int32 operand: an int32 with int32 gives int32 in keras.ops
    and numpy alike, where a Python int's type would be left to each library."""
    return np.int32(signed(word))


def bits(ops: Any, key: tuple[int, int], step: Any, index: Any) -> Any:
    """The 32 bits (as int32) of the elements at `index` (int32) at `step` (an int32
    scalar): the generator itself."""
    a = lowbias32(ops, ops.bitwise_xor(step, const(key[0])))
    a = lowbias32(ops, ops.bitwise_xor(a, const(key[1])))
    return lowbias32(ops, ops.bitwise_xor(ops.multiply(index, const(GOLDEN)), a))


def keep_mask(ops: Any, key: tuple[int, int], step: Any, shape: Any, rate: float) -> Any:
    """Which elements of a mask of `shape` (dimensions may be tensors) are kept at
    `step`: each with probability 1 - rate, independently of the backend."""
    size = 1
    for d in shape:
        size = size * d
    index = ops.reshape(ops.arange(size, dtype="int32"), shape)
    top = shift_right(ops, bits(ops, key, step, index), 32 - KEEP_BITS)
    return ops.less(top, const(round((1.0 - rate) * (1 << KEEP_BITS))))


def replace(keras: Any, model: Any, seed: int) -> bool:
    """Make every keras.layers.Dropout of `model` (built) draw its masks here; False if
    this Keras has no keras.ops to draw them with (Keras 2), which keeps its own."""
    if not hasattr(keras, "ops"):
        return False
    dropouts = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Dropout)]
    for position, layer in enumerate(dropouts):
        if hasattr(layer, "seed_generator"):  # Keras makes none for a rate of 0
            layer.call = harness_call(keras, layer, layer_key(seed, position))
    return True


def harness_call(keras: Any, layer: Any, key: tuple[int, int]) -> Any:
    """`layer`'s call with the harness's masks: Keras's semantics (kept with probability
    1 - rate, scaled by 1 / (1 - rate), noise_shape honoured, nothing at inference)."""
    ops = keras.ops
    state = layer.seed_generator.state
    state.assign(np.zeros(2, state.dtype))

    def call(inputs: Any, training: bool = False) -> Any:
        if not training or layer.rate <= 0:
            return inputs
        if layer.rate >= 1:
            return ops.zeros_like(inputs)
        # Spatial dropout's subclasses compute their noise shape; Dropout keeps it.
        noise = layer._get_noise_shape(inputs) if hasattr(layer, "_get_noise_shape") else None
        noise = noise or layer.noise_shape or (None,) * len(inputs.shape)
        shape = [ops.shape(inputs)[i] if d is None else d for i, d in enumerate(noise)]
        step = ops.cast(layer.seed_generator.next()[1], "int32")
        keep = keep_mask(ops, key, step, shape, layer.rate)
        keep = ops.broadcast_to(keep, ops.shape(inputs))
        return ops.where(keep, inputs / (1.0 - layer.rate), ops.zeros_like(inputs))

    return call
