"""Native implementations: a model plugin's network written in one framework alone,
without Keras, for the report's anchor rows (how much of a backend's time is Keras's).

A model brings its own under the entry-point group `keras_harness.natives`
(`harness.contract.native` finds them by name), each a class with the interface of
`Native` below. Weights cross the interface in Keras's layout (the order, shapes and values of
the Keras model's `get_weights()`), so that the harness's numpy draw, the digests and the
saved final weights mean the same for both implementations.

This module imports no framework: the worker loads the class, which imports its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from harness.contract import native as lookup
from harness.contract import plugins
from harness.record.schema import Recipe


def load(model: str, backend: str) -> type[Native]:
    lookup.check(model, backend)
    return plugins.load("native", lookup.entry_name(model, backend))


@dataclass(frozen=True)
class PlannedWeight:
    """How one variable of a model starts, as plain data for the harness's numpy draw
    (`harness.worker.starting_points`): Keras's variance scaling (`scale`, `mode`,
    `distribution`, as `keras.initializers.VarianceScaling` names them), or a constant
    (`value`)."""

    path: str  # the variable's path in the Keras model ("conv2d/kernel")
    shape: tuple[int, ...]
    initializer: Literal["variance_scaling", "constant"]
    scale: float = 1.0
    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_avg"
    distribution: Literal["uniform", "untruncated_normal", "truncated_normal"] = "uniform"
    value: float = 0.0

    @classmethod
    def constant(cls, path: str, shape: tuple[int, ...], value: float) -> PlannedWeight:
        return cls(path, tuple(shape), "constant", value=value)


class Native:
    """The interface of a native implementation; its framework is imported only by the
    subclass, in the worker. Every method that returns numbers returns host values
    (Python floats, numpy arrays): the step or prediction is done when it returns."""

    data_format: ClassVar[str]  # the layout of the images it takes
    jit_compile: ClassVar[bool]  # whether its steps are compiled (XLA), for the record
    optimizer: ClassVar[str]  # the framework's optimizer it trains with, for the record
    distributions: ClassVar[tuple[str, ...]] = ()  # its libraries beside the framework's

    def __init__(
        self, input_shape: tuple[int, ...], num_classes: int, seed: int, dropout: bool = True
    ) -> None:
        """Build the network for images of `input_shape` (in `data_format`); `seed`
        seeds its dropout masks; `dropout` False leaves dropout out (parity)."""
        raise NotImplementedError

    def weight_plan(self) -> list[PlannedWeight]:
        """How the Keras model initialises each of its weights, in its order and layout
        (`harness.worker.modelinfo.weight_plan`), for the harness's numpy draw."""
        raise NotImplementedError

    def forward_flops(self) -> int:
        """Floating-point operations of one image's forward pass, counted as
        `harness.worker.modelinfo.forward_flops` counts the Keras model's."""
        raise NotImplementedError

    def set_weights(self, arrays: list[np.ndarray]) -> None:
        """Load weights given in Keras's layout."""
        raise NotImplementedError

    def get_weights(self) -> list[np.ndarray]:
        """The weights, in Keras's layout."""
        raise NotImplementedError

    def compile(self, recipe: Recipe) -> None:
        """Make the optimizer of `recipe` (its `optimizer` config and `loss`), for the
        weights as they are now."""
        raise NotImplementedError

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """One optimizer step on a batch; its mean loss and the share of it classified
        right, before the step."""
        raise NotImplementedError

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of a batch, as float32, dropout off."""
        raise NotImplementedError

    def parameters(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.weight_plan())


def crossentropy(y: np.ndarray, p: np.ndarray, epsilon: float = 1e-7) -> float:
    """Keras's categorical cross-entropy of probabilities `p` against one-hot `y`, the
    mean over the images: `p` clipped to [epsilon, 1 - epsilon]."""
    p = np.clip(p.astype("float64"), epsilon, 1 - epsilon)
    return float(np.mean(-np.sum(y * np.log(p), axis=1)))
