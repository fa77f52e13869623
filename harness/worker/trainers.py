"""The trainer of a run: Keras (`KerasTrainer`: the model plugin, built and trained by
Keras 3, or Keras 2 on the keras2 backend) or the framework alone (`NativeTrainer`: the
model's native implementation, `harness.worker.native`), two classes of one interface, as
Keras's JAXTrainer and TorchTrainer are; chosen once, from spec.impl (`trainer_for`).

Both train with one fit over every epoch under the same clocks, kept at the same points
(an epoch starts before its first step and stops after its last; a step ends when the
backend has finished it), ask before every step whether to stop (`harness.worker.stopping`),
and fail a run whose loss stops being finite.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from harness.backends.base import Backend, Tuning
from harness.contract.spec import ConfigError, Impl, Init, RunSpec
from harness.record import schema
from harness.worker import dropout_masks, modelinfo, native, onefile, starting_points, timing
from harness.worker.quality import EpochEvaluation
from harness.worker.stopping import STOP


class TrainingDiverged(RuntimeError):
    """The training loss stopped being a finite number."""


@dataclass
class Clocks:
    """The training clocks: each epoch, and each step of each epoch."""

    epochs: timing.Laps = field(default_factory=timing.Laps)
    steps: timing.StepClock = field(default_factory=timing.StepClock)
    steps_per_epoch: list[list[float]] = field(default_factory=list)

    def epoch_begins(self) -> None:
        self.epochs.start()
        self.steps.start()

    def epoch_ends(self) -> None:
        self.epochs.stop()
        self.steps_per_epoch.append(self.steps.durations())


def check_finite(epoch: int, loss: float | None) -> None:
    """A TrainingDiverged if epoch `epoch`'s mean loss is not finite, as it is not as soon
    as one step's loss is not."""
    if loss is not None and not np.isfinite(loss):
        raise TrainingDiverged(f"training diverged: the mean loss of epoch {epoch + 1} was {loss}")


# What fit returns: the per-epoch history, the clocks, and what gives the digest of the
# batches it trained on (None with init "keras"), to be called outside the training clock.
Fitted = tuple[dict[str, list[float]], Clocks, Callable[[], str] | None]

# Prediction latency: batch size -> timed calls (after one untimed call that traces), or
# fewer, three at the least, once a batch size's calls have taken LATENCY_BUDGET_S: a
# one-thread PyTorch call on 500 images takes about half a second here.
LATENCY_REPEATS = dict(zip(schema.LATENCY_BATCHES, (50, 10), strict=True))
LATENCY_BUDGET_S = 1.5
LATENCY_LEAST = 3


