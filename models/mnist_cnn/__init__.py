"""The seed model: the classic Keras MNIST CNN, published at 99.06 % test accuracy
(Keras 2, TensorFlow backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

DEFAULTS = {
    "dataset": "mnist",  # the data the recipe was published for
    "epochs": 12,
    "batch_size": 500,
    # Keras 2's Adadelta() used learning_rate=1.0; Keras 3's default is 0.001, which does
    # not converge in 12 epochs. The published 99.06 % depends on 1.0.
    "optimizer": {"class_name": "Adadelta", "config": {"learning_rate": 1.0}},
    "loss": "categorical_crossentropy",
    "reference_accuracy": 0.9906,
    # MLPerf sets a target the reference (here Keras 3 on TensorFlow at its defaults)
    # reaches in at least four of five seeds. Chosen before any record held a per-epoch
    # test accuracy: the committed full-recipe runs of that reference ended at
    # 98.90-98.98 % (seeds 1-3 in results/reference, seed 1 in results/reference/full),
    # and the target is a tenth of a point below the lowest. The seed campaign
    # (results/repro, docs/reproducibility.md) says in how many seeds it was reached.
    "target_accuracy": 0.988,
}


def build(input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """The functional model; `input_shape` already follows the image data format."""
    # Imported here, not with the module: a native run (models/mnist_cnn/native/) reads
    # DEFAULTS without loading Keras; a Keras 2 run finds Keras 2 under this name.
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = layers.Conv2D(64, (3, 3), activation="relu")(x)
    x = layers.MaxPooling2D((3, 3))(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(250, activation="sigmoid")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")
