"""Faster gradients for two Keras JAX ops on CPU, each a tuning knob of its own
(`pool_grad`, `conv_grad`): on an AMD EPYC with XLA's oneDNN custom calls, the pooling
gradient alone made a step 0.77x, the convolution's on top of it was slower in a first
look (issue 34).

Profiling a steady step of the seed model (jax.profiler trace mapped to the XLA dump,
2 cores) put about 50 % of it in conv2's kernel gradient (XLA lowers it as a
"backward-filter" convolution whose window is the 24x24 image, plus two transposes
feeding it) and about 19 % in max-pooling's gradient (XLA CPU rewrites select_and_scatter
into an index-tracking reduce_window and a scatter). No XLA flag changed either. Both are
replaced here with jax.custom_vjp, for the cases the seed model uses; every other call
goes to Keras's own implementation:

- max pooling, 2-D, channels_last, pool = strides, "valid", sizes dividing the image:
  under a gradient, the forward pass takes max and argmax of reshaped windows and the
  gradient goes to the first maximum of each window, as select_and_scatter sends it:
  bit-identical results. Without a gradient, XLA's own reduce_window.
- convolution, 2-D, channels_last, stride 1, dilation 1, "valid", one group: forward
  and input gradient unchanged; kernel gradient as kh*kw matrix products of shifted
  input slices (one im2col product when the input is thin): the same sums in another
  order, so float32 rounding differs (relative 1e-5 on the kernel gradient).
"""

from __future__ import annotations

import functools
from collections.abc import Collection

import jax
import jax.numpy as jnp
from jax import lax

# The Keras versions whose private `keras.src.backend.jax.nn` these were measured and
# tested against; under any other, `install` leaves Keras's own ops in place.
KERAS_VERSIONS = ("3.15.1",)
NHWC = ("NHWC", "HWIO", "NHWC")
# How often each op took the tuned path: once per trace of a function that calls it
# (jit traces a train step once), or per call when run eagerly.
CALLS = {"max_pool": 0, "conv": 0}
# Below this many input values per output position (C_in * kh * kw), one im2col product
# beats kh*kw small ones.
IM2COL_MAX = 64


def _pair(value) -> tuple[int, int] | None:
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    return value if len(value) == 2 else None


@functools.cache
def _max_pool(ph: int, pw: int):
    def windows(a):
        b, h, w, c = a.shape
        r = a.reshape(b, h // ph, ph, w // pw, pw, c).transpose(0, 1, 3, 5, 2, 4)
        return r.reshape(b, h // ph, w // pw, c, ph * pw)

    @jax.custom_vjp
    def pool(a):
        # Without a gradient (prediction), XLA's own pooling: faster than the windows.
        window = (1, ph, pw, 1)
        return lax.reduce_window(a, jnp.array(-jnp.inf, a.dtype), lax.max, window, window, "VALID")

    def forward(a):
        r = windows(a)
        # argmax takes the first maximum in row-major window order, as select_and_scatter.
        return jnp.max(r, axis=-1), (jnp.argmax(r, axis=-1), a.shape)

    def backward(saved, g):
        first, (b, h, w, c) = saved
        hot = first[..., None] == jnp.arange(ph * pw, dtype=first.dtype)
        spread = jnp.where(hot, g[..., None], jnp.zeros((), g.dtype))
        spread = spread.reshape(b, h // ph, w // pw, c, ph, pw).transpose(0, 1, 4, 2, 5, 3)
        return (spread.reshape(b, h, w, c),)

    pool.defvjp(forward, backward)
    return pool


def _conv_valid(a, k):
    return lax.conv_general_dilated(a, k, (1, 1), "VALID", dimension_numbers=NHWC)


def _kernel_gradient(a, g, kh: int, kw: int):
    b, h, w, o = g.shape
    c = a.shape[-1]
    g2 = g.reshape(-1, o)
    slices = [a[:, i : i + h, j : j + w, :] for i in range(kh) for j in range(kw)]
    if c * kh * kw <= IM2COL_MAX:
        patches = jnp.concatenate(slices, axis=-1).reshape(-1, kh * kw * c)
        return jnp.dot(patches.T, g2).reshape(kh, kw, c, o)
    return jnp.stack([jnp.dot(s.reshape(-1, c).T, g2) for s in slices]).reshape(kh, kw, c, o)


@jax.custom_vjp
def _conv(a, k):
    return _conv_valid(a, k)


def _conv_forward(a, k):
    return _conv_valid(a, k), (a, k)


def _conv_backward(saved, g):
    a, k = saved
    (input_gradient,) = jax.vjp(lambda x: _conv_valid(x, k), a)[1](g)
    return input_gradient, _kernel_gradient(a, g, k.shape[0], k.shape[1])


_conv.defvjp(_conv_forward, _conv_backward)


# The ops `install` may route, by the name a tuning setting's code gives them.
OPS = ("max_pool", "conv")


def install(keras_version: str, ops: Collection[str] = OPS) -> list[str]:
    """Route Keras's JAX `ops` (of OPS) through the versions above where they apply;
    returns what was installed (idempotent), or why nothing was: a Keras other than the
    ones measured, whose private functions may have changed."""
    if keras_version not in KERAS_VERSIONS:
        return [
            f"none: the tuned ops were measured on Keras {', '.join(KERAS_VERSIONS)} only; "
            f"Keras {keras_version} runs its own ops"
        ]
    from keras.src.backend import standardize_data_format
    from keras.src.backend.jax import nn

    installed = []
    if "max_pool" in ops and not hasattr(nn.max_pool, "harness_tuned"):
        keras_max_pool = nn.max_pool

        def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
            size = _pair(pool_size)
            step = size if strides is None else _pair(strides)
            if (
                inputs.ndim == 4
                and standardize_data_format(data_format) == "channels_last"
                and padding.lower() == "valid"
                and size is not None
                and size == step
                and inputs.shape[1] % size[0] == 0
                and inputs.shape[2] % size[1] == 0
            ):
                CALLS["max_pool"] += 1
                return _max_pool(*size)(jnp.asarray(inputs))
            return keras_max_pool(inputs, pool_size, strides, padding, data_format)

        setattr(max_pool, "harness_tuned", True)  # noqa: B010 (a function's own mark)
        nn.max_pool = max_pool
    if "max_pool" in ops:
        installed.append("max_pool: gradient by argmax (bit-identical)")
    if "conv" in ops and not hasattr(nn.conv, "harness_tuned"):
        keras_conv = nn.conv

        def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
            if (
                inputs.ndim == 4
                and standardize_data_format(data_format) == "channels_last"
                and padding.lower() == "valid"
                and _pair(strides) == (1, 1)
                and _pair(dilation_rate) == (1, 1)
                and kernel.shape[2] == inputs.shape[-1]
            ):
                CALLS["conv"] += 1
                k = jnp.asarray(kernel)
                return _conv(jnp.asarray(inputs, dtype=k.dtype), k)
            return keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)

        setattr(conv, "harness_tuned", True)  # noqa: B010 (a function's own mark)
        nn.conv = conv
    if "conv" in ops:
        installed.append("conv: kernel gradient by shifted matmuls (float rounding differs)")
    return installed