class Trainer(ABC):
    """One implementation of a run's model, from its library's import to the facts the
    record keeps of it. `model` is what `build` made: it has `get_weights`,
    `set_weights` and `predict_on_batch`, with Keras's meaning."""

    def __init__(self, spec: RunSpec, backend: Backend, tuning: Tuning | None) -> None:
        self.spec, self.backend, self.tuning = spec, backend, tuning
        self.model: Any = None

    @property
    @abstractmethod
    def anchor_of(self) -> str | None:
        """The Keras 3 backend whose row this run anchors (explains), if it is an anchor."""

    @abstractmethod
    def load(self) -> None:
        """Import the library it trains with, after the backend's `configure()`."""

    @abstractmethod
    def choose_data_format(self) -> str:
        """The layout of the images it trains on: the one asked for (--data-format, else
        the tuning's) if it takes it."""

    @abstractmethod
    def build(
        self, model: ModuleType, input_shape: tuple[int, ...], num_classes: int, dropout: bool
    ) -> None:
        """Build `model` (the model plugin) for images of `input_shape`, uncompiled;
        without dropout if `dropout` is False."""

    @abstractmethod
    def dropout_masks(self) -> str:
        """What draws its dropout masks, as the record says it (`schema.Reproducibility`)."""

    @abstractmethod
    def weight_plan(self) -> list[native.PlannedWeight]:
        """How Keras initialises each of the model's weights (`modelinfo.weight_plan`)."""

    @abstractmethod
    def compile(self, recipe: schema.Recipe) -> None:
        """Give the model the optimizer and loss of `recipe`, for its weights as they are."""

    @abstractmethod
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int,
        batch_size: int,
        quiet: bool,
        evaluation: EpochEvaluation | None = None,
    ) -> Fitted:
        """Train with one fit over every epoch: the harness's batches (Keras's own
        shuffling with init "keras"), each epoch's mean loss and accuracy in the history,
        progress printed unless `quiet`; `evaluation` after each epoch's clock has
        stopped, training ending after the epoch where it says so."""

    @abstractmethod
    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One optimizer step on one batch, outside fit (the parity probe); its loss."""

    @abstractmethod
    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """Class probabilities of `x`, `batch_size` images at a time."""

    @abstractmethod
    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
        """Loss (Keras's categorical cross-entropy) and accuracy on `x` and `y`."""

    @abstractmethod
    def jit_compile(self) -> bool:
        """Whether its steps ran compiled (XLA)."""

    @abstractmethod
    def parameters(self) -> int:
        """How many numbers its weights hold."""

    @abstractmethod
    def forward_flops(self) -> int:
        """Floating-point operations of one image's forward pass (`modelinfo`'s count)."""

    @abstractmethod
    def optimizer_class(self) -> str:
        """The optimizer's class as it ran, with its module."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """The versions of the libraries it ran on."""

    def set_starting_point(self) -> None:
        """With init "harness", overwrite the library's draw with the backend-independent
        one; then, with perturb_init, move one of its numbers by one ulp."""
        if self.spec.init == Init.HARNESS:
            plan = self.weight_plan()
            self.model.set_weights(starting_points.initial_weights(plan, self.spec.seed))
        if self.spec.perturb_init:
            self.model.set_weights(starting_points.perturbed(self.get_weights()))

    def get_weights(self) -> list[np.ndarray]:
        """The weights, in Keras's layout."""
        return self.model.get_weights()

    def facts(self) -> dict[str, Any]:
        """What the recipe records of the model as it ran."""
        return {
            "jit_compile": self.jit_compile(),
            "parameters": self.parameters(),
            "forward_flops_per_image": self.forward_flops(),
            "optimizer_class": self.optimizer_class(),
            "training_flops_factor": modelinfo.TRAINING_FLOPS_FACTOR,
        }

    def prediction_latency(self, x: np.ndarray) -> dict[str, list[float]]:
        """Seconds per predict_on_batch call at batch 1 and 500, on the first images of
        `x` (LATENCY_REPEATS calls each, fewer past LATENCY_BUDGET_S); it returns numpy
        arrays, so each call has finished on the backend when its time is taken."""
        out = {}
        for batch, repeats in LATENCY_REPEATS.items():
            images = x[:batch]
            self.model.predict_on_batch(images)
            call = functools.partial(self.model.predict_on_batch, images)
            out[str(batch)] = timing.time_calls(call, repeats, LATENCY_BUDGET_S, LATENCY_LEAST)
        return out


class KerasTrainer(Trainer):
    """The model plugin, built, compiled and trained by Keras (`backend.keras()`)."""

    keras: Any = None
    masks = schema.BACKEND_MASKS

    @property
    def anchor_of(self) -> str | None:
        return self.backend.anchor_of

    def load(self) -> None:
        self.keras = self.backend.keras()
        if self.keras.backend.backend() != self.backend.keras_backend:
            raise RuntimeError(
                f"keras loaded the {self.keras.backend.backend()!r} backend, not "
                f"{self.backend.keras_backend!r}: start the worker through `python -m harness "
                "run`, which sets KERAS_BACKEND"
            )

    def choose_data_format(self) -> str:
        asked = self.spec.data_format or (self.tuning and self.tuning.data_format)
        # keras.backend's, not keras.config's: Keras 2 has the same functions there.
        if asked:
            self.keras.backend.set_image_data_format(asked)
        return self.keras.backend.image_data_format()

    def build(
        self, model: ModuleType, input_shape: tuple[int, ...], num_classes: int, dropout: bool
    ) -> None:
        self.keras.utils.set_random_seed(self.spec.seed)
        what = f"model {self.spec.model}: build()"
        built = onefile.user_code(what, model.build, input_shape, num_classes)
        if not isinstance(built, self.keras.Model):
            raise ConfigError(f"{what} returned {type(built).__name__}, not a keras.Model")
        try:
            shape = built.output_shape
        except (AttributeError, ValueError):  # a subclassed model, not built yet
            shape = None
        if not isinstance(shape, tuple) or len(shape) != 2 or shape[1] != num_classes:
            raise ConfigError(
                f"{what} made a model whose output has shape {shape}, not "
                f"(None, {num_classes}): one probability for each of the dataset's "
                f"{num_classes} classes"
            )
        self.model = built
        if not dropout:
            for layer in modelinfo.all_layers(self.model):
                if isinstance(layer, self.keras.layers.Dropout):
                    layer.rate = 0.0
        if self.spec.init == Init.HARNESS and dropout_masks.replace(
            self.keras, self.model, self.spec.seed
        ):
            self.masks = dropout_masks.DESCRIPTION

    def dropout_masks(self) -> str:
        return self.masks

    def weight_plan(self) -> list[native.PlannedWeight]:
        return modelinfo.weight_plan(self.keras, self.model)

    def compile(self, recipe: schema.Recipe) -> None:
        jit_compile: bool | str | None = self.tuning.jit_compile if self.tuning else None
        if jit_compile is None:
            jit_compile = self.backend.jit_compile_default
        self.model.compile(
            # deserialize() rewrites the config it is given; the recipe must stay as written.
            optimizer=self.keras.optimizers.deserialize(copy.deepcopy(recipe.optimizer)),
            loss=recipe.loss,
            metrics=["accuracy"],
            jit_compile=jit_compile,
        )

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int,
        batch_size: int,
        quiet: bool,
        evaluation: EpochEvaluation | None = None,
    ) -> Fitted:
        clocks = Clocks()

        Callback: Any = self.keras.callbacks.Callback  # noqa: N806 (a class, as Keras names it)

        class EpochClock(Callback):
            # No batch-end hook: one that is not async_safe makes Keras 3 run every
            # callback's batch-end hooks in the training thread, where a plain fit() runs
            # them in a helper thread (CallbackList._configure_async_dispatch looks at end
            # hooks only). The step ends are marked around the train function instead
            # (`timed_steps`). Keras 2 calls batch hooks only when a callback has one, and
            # then turns their logs into numbers unless the callback takes tensors.
            _supports_tf_logs = True

            def on_epoch_begin(self, epoch, logs=None):
                clocks.epoch_begins()

            def on_train_batch_begin(self, batch, logs=None):
                # Before Keras takes the step's state (JAX moves the weights out of the
                # model for the step): a stop leaves the model as it was.
                STOP.check()

            def on_epoch_end(self, epoch, logs=None):
                clocks.epoch_ends()
                check_finite(epoch, (logs or {}).get("loss"))

        class StepEnds(EpochClock):
            # JAX's train function returns before its step is done. A plain fit() turns
            # each step's logs into Python floats in Keras's helper thread, which waits
            # for the step's outputs; the step is marked there, right after (async_safe
            # keeps the hook there). Keras waits for those threads before on_epoch_end,
            # where the lap stops.
            async_safe = True

            def on_train_batch_end(self, batch, logs=None):
                clocks.steps.mark(batch)

        def timed_steps(step: Callable[..., Any]) -> Callable[..., Any]:
            # TensorFlow's and PyTorch's train functions return once their step is done
            # (on the CPU): the step ends there, in the training thread.
            def timed(*args: Any) -> Any:
                out = step(*args)
                clocks.steps.mark_next()
                return out

            return timed

        # Keras makes its train function once and reuses it (make_train_function returns
        # it when it is there): fit() calls the timed one; afterwards the model has its own
        # again (train_on_batch uses it too).
        self.model.make_train_function()
        untimed = self.model.train_function
        if self.backend.asynchronous:
            clock, timed = StepEnds(), untimed
        else:
            clock, timed = EpochClock(), timed_steps(untimed)
        # Keras's progress bar on a terminal, one line per epoch in a log, nothing if quiet.
        verbose = 0 if quiet else 1 if sys.stdout.isatty() else 2
        callbacks = [clock] if evaluation is None else [clock, self._evaluating(evaluation)]
        common: dict[str, Any] = {"epochs": epochs, "verbose": verbose, "callbacks": callbacks}
        digest: Callable[[], str] | None = None
        if self.spec.init == Init.KERAS:
            common |= {"x": x, "y": y, "batch_size": batch_size}
        else:
            plan = starting_points.batch_plan(self.spec.seed, epochs, len(x), batch_size)
            steps = len(plan) // epochs
            feed = self.backend.feed(x, y, plan)
            # steps_per_epoch: Keras keeps one iterator over all epochs' batches;
            # shuffle=False: the order is the harness's (Keras would warn that it ignores
            # shuffling here).
            common |= {"x": feed.data, "steps_per_epoch": steps, "shuffle": False}
            # The epochs it trained: fewer than `epochs` where it stopped at its target.
            digest = lambda: starting_points.served_digest(  # noqa: E731
                feed.served(), len(clocks.epochs.samples), steps
            )
        self.model.train_function = timed
        if evaluation is not None:
            evaluation.begin()
        try:
            history = self.model.fit(**common)
        finally:
            self.model.train_function = untimed
        return history.history, clocks, digest

    def _evaluating(self, evaluation: EpochEvaluation) -> Any:
        """A Keras callback that hands each epoch's end to `evaluation` (after the epoch
        clock's, which comes first in the list) and stops training where it says so. It
        has no batch hooks: Keras's asynchronous dispatch of those is left as it is."""
        trainer = self
        Callback: Any = self.keras.callbacks.Callback  # noqa: N806 (a class, as Keras names it)

        class EpochEvaluating(Callback):
            def on_epoch_end(self, epoch, logs=None):
                if evaluation.after_epoch(trainer.predict, trainer.get_weights):
                    self.model.stop_training = True

        return EpochEvaluating()

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self.model.train_on_batch(x, y, return_dict=True)["loss"])

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return self.model.predict(x, batch_size=batch_size, verbose=0)

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
        loss, accuracy = self.model.evaluate(x, y, batch_size=batch_size, verbose=0)
        return loss, accuracy

    def jit_compile(self) -> bool:
        # Keras 2 keeps the value it was given (None: no XLA); Keras 3 resolves it.
        return bool(self.model.jit_compile)

    def parameters(self) -> int:
        return self.model.count_params()

    def forward_flops(self) -> int:
        return modelinfo.forward_flops(self.keras, self.model)

    def optimizer_class(self) -> str:
        optimizer = type(self.model.optimizer)
        return f"{optimizer.__module__}.{optimizer.__name__}"

    def versions(self) -> dict[str, str]:
        """Keras's version (Keras 2's in a keras2 run) and the backend's packages."""
        return {"keras": self.keras.__version__, **self.backend.versions()}


