"""The seed model in plain TensorFlow: tf.Variables in the layout of Keras's weights
(NHWC, TensorFlow's CPU convolutions), a tf.function step with a GradientTape, and
TensorFlow's own Adadelta kernel (tf.raw_ops.ResourceApplyAdadelta); no Keras. Like
Keras on a CPU, the step is a graph without XLA."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from harness.record.schema import Recipe
from models.mnist_cnn.native import POOL, SeedModel


class Native(SeedModel):
    data_format = "channels_last"
    jit_compile = False
    optimizer = "tf.raw_ops.ResourceApplyAdadelta"

    def __init__(self, input_shape, num_classes, seed, dropout=True) -> None:
        super().__init__(input_shape, num_classes, seed, dropout)
        self.rng = tf.random.Generator.from_seed(seed)  # the dropout masks
        self.weights = [tf.Variable(tf.zeros(w.shape), name=w.path) for w in self.weight_plan()]
        images = tf.TensorSpec([None, *input_shape], tf.float32)
        self._predict = tf.function(
            lambda x: tf.nn.softmax(self.logits(x, training=False)), input_signature=[images]
        )
        self._signature = [images, tf.TensorSpec([None, num_classes], tf.float32)]

    def logits(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        k1, b1, k2, b2, k3, b3, k4, b4 = self.weights
        x = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "VALID") + b1)
        x = tf.nn.relu(tf.nn.conv2d(x, k2, 1, "VALID") + b2)
        x = tf.nn.max_pool2d(x, POOL, POOL, "VALID")
        if training and self.dropout:
            seed = self.rng.make_seeds(1)[:, 0]
            x = tf.nn.experimental.stateless_dropout(x, self.dropout, seed)
        x = tf.sigmoid(tf.matmul(tf.reshape(x, [-1, self.flat]), k3) + b3)
        return tf.matmul(x, k4) + b4

    def set_weights(self, arrays: list[np.ndarray]) -> None:
        for v, a in zip(self.weights, arrays, strict=True):
            v.assign(a)

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.weights]

    def compile(self, recipe: Recipe) -> None:
        a = self.adadelta(recipe)
        # Adadelta's two accumulators per weight: of squared gradients, of squared updates.
        slots = [
            (tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in self.weights
        ]
        lr, rho, epsilon = (tf.constant(a[k]) for k in ("learning_rate", "rho", "epsilon"))

        def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                out = self.logits(x, training=True)
                loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, out))
            grads = tape.gradient(loss, self.weights)
            for v, (accum, update), g in zip(self.weights, slots, grads, strict=True):
                tf.raw_ops.ResourceApplyAdadelta(
                    var=v.handle, accum=accum.handle, accum_update=update.handle, lr=lr,
                    rho=rho, epsilon=epsilon, grad=g,
                )  # fmt: skip
            right = tf.reduce_mean(tf.cast(tf.argmax(out, 1) == tf.argmax(y, 1), tf.float32))
            return loss, right

        self._step = tf.function(step, input_signature=self._signature)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        loss, right = self._step(x, y)
        return float(loss), float(right)

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        return self._predict(x).numpy()
