"""A model plugin: a module with `build(input_shape, num_classes)` and `DEFAULTS`."""

import keras
from keras import layers

DEFAULTS = {
    "dataset": "stripes",  # the dataset `harness list` builds it for
    "epochs": 2,
    "batch_size": 64,
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
    "loss": "categorical_crossentropy",
}


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny_mlp")
