"""Tests that need keras and one framework. tox's test-tf, test-jax and test-torch envs
set KERAS_BACKEND; each runs these on its own backend."""

import subprocess
import sys

import pytest

from harness import results

pytestmark = pytest.mark.backend


@pytest.fixture
def keras(backend):
    import keras

    assert keras.backend.backend() == backend.name
    default = keras.config.image_data_format()
    yield keras
    keras.config.set_image_data_format(default)


def harness_run(tmp_path, *argv: str) -> results.RunResult:
    """`python -m harness run` in a subprocess, as a user runs it; its one result."""
    command = [sys.executable, "-m", "harness", "run", "--results", str(tmp_path), "--no-report"]
    done = subprocess.run([*command, *argv], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = results.runs_dir(tmp_path).glob("*.json")
    return results.read(path)


@pytest.mark.parametrize(
    ("data_format", "input_shape"),
    [("channels_last", (28, 28, 1)), ("channels_first", (1, 28, 28))],
)
def test_seed_model_builds_in_both_data_formats(keras, data_format, input_shape):
    import numpy as np

    from models import mnist_cnn

    keras.config.set_image_data_format(data_format)
    model = mnist_cnn.build(input_shape, 10)
    assert model.count_params() == 1_045_576
    assert model.output_shape == (None, 10)
    probabilities = model.predict(np.zeros((2, *input_shape), dtype="float32"), verbose=0)
    assert probabilities.shape == (2, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_short_training_on_real_mnist_reaches_90_percent(backend, tmp_path, mnist_dir):
    # 240 steps of batch 50: the quick profile's single epoch, on twice its images.
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--profile", "quick", "--data-dir", str(mnist_dir),
        "--train-images", "12000", "--batch-size", "50",
    )  # fmt: skip
    assert r.metrics["test_accuracy"] >= 0.90, r.metrics
    assert (r.recipe["epochs"], r.recipe["train_images"], r.recipe["test_images"]) == (
        1,
        12000,
        10000,
    )
    assert r.recipe["parameters"] == 1_045_576
    assert r.recipe["data_source"] == str(mnist_dir / "mnist.npz")
    assert len(r.timings["epochs_s"]) == 1 and r.timings["evaluate_s"] > 0
    assert backend.module in r.environment["libraries"]


def test_thread_budget_and_data_format_reach_the_worker(backend, tmp_path):
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--dataset", "synthetic", "--threads", "1",
        "--epochs", "1", "--train-images", "500", "--data-format", "channels_first",
    )  # fmt: skip
    env = r.environment
    assert len(env["cpus_used"]) == 1
    assert env["variables"]["OMP_NUM_THREADS"] == "1"
    assert env["variables"]["KERAS_BACKEND"] == backend.name
    assert all(v == 1 for k, v in env["threads"].items() if k.endswith("_threads"))
    assert r.recipe["data_format"] == "channels_first"
    assert r.spec["threads"] == 1


def test_harness_initialisation_follows_keras_defaults_and_loads(keras, backend):
    import numpy as np

    from harness import reproducibility, worker
    from models import mnist_cnn

    keras.config.set_image_data_format("channels_last")
    model = mnist_cnn.build((28, 28, 1), 10)
    plan = worker.weight_plan(keras, model)
    glorot = {"initializer": "variance_scaling", "scale": 1.0, "mode": "fan_avg",
              "distribution": "uniform"}  # fmt: skip
    zeros = {"initializer": "constant", "value": 0.0}
    shapes = [[3, 3, 1, 32], [32], [3, 3, 32, 64], [64], [4096, 250], [250], [250, 10], [10]]
    assert [{k: v for k, v in e.items() if k != "path"} for e in plan] == [
        {**(glorot if len(shape) > 1 else zeros), "shape": shape} for shape in shapes
    ]
    drawn = reproducibility.initial_weights(plan, seed=3)
    model.set_weights(drawn)
    assert reproducibility.digest(model.get_weights()) == reproducibility.digest(drawn)
    # Keras's own draw has the same spread (the dense kernel: limit sqrt(6 / 4346) / sqrt(3)).
    keras_kernel = mnist_cnn.build((28, 28, 1), 10).get_weights()[4]
    assert np.std(drawn[4]) == pytest.approx(np.std(keras_kernel), rel=0.02)
