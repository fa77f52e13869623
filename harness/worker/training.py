"""How a run trains and is measured in the worker, once its session is set up: one
fit() under the epoch and step clocks (Keras's, or a native implementation's loop that
keeps the same clocks at the same points), evaluation, prediction and its latency.
A stop asked for (`harness.stopping`) is honoured before every step.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import native
from harness.backends.base import Backend, Tuning
from harness.config import RunSpec
from harness.record import schema
from harness.worker import starting_points, timing
from harness.worker.stopping import STOP


class TrainingDiverged(RuntimeError):
    """The training loss stopped being a finite number."""


@dataclass
class Session:
    """Everything a run sets up before it trains. `keras` is None in a native run
    (spec.impl "native"), whose `model` is the framework's own (`harness.native.Native`)."""

    spec: RunSpec
    backend: Backend
    keras: Any
    backend_settings: dict
    sections: timing.Sections
    tuning: Tuning | None
    recipe: schema.Recipe  # as resolved; what only the compiled model knows comes later
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    model: Any = None


@dataclass
class Clocks:
    """The training clocks: each epoch, and each step of each epoch."""

    epochs: timing.Laps
    steps: timing.StepClock
    steps_per_epoch: list[list[float]]


def fit(s: Session, quiet: bool) -> tuple[dict[str, list[float]], Clocks, Callable[[], str] | None]:
    """Train with one fit() call over every epoch; returns the per-epoch history, the
    clocks and what gives the digest of the batches fit() was given (None with init
    "keras"), to be called outside the training clock."""
    clocks = Clocks(timing.Laps(), timing.StepClock(), [])
    if s.keras is None:
        return fit_native(s, quiet, clocks)
    keras = s.keras

    class EpochClock(keras.callbacks.Callback):
        # Keras turns a step's logs into Python floats before on_train_batch_end, so a
        # step is marked when the backend has finished it. On a backend that dispatches
        # asynchronously (JAX), async_safe lets Keras do that in a helper thread: the next
        # step is dispatched meanwhile, as in a plain fit(), instead of waiting for the
        # clock; Keras waits for those threads before on_epoch_end, where the lap stops.
        # Elsewhere the step is done when it returns, and a thread would only compete
        # for the interpreter (measured: about 4 % slower on torch).
        async_safe = s.backend.asynchronous

        def on_epoch_begin(self, epoch, logs=None):
            clocks.epochs.start()
            clocks.steps.start()

        def on_train_batch_begin(self, batch, logs=None):
            STOP.check()  # in this thread, before each step (the end may run in a helper)

        def on_train_batch_end(self, batch, logs=None):
            clocks.steps.mark(batch)

        def on_epoch_end(self, epoch, logs=None):
            clocks.epochs.stop()
            clocks.steps_per_epoch.append(clocks.steps.durations())
            # The epoch's mean loss is not finite as soon as one step's loss is not.
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(loss):
                raise TrainingDiverged(
                    f"training diverged: the mean loss of epoch {epoch + 1} was {loss}"
                )

    # Keras's progress bar on a terminal, one line per epoch in a log, nothing if quiet.
    verbose = 0 if quiet else 1 if sys.stdout.isatty() else 2
    common = {"epochs": s.recipe.epochs, "verbose": verbose, "callbacks": [EpochClock()]}
    if s.spec.init == "keras":
        history = s.model.fit(s.x_train, s.y_train, batch_size=s.recipe.batch_size, **common)
        return history.history, clocks, None
    epochs = s.recipe.epochs
    plan = starting_points.batch_plan(s.spec.seed, epochs, len(s.x_train), s.recipe.batch_size)
    steps = len(plan) // epochs
    feed = s.backend.feed(s.x_train, s.y_train, plan)
    # steps_per_epoch: Keras keeps one iterator over all epochs' batches; shuffle=False:
    # the order is the harness's (Keras would warn that it ignores shuffling here).
    history = s.model.fit(feed.data, steps_per_epoch=steps, shuffle=False, **common)
    return (
        history.history,
        clocks,
        lambda: starting_points.served_digest(feed.served(), epochs, steps),
    )


def fit_native(
    s: Session, quiet: bool, clocks: Clocks
) -> tuple[dict[str, list[float]], Clocks, Callable[[], str]]:
    """fit() of a native implementation: the harness's batches in order, timed by the
    same clocks at the same points (a step is marked when its loss is a Python float,
    the epoch stops after its last step), the history as Keras keeps it (the epoch's
    mean loss and accuracy over its images)."""
    epochs, n = s.recipe.epochs, len(s.x_train)
    plan = starting_points.batch_plan(s.spec.seed, epochs, n, s.recipe.batch_size)
    steps = len(plan) // epochs
    served: dict[int, np.ndarray] = {}
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(epochs):
        clocks.epochs.start()
        clocks.steps.start()
        loss = right = 0.0
        for step in range(steps):
            STOP.check()
            position = epoch * steps + step
            idx = served[position] = plan[position]
            step_loss, step_right = s.model.train_step(s.x_train[idx], s.y_train[idx])
            clocks.steps.mark(step)
            loss += step_loss * len(idx)
            right += step_right * len(idx)
        clocks.epochs.stop()
        clocks.steps_per_epoch.append(clocks.steps.durations())
        history["loss"].append(loss / n)
        history["accuracy"].append(right / n)
        if not np.isfinite(history["loss"][-1]):
            raise TrainingDiverged(
                f"training diverged: the mean loss of epoch {epoch + 1} was {history['loss'][-1]}"
            )
        if not quiet:
            print(
                f"Epoch {epoch + 1}/{epochs} - {clocks.epochs.samples[-1]:.0f}s - "
                f"accuracy: {history['accuracy'][-1]:.4f} - loss: {history['loss'][-1]:.4f}",
                flush=True,
            )
    return history, clocks, lambda: starting_points.served_digest(served, epochs, steps)


def predict(s: Session, x: np.ndarray) -> np.ndarray:
    """Class probabilities of `x`, a batch of the recipe's size at a time."""
    if s.keras is not None:
        return s.model.predict(x, batch_size=s.recipe.batch_size, verbose=0)
    batch = s.recipe.batch_size
    return np.concatenate(
        [s.model.predict_on_batch(x[k : k + batch]) for k in range(0, len(x), batch)]
    )


def evaluate(s: Session) -> tuple[float, float]:
    """Test loss and accuracy; a native run's loss is Keras's categorical cross-entropy
    of the predicted probabilities."""
    if s.keras is not None:
        loss, accuracy = s.model.evaluate(
            s.x_test, s.y_test, batch_size=s.recipe.batch_size, verbose=0
        )
        return loss, accuracy
    p = predict(s, s.x_test)
    accuracy = float(np.mean(p.argmax(axis=1) == s.y_test.argmax(axis=1)))
    return native.crossentropy(s.y_test, p), accuracy


# Prediction latency: batch size -> timed calls (after one untimed call that traces).
LATENCY_REPEATS = dict(zip(schema.LATENCY_BATCHES, (50, 10), strict=True))


def prediction_latency(s: Session) -> dict[str, list[float]]:
    """Seconds per predict_on_batch call at batch 1 and 500; Keras returns numpy arrays,
    so each call has finished on the backend when its time is taken."""
    out = {}
    for batch, repeats in LATENCY_REPEATS.items():
        x = s.x_test[:batch]
        s.model.predict_on_batch(x)
        out[str(batch)] = timing.time_calls(lambda x=x: s.model.predict_on_batch(x), repeats)
    return out
