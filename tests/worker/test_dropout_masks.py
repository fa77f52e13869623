"""The harness's dropout masks: its generator against a plain uint32 reference (unit),
applied by Keras's compiled train step and not at inference (each backend), and the
same bits on TensorFlow, JAX and PyTorch (cross-backend)."""

import importlib.util
import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.record import schema, store
from harness.worker import dropout_masks as dm
from tests.factories import ROOT

BACKENDS = ("tensorflow", "jax", "torch")
N, SEED, STEPS = 24, 3, 4


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Chris Wellons's lowbias32 as published, on uint32."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def reference_bits(key: tuple[int, int], step: int, index: np.ndarray) -> np.ndarray:
    k0, k1 = (np.uint32(k & 0xFFFFFFFF) for k in key)
    a = lowbias32(lowbias32(np.uint32(step) ^ k0) ^ k1)
    return lowbias32((index.astype(np.uint32) * np.uint32(0x9E3779B9)) ^ a)


def test_the_generator_is_lowbias32_of_a_keyed_weyl_sequence_in_int32_with_uint32s_bits():
    key = dm.layer_key(1, 0)
    index = np.arange(100_000, dtype=np.int32)
    with np.errstate(over="ignore"):  # the reference's uint32 products wrap, as they should
        expected = reference_bits(key, 7, index)
    got = dm.bits(np, key, np.int32(7), index)
    assert got.dtype == np.int32
    assert np.array_equal(got.view(np.uint32), expected)
    assert dm.bits(np, key, np.int32(3), index[:4]).view(np.uint32).tolist() == [
        3764222202, 3972654764, 1299026545, 1877495235,
    ]  # fmt: skip


def test_a_mask_keeps_each_element_with_probability_one_minus_the_rate():
    key = dm.layer_key(1, 0)
    for rate in (0.5, 0.25, 0.9):
        kept = dm.keep_mask(np, key, np.int32(0), (100, 1000), rate)
        assert kept.shape == (100, 1000)
        assert kept.mean() == pytest.approx(1 - rate, abs=0.005)


def test_masks_differ_from_step_to_step_and_from_layer_to_layer():
    def mask(layer: int, step: int) -> np.ndarray:
        return dm.keep_mask(np, dm.layer_key(SEED, layer), np.int32(step), (500, 1000), 0.5)

    first = mask(0, 0)
    for other in (mask(0, 1), mask(1, 0), mask(0, 2**20)):
        assert np.mean(first == other) == pytest.approx(0.5, abs=0.01)


def tiny_model(input_shape: tuple[int, ...], num_classes: int):
    """Two Dropouts of one rate and shape, one whose noise shape spans an axis and a
    spatial dropout (a subclass whose noise shape spans the other), each into a kernel of
    ones (the model plugin's build)."""
    import keras

    x = keras.Input(input_shape)
    grid = keras.layers.Reshape((4, N // 4))(x)
    dropped = [
        keras.layers.Dropout(0.5)(grid),
        keras.layers.Dropout(0.5)(grid),
        keras.layers.Dropout(0.25, noise_shape=(None, 4, 1))(grid),
        keras.layers.SpatialDropout1D(0.25)(grid),
    ]
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(d) for d in dropped])
    return keras.Model(
        x, keras.layers.Dense(num_classes, use_bias=False, kernel_initializer="ones")(joined)
    )


def expected_masks(step: int) -> list[list[bool]]:
    """What each Dropout of tiny_model keeps at `step`, drawn by numpy."""

    def draw(layer: int, shape: tuple[int, ...], rate: float) -> np.ndarray:
        return dm.keep_mask(np, dm.layer_key(SEED, layer), np.int32(step), shape, rate)

    shapes = [
        ((1, 4, N // 4), 0.5),
        ((1, 4, N // 4), 0.5),
        ((1, 4, 1), 0.25),
        ((1, 1, N // 4), 0.25),
    ]
    return [
        np.broadcast_to(draw(layer, shape, rate), (1, 4, N // 4)).reshape(-1).tolist()
        for layer, (shape, rate) in enumerate(shapes)
    ]


def observed_masks() -> dict:
    """tiny_model built by the harness's KerasTrainer (init harness) on this process's
    backend and trained one step an epoch by fit, compiled as the backend compiles by
    default: at each step, which inputs each Dropout kept (a weight of the kernel of
    ones moves only where its input was kept); and its output at inference."""
    from types import SimpleNamespace

    import keras

    from harness.backends import resolve
    from harness.contract.spec import RunSpec
    from harness.worker.trainers import trainer_for

    spec = RunSpec(backend=keras.backend.backend(), seed=SEED, threads=1)
    trainer = trainer_for(spec, resolve(spec.backend), None)
    trainer.load()
    trainer.build(SimpleNamespace(build=tiny_model), (N,), 1, True)
    model = trainer.model
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    kernels = [model.get_weights()[0][:, 0].copy()]

    class Kernel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            kernels.append(self.model.get_weights()[0][:, 0].copy())

    x = np.ones((1, N), "float32")
    model.fit(x, np.zeros((1, 1), "float32"), epochs=STEPS, verbose=0, callbacks=[Kernel()])
    moved = [(after != before).tolist() for before, after in itertools.pairwise(kernels)]
    return {
        "jit_compile": bool(model.jit_compile),
        "masks": [[m[k : k + N] for k in range(0, len(m), N)] for m in moved],
        "inference": model.predict(x, verbose=0)[0, 0].item(),
        "unmasked": float(kernels[-1].sum()),
        "record": trainer.dropout_masks(),
    }


@pytest.mark.backend
def test_the_compiled_train_step_applies_the_harness_masks_and_inference_none(backend):
    seen = observed_masks()
    if backend.name == "jax":
        assert seen["jit_compile"], "JAX's train step should run under jit"
    assert seen["masks"] == [expected_masks(step) for step in range(STEPS)]
    first, second, _, _ = seen["masks"][0]
    assert first != second and seen["masks"][0] != seen["masks"][1]
    assert seen["inference"] == pytest.approx(seen["unmasked"], rel=1e-6)
    assert seen["record"] == dm.DESCRIPTION


@pytest.mark.cross_backend
def test_every_backend_draws_the_same_masks_bit_for_bit():
    missing = [m for m in BACKENDS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(BACKENDS)} in one environment (missing {missing})")
    script = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); " + (
        "from tests.worker.test_dropout_masks import observed_masks; "
        "print(json.dumps(observed_masks()))"
    )
    seen = {}
    for name in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": name}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        seen[name] = json.loads(done.stdout.splitlines()[-1])["masks"]
    assert seen["tensorflow"] == seen["jax"] == seen["torch"]
    assert len({json.dumps(step) for step in seen["torch"]}) == STEPS


@pytest.mark.cross_backend
def test_a_runs_record_says_its_masks_were_the_harness_generators(small_local_runs):
    runs, _ = store.read_all(small_local_runs)
    assert {r.reproducibility.dropout_masks for r in runs} == {dm.DESCRIPTION}
    assert dm.DESCRIPTION.startswith(schema.HARNESS_MASKS)
