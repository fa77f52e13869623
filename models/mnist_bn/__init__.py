"""A CNN with batch normalisation: what the seed model does not have.

BatchNormalization keeps state outside the gradient step: moving means and variances,
updated in every training step and used, instead of the batch's statistics, at test
time. Each Keras backend carries that state in its own way (variables assigned in place
on TensorFlow and torch, state returned from the jitted step on JAX), so comparing this
model's final weights and predictions across backends tests that path too.
"""

from __future__ import annotations

import keras
from keras import layers

DEFAULTS = {
    "dataset": "mnist",
    "epochs": 3,
    "batch_size": 128,
    # Batch normalisation trains well with Adam at its usual rate: three epochs reached
    # 98.63 % test accuracy on TensorFlow here (seed 1, one thread).
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001}},
    "loss": "categorical_crossentropy",
}


def build(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Conv-BN-ReLU twice, pooling, then Dense-BN-ReLU and the classifier. Convolutions
    and the hidden Dense have no bias: the normalisation's beta takes its place."""
    channel_axis = -1 if keras.config.image_data_format() == "channels_last" else 1
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, (3, 3), use_bias=False)(x)
        x = layers.BatchNormalization(axis=channel_axis)(x)
        x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D((3, 3))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mnist_bn")
