"""What a built Keras model is made of: how Keras initialises its variables, and how
many floating-point operations it costs. Worker-side: takes the keras module and a model."""

from __future__ import annotations

import math
from typing import Any

from harness.contract.spec import ConfigError
from harness.worker.native import PlannedWeight


def all_layers(layer: Any) -> list[Any]:
    """`layer` and every layer nested in it."""
    return [layer] + [
        inner for child in getattr(layer, "layers", []) for inner in all_layers(child)
    ]


def weight_plan(keras: Any, model: Any) -> list[PlannedWeight]:
    """How Keras would initialise each of `model.weights`, as plain data for numpy."""
    # A variable belongs to the innermost layer that holds it: the one seen last here.
    owner = {id(w): layer for layer in all_layers(model) for w in layer.weights}
    plan = []
    for w in model.weights:
        layer = owner[id(w)]
        # Keras 3 names a variable "kernel" and keeps its path apart; Keras 2 names it
        # "conv2d/kernel:0".
        path = getattr(w, "path", None) or w.name.removesuffix(":0")
        init = getattr(layer, f"{path.rsplit('/', 1)[-1]}_initializer", None)
        shape = tuple(w.shape)
        if isinstance(init, keras.initializers.VarianceScaling):
            entry = PlannedWeight(
                path,
                shape,
                "variance_scaling",
                scale=float(init.scale),
                mode=init.mode,
                distribution=init.distribution,
            )
        elif isinstance(init, keras.initializers.Zeros):
            entry = PlannedWeight.constant(path, shape, 0.0)
        elif isinstance(init, keras.initializers.Ones):
            entry = PlannedWeight.constant(path, shape, 1.0)
        elif isinstance(init, keras.initializers.Constant):
            entry = PlannedWeight.constant(path, shape, float(init.value))
        else:
            raise ConfigError(
                f"--init harness cannot draw {w.path}: its initializer "
                f"{type(init).__name__} is not supported; use --init keras"
            )
        plan.append(entry)
    return plan


def forward_flops(keras: Any, model: Any) -> int:
    """Floating-point operations of one image's forward pass: two per multiply-add of
    every convolution and dense layer. Element-wise work (bias, activations, pooling,
    normalisation) is left out; for the seed model it is under 1 % of the total."""
    total = 0
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv1D | keras.layers.Conv2D | keras.layers.Conv3D):
            # Kernel (*window, in_channels / groups, filters), applied at every output position.
            channels_last = layer.data_format == "channels_last"
            spatial = layer.output.shape[1:-1] if channels_last else layer.output.shape[2:]
            total += 2 * math.prod(layer.kernel.shape) * math.prod(spatial)
    return total


# The backward pass costs about twice the forward one (gradients of inputs and of weights).
TRAINING_FLOPS_FACTOR = 3