class NativeTrainer(Trainer):
    """The model's native implementation on the backend's framework, without Keras: its
    loop keeps Keras's clocks at the same points and Keras's history."""

    implementation: type[native.Native]

    @property
    def anchor_of(self) -> str | None:
        return self.backend.name

    def load(self) -> None:
        self.implementation = native.load(self.spec.model, self.backend.name)

    def choose_data_format(self) -> str:
        taken = self.implementation.data_format
        if self.spec.data_format not in (None, taken):
            raise ConfigError(
                f"the native {self.spec.model} on {self.backend.name} takes {taken} images, "
                f"got data_format {self.spec.data_format}"
            )
        return taken

    def build(
        self, model: ModuleType, input_shape: tuple[int, ...], num_classes: int, dropout: bool
    ) -> None:
        """`model`'s native implementation, found by `load`; `spec.seed` seeds its dropout."""
        self.model = self.implementation(input_shape, num_classes, self.spec.seed, dropout)

    def dropout_masks(self) -> str:
        return schema.NATIVE_MASKS

    def weight_plan(self) -> list[native.PlannedWeight]:
        return self.model.weight_plan()

    def compile(self, recipe: schema.Recipe) -> None:
        self.model.compile(recipe)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int,
        batch_size: int,
        quiet: bool,
        evaluation: EpochEvaluation | None = None,
    ) -> Fitted:
        """The harness's batches in order; the history as Keras keeps it (the epoch's mean
        loss and accuracy over its images)."""
        clocks, n = Clocks(), len(x)
        if evaluation is not None:
            evaluation.begin()
        plan = starting_points.batch_plan(self.spec.seed, epochs, n, batch_size)
        steps = len(plan) // epochs
        served: dict[int, np.ndarray] = {}
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        for epoch in range(epochs):
            clocks.epoch_begins()
            loss = right = 0.0
            for step in range(steps):
                STOP.check()
                position = epoch * steps + step
                idx = served[position] = plan[position]
                step_loss, step_right = self.model.train_step(x[idx], y[idx])
                clocks.steps.mark(step)
                loss += step_loss * len(idx)
                right += step_right * len(idx)
            clocks.epoch_ends()
            history["loss"].append(loss / n)
            history["accuracy"].append(right / n)
            check_finite(epoch, history["loss"][-1])
            if not quiet:
                print(
                    f"Epoch {epoch + 1}/{epochs} - {clocks.epochs.samples[-1]:.0f}s - "
                    f"accuracy: {history['accuracy'][-1]:.4f} - loss: {history['loss'][-1]:.4f}",
                    flush=True,
                )
            if evaluation is not None and evaluation.after_epoch(self.predict, self.get_weights):
                break
        trained = len(clocks.epochs.samples)
        return history, clocks, lambda: starting_points.served_digest(served, trained, steps)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.model.train_step(x, y)[0]

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        batch = batch_size
        return np.concatenate(
            [self.model.predict_on_batch(x[k : k + batch]) for k in range(0, len(x), batch)]
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
        """Keras's categorical cross-entropy of the predicted probabilities."""
        p = self.predict(x, batch_size)
        accuracy = float(np.mean(p.argmax(axis=1) == y.argmax(axis=1)))
        return native.crossentropy(y, p), accuracy

    def jit_compile(self) -> bool:
        return self.model.jit_compile

    def parameters(self) -> int:
        return self.model.parameters()

    def forward_flops(self) -> int:
        return self.model.forward_flops()

    def optimizer_class(self) -> str:
        return self.model.optimizer

    def versions(self) -> dict[str, str]:
        """The backend's packages and the implementation's own libraries."""
        found = self.backend.versions()
        for dist in self.model.distributions:
            found[dist] = importlib.metadata.version(dist)
        return found


TRAINERS: dict[Impl, type[Trainer]] = {Impl.KERAS: KerasTrainer, Impl.NATIVE: NativeTrainer}


def trainer_for(spec: RunSpec, backend: Backend, tuning: Tuning | None) -> Trainer:
    """The trainer of `spec.impl`, the one place where Keras and native part ways."""
    return TRAINERS[spec.impl](spec, backend, tuning)
