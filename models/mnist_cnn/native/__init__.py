"""The seed model (`models/mnist_cnn/`) without Keras, one module per framework beside
this one (frameworks are imported there only): `torch.py` (torch.nn, NCHW), `jax.py` (a
jitted step, optax), `tensorflow.py` (tf.Variable, tf.function, GradientTape). Here is
what they share, framework-free: the Keras model's weights (order, shapes, initialisers),
its FLOPs, and the recipe as Keras reads it.

Each computes what the Keras model computes, written as that framework's own users
write it: the network ends in logits, and the loss is the framework's softmax
cross-entropy of logits (Keras clips the softmax's probabilities and takes their log;
the two agree to float rounding, `python -m harness parity` measures how far).
"""

from __future__ import annotations

import numpy as np

from harness.contract.spec import ConfigError
from harness.record.schema import Recipe
from harness.worker.native import Native, PlannedWeight

FILTERS = (32, 64)  # the two 3x3 convolutions
POOL = 3  # max pooling, 3x3 windows at stride 3
DROPOUT = 0.5  # after the pooling, in training
HIDDEN = 250  # the sigmoid Dense layer
# Keras's Adadelta (Keras 2 and 3): rho 0.95, epsilon 1e-7. torch.optim.Adadelta and
# optax.adadelta default to 0.9 and 1e-6; the learning rate is the recipe's (1.0).
RHO, EPSILON = 0.95, 1e-7


class SeedModel(Native):
    """What every framework's seed model shares: the shapes, the plan and the recipe."""

    def __init__(
        self, input_shape: tuple[int, ...], num_classes: int, seed: int, dropout: bool = True
    ) -> None:
        if self.data_format == "channels_last":
            height, width, channels = input_shape
        else:
            channels, height, width = input_shape
        self.image = (height, width, channels)
        self.classes = num_classes
        self.seed = seed
        self.dropout = DROPOUT if dropout else 0.0
        # After two valid 3x3 convolutions and the pooling, Keras's Flatten lays the
        # features out as (height, width, channels) in either data format.
        self.pooled = ((height - 4) // POOL, (width - 4) // POOL, FILTERS[1])
        self.flat = int(np.prod(self.pooled))

    def weight_plan(self) -> list[PlannedWeight]:
        channels = self.image[2]
        kernels = [
            (3, 3, channels, FILTERS[0]),
            (3, 3, FILTERS[0], FILTERS[1]),
            (self.flat, HIDDEN),
            (HIDDEN, self.classes),
        ]
        names = ("conv2d", "conv2d_1", "dense", "dense_1")
        plan = []
        for name, kernel in zip(names, kernels, strict=True):
            # Keras's defaults: Glorot uniform kernels, zero biases.
            plan.append(PlannedWeight(f"{name}/kernel", kernel, "variance_scaling"))
            plan.append(PlannedWeight.constant(f"{name}/bias", (kernel[-1],), 0.0))
        return plan

    def forward_flops(self) -> int:
        height, width, channels = self.image
        conv1 = (height - 2) * (width - 2) * FILTERS[0] * 9 * channels
        conv2 = (height - 4) * (width - 4) * FILTERS[1] * 9 * FILTERS[0]
        return 2 * (conv1 + conv2 + self.flat * HIDDEN + HIDDEN * self.classes)

    @staticmethod
    def adadelta(recipe: Recipe) -> dict[str, float]:
        """The recipe's Adadelta as Keras reads it (its defaults filled in); another
        optimizer or loss is refused: these modules implement the seed model's recipe."""
        optimizer, loss = recipe.optimizer, recipe.loss
        if optimizer["class_name"] != "Adadelta" or loss != "categorical_crossentropy":
            raise ConfigError(
                "the native seed model trains with Adadelta on categorical_crossentropy, "
                f"got {optimizer['class_name']} on {loss}"
            )
        config = optimizer["config"]
        unknown = sorted(set(config) - {"learning_rate", "rho", "epsilon"})
        if unknown:
            raise ConfigError(f"the native Adadelta takes no {', '.join(unknown)}")
        return {
            "learning_rate": float(config.get("learning_rate", 0.001)),  # Keras 3's default
            "rho": float(config.get("rho", RHO)),
            "epsilon": float(config.get("epsilon", EPSILON)),
        }
