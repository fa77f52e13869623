from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from harness.backends.base import (
    MALLOC,
    THP,
    THREADS,
    Backend,
    Feed,
    Knob,
    OpTimes,
    Setting,
    Tuning,
    add_op,
)

# TensorFlow turns oneDNN on by default only on CPUs with AVX-512 (where the reference
# runs were made); without it, its CPU convolution takes NHWC only, so channels_first
# fails on an AVX2 CPU. On, unless the user set it: one TensorFlow on every x86 CPU.
ONEDNN = "TF_ENABLE_ONEDNN_OPTS"


# An op's event in TensorFlow's host trace: its node's name, a colon, its kernel's type
# ("gradient_tape/functional_1/conv2d_1/convolution/Conv2DBackpropInput:_MklNative...");
# the executor's and Python's own events have spaces or "::" in their names.
TF_OP = re.compile(r"[^\s:]+:[A-Za-z_]\w*")


def onednn() -> str:
    return os.environ.get(ONEDNN, "1")


class TfDataFeed(Feed):
    """The batches as a tf.data pipeline, built as Keras builds its own from arrays
    (index batches zipped with the arrays, a vectorised gather per batch in a parallel
    map, prefetched): fed from Python (a keras PyDataset, commit 0987193), 10,000 images
    x 3 epochs took 1.22x a plain fit() (up to 1.35x). Keras keeps one iterator of it
    for the whole fit(), so tf.data does not replace its iterator between epochs.

    Autotuning is off, with two batches gathered and prefetched ahead: with it on,
    deleting the iterator at the end of fit() took 4.6-6.5 s in 7 of 12 fits of 10,000
    images; with it off, in none of 8, at the same epoch times. (A plain fit(), which
    replaces its iterator every epoch, took up to 5 s longer in the same probe.)

    What Keras took is the index dataset the gather reads, read again after fit(); the
    pipeline has no Python in it to note batches as they go."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> None:
        import tensorflow as tf

        lengths = [len(idx) for idx in batches]
        self._indices = tf.data.Dataset.from_tensor_slices(
            tf.RaggedTensor.from_row_lengths(np.concatenate(batches), lengths)
        )
        arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
        data = tf.data.Dataset.zip(self._indices, arrays).map(
            lambda idx, xy: (tf.gather(xy[0], idx), tf.gather(xy[1], idx)),
            num_parallel_calls=2,
        )
        options = tf.data.Options()
        options.autotune.enabled = False
        options.experimental_optimization.apply_default_optimizations = False
        self.data = data.with_options(options).prefetch(2)

    def served(self) -> dict[int, np.ndarray]:
        return {k: idx.numpy() for k, idx in enumerate(self._indices)}


class TensorflowBackend(Backend):
    name = "tensorflow"
    aliases = ("tf",)
    module = "tensorflow"
    extra = "tensorflow"
    distributions: ClassVar[tuple[str, ...]] = ("tensorflow", "tensorflow-cpu")
    tox_env = "tf"
    tuning_space: ClassVar[tuple[Knob, ...]] = (
        MALLOC,
        Knob(
            "onednn",
            {"on": Setting(), "off": Setting(env={ONEDNN: "0"})},
            "TensorFlow's oneDNN kernels (on unless TF_ENABLE_ONEDNN_OPTS says otherwise)",
        ),
        Knob(
            "xla",
            {"off": Setting(), "on": Setting(jit_compile=True)},
            "jit_compile=True: XLA compiles the step",
        ),
        THP,
        THREADS,
    )

    def framework_env(self, threads: int) -> dict[str, str]:
        n = str(threads)
        return {
            "TF_NUM_INTRAOP_THREADS": n,
            "TF_NUM_INTEROP_THREADS": n,
            # INFO and WARNING lines about CPU instructions and oneDNN on every start.
            "TF_CPP_MIN_LOG_LEVEL": "2",
            ONEDNN: onednn(),
        }

    def configure(
        self, threads: int, deterministic: bool, tuning: Tuning | None
    ) -> dict[str, object]:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        return {
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "determinism": "tf.config.experimental.enable_op_determinism()"
            if deterministic
            else "off",
        }

    def kernels(self) -> dict[str, str]:
        # TensorFlow's own answer: oneDNN's kernels run only if its build has them and
        # TF_ENABLE_ONEDNN_OPTS (or, unset, an AVX-512 CPU) turned them on.
        from tensorflow.python.util import _pywrap_util_port

        return {"oneDNN": "on" if _pywrap_util_port.IsMklEnabled() else "off"}

    def feed(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> Feed:
        return TfDataFeed(x, y, batches)

    def profile_ops(self, steps: Callable[[], None], folder: Path) -> OpTimes:
        import tensorflow as tf
        from tensorflow.tsl.profiler.protobuf import xplane_pb2

        tf.profiler.experimental.start(str(folder))
        try:
            steps()
        finally:
            tf.profiler.experimental.stop()
        ops: dict[str, tuple[float, int]] = {}
        for path in sorted(folder.rglob("*.xplane.pb")):
            space = xplane_pb2.XSpace.FromString(path.read_bytes())
            for plane in space.planes:
                for line in plane.lines:
                    for event in line.events:
                        name = plane.event_metadata[event.metadata_id].name
                        if TF_OP.fullmatch(name):
                            add_op(ops, name, event.duration_ps / 1e12)
        return OpTimes("tf.profiler: each TensorFlow op, as node:kernel", ops)
