"""The seed model in plain JAX: a pure function of the weights (NHWC, the layout of
Keras's weights, so they load unchanged), one jitted training step, optax's Adadelta
and softmax cross-entropy, as Keras compiles its JAX steps with XLA."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from harness.record.schema import Recipe
from models.mnist_cnn.native import POOL, SeedModel

WINDOW = (1, POOL, POOL, 1)


def conv(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    out = lax.conv_general_dilated(
        x, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return jax.nn.relu(out + bias)


def logits(weights: list[jax.Array], x: jax.Array, rate: float, key: jax.Array | None):
    k1, b1, k2, b2, k3, b3, k4, b4 = weights
    x = lax.reduce_window(conv(conv(x, k1, b1), k2, b2), -jnp.inf, lax.max, WINDOW, WINDOW, "VALID")
    if key is not None and rate:
        keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
        x = jnp.where(keep, x / (1.0 - rate), 0.0)
    x = jax.nn.sigmoid(x.reshape(x.shape[0], -1) @ k3 + b3)
    return x @ k4 + b4


class Native(SeedModel):
    data_format = "channels_last"
    jit_compile = True
    optimizer = "optax.adadelta"
    distributions = ("optax",)

    def __init__(self, input_shape, num_classes, seed, dropout=True) -> None:
        super().__init__(input_shape, num_classes, seed, dropout)
        self.key = jax.random.key(seed)  # the dropout masks
        rate = self.dropout
        self._predict = jax.jit(lambda w, x: jax.nn.softmax(logits(w, x, rate, None)))

    def set_weights(self, arrays: list[np.ndarray]) -> None:
        self.weights = [jnp.asarray(a) for a in arrays]

    def get_weights(self) -> list[np.ndarray]:
        return [np.asarray(w) for w in self.weights]

    def compile(self, recipe: Recipe) -> None:
        a = self.adadelta(recipe)
        optimizer = optax.adadelta(a["learning_rate"], rho=a["rho"], eps=a["epsilon"])
        self.state = optimizer.init(self.weights)
        rate = self.dropout

        def step(weights, state, key, x, y):
            key, mask = jax.random.split(key)

            def loss(w):
                out = logits(w, x, rate, mask)
                return optax.softmax_cross_entropy(out, y).mean(), out

            (value, out), grads = jax.value_and_grad(loss, has_aux=True)(weights)
            updates, state = optimizer.update(grads, state, weights)
            right = jnp.mean(out.argmax(1) == y.argmax(1))
            return optax.apply_updates(weights, updates), state, key, value, right

        # The weights and the optimizer's state are updated in place, as Keras's are.
        self._step = jax.jit(step, donate_argnums=(0, 1))

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        self.weights, self.state, self.key, loss, right = self._step(
            self.weights, self.state, self.key, x, y
        )
        return float(loss), float(right)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._predict(self.weights, x))
