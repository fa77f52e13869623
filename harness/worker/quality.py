"""The test set after every epoch, on the clock, as MLPerf Training evaluates quality:
each epoch's test accuracy and the time since fit() began, the first epoch that reaches
the run's target (and, with --stop-at-target, the end of training there); and the run's
trajectory, what lets two runs' drift apart be measured epoch by epoch: its predicted
test classes and a fixed random projection of its weights.

One prediction of the test set an epoch serves both. It runs after the epoch's clock has
stopped and before the next one starts, so that epoch and step times are those of
training alone; its own seconds are recorded beside them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from harness.record import schema
from harness.worker import timing

# The projection of the weights: a count sketch (each number added, with a random sign,
# into one of SKETCH_SIZE buckets), the same for every backend and run, so that the
# distance of two runs' sketches estimates the distance of their weights (its expected
# square is the squared distance; a few per cent off at this size).
SKETCH_SIZE = 4096
SKETCH_SEED = 32  # numpy's PCG64 from this seed: the same hashes on every machine


@functools.cache
def _hashes(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each of `n` numbers' bucket and sign, drawn once per model size."""
    rng = np.random.default_rng(SKETCH_SEED)
    buckets = rng.integers(0, size, n)
    signs = rng.integers(0, 2, n) * 2.0 - 1.0
    return buckets, signs


def count_sketch(weights: list[np.ndarray], size: int = SKETCH_SIZE) -> np.ndarray:
    """`size` numbers (float64) that project `weights`, flattened in order in Keras's
    layout, in O(n): number i is added, times its sign, into its bucket."""
    flat = np.concatenate([np.ravel(w).astype(np.float64) for w in weights])
    buckets, signs = _hashes(len(flat), size)
    return np.bincount(buckets, weights=signs * flat, minlength=size)


class EpochEvaluation:
    """What a trainer calls once fit() begins (`begin`) and after each epoch's clock has
    stopped (`after_epoch`); `after_epoch` says whether training should end there."""

    def __init__(
        self,
        x_test: np.ndarray,
        y_test: np.ndarray,
        batch_size: int,
        target: float | None,
        target_from: str | None,
        stop_at_target: bool,
    ) -> None:
        self.x, self.batch_size = x_test, batch_size
        self.labels = y_test.argmax(axis=1) if y_test.ndim > 1 else y_test
        self.target, self.target_from, self.stop_at_target = target, target_from, stop_at_target
        self.accuracy: list[float] = []
        self.evaluate_s: list[float] = []
        self.elapsed_s: list[float] = []
        self.classes: list[np.ndarray] = []
        self.sketches: list[np.ndarray] = []
        self.reached: int | None = None  # the epoch, from 1
        self._began: float | None = None

    def begin(self) -> None:
        """fit() begins: the time to target counts from here."""
        self._began = timing.now()

    def after_epoch(
        self,
        predict: Callable[[np.ndarray, int], np.ndarray],
        weights: Callable[[], list[np.ndarray]],
    ) -> bool:
        """Predict the test set and sketch the weights; True when the run stops here."""
        if self._began is None:
            raise RuntimeError("EpochEvaluation.after_epoch() called before begin()")
        start = timing.now()
        classes = predict(self.x, self.batch_size).argmax(axis=1)
        sketch = count_sketch(weights())
        end = timing.now()
        self.classes.append(classes)
        self.sketches.append(sketch)
        self.accuracy.append(float(np.mean(classes == self.labels)))
        self.evaluate_s.append(end - start)
        self.elapsed_s.append(end - self._began)
        if self.reached is None and self.target is not None and self.accuracy[-1] >= self.target:
            self.reached = len(self.accuracy)
        return self.stop_at_target and self.reached is not None

    def section(self) -> schema.PerEpoch:
        """What the record keeps of it."""
        reached = self.reached
        return schema.PerEpoch(
            target=self.target,
            target_from=self.target_from,
            accuracy=self.accuracy,
            evaluate_s=self.evaluate_s,
            elapsed_s=self.elapsed_s,
            reached_epoch=reached,
            reached_s=None if reached is None else self.elapsed_s[reached - 1],
            stopped=self.stop_at_target and reached is not None,
        )

    def trajectory(self) -> list[np.ndarray]:
        """The trajectory file's arrays: the predicted classes (epochs x test images, the
        smallest unsigned type that holds them) and the sketches (epochs x SKETCH_SIZE)."""
        classes = np.stack(self.classes)
        kind = np.min_scalar_type(int(classes.max(initial=0)))
        return [classes.astype(kind), np.stack(self.sketches)]
