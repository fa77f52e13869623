"""Tests that need keras and one framework. tox's test-tf, test-jax and test-torch envs
set KERAS_BACKEND; each runs these on its own backend."""

import dataclasses
import importlib.util
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from harness.record import parity_record, results, schema, store, tuning
from harness.summary import numerics
from harness.worker import starting_points
from harness.worker.native import PlannedWeight
from harness.worker.trainers import LATENCY_LEAST, LATENCY_REPEATS
from tests.factories import OWN_MODEL, ROOT, seed_recipe

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
    [path] = store.runs_dir(tmp_path).glob("*.json")
    return store.read(path)


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


def test_the_backends_feed_hands_over_each_planned_batch_once_in_order(backend, keras):
    import numpy as np

    x = np.random.default_rng(0).standard_normal((10, 2, 2, 1)).astype("float32")
    y = np.eye(10, dtype="float32")
    plan = starting_points.batch_plan(seed=1, epochs=2, n=10, batch=4)
    feed = backend.feed(x, y, plan)
    got = [(np.asarray(bx), np.asarray(by)) for bx, by in feed.data]
    assert len(got) == len(plan)
    for (bx, by), idx in zip(got, plan, strict=True):
        assert np.array_equal(bx, x[idx]) and np.array_equal(by, y[idx])
    served = feed.served()
    assert sorted(served) == list(range(len(plan)))
    assert all(np.array_equal(served[k], idx) for k, idx in enumerate(plan))


def test_list_builds_the_models_in_the_data_format_keras_json_sets(keras, tmp_path):

    from harness.record import described
    from harness.worker import main as worker

    # What keras.json's "image_data_format": "channels_first" does when keras loads.
    keras.config.set_image_data_format("channels_first")
    worker.describe(["mnist_cnn"], tmp_path / "models.json")
    assert described.read(tmp_path / "models.json")["mnist_cnn"].parameters == 1_045_576


@pytest.mark.slow
def test_short_training_on_real_mnist_reaches_90_percent(backend, tmp_path, mnist_dir):
    # 240 steps of batch 50: the quick profile's single epoch, on twice its images.
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--profile", "quick", "--data-dir", str(mnist_dir),
        "--train-images", "12000", "--batch-size", "50",
    )  # fmt: skip
    assert r.metrics.test_accuracy >= 0.90, r.metrics
    assert (r.recipe.epochs, r.recipe.train_images, r.recipe.test_images) == (
        1,
        12000,
        10000,
    )
    assert r.recipe.parameters == 1_045_576
    assert r.recipe.data_source == "mnist.npz"  # its name: no path on this machine
    assert len(r.timings.epochs_s) == 1 and r.timings.evaluate_s > 0
    assert set(backend.distributions) & set(r.environment.libraries)


def seed_model_start(seed: int) -> str:
    """The digest of the seed model's initial weights for `seed`, drawn here by hand:
    Glorot uniform kernels, zero biases (in Keras's layout, whatever the data format)."""
    plan = [PlannedWeight("w", shape, "variance_scaling") if len(shape) > 1
            else PlannedWeight.constant("b", shape, 0.0)
            for shape in ((3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (4096, 250), (250,),
                          (250, 10), (10,))]  # fmt: skip
    return starting_points.digest(starting_points.initial_weights(plan, seed))


def assert_every_second_accounted_for(t: schema.Timings) -> None:
    """The phases and the unaccounted rest make the worker's wall time; the rest is
    under 2 % of it; fit() holds every epoch."""
    phases = sum(getattr(t, p) or 0.0 for p in schema.PHASES)  # a skipped phase is None
    assert phases + t.unaccounted_s == pytest.approx(t.wall_s, rel=1e-9)
    assert -1e-6 <= t.unaccounted_s <= 0.02 * t.wall_s, t
    assert sum(t.epochs_s) <= t.fit_s


def test_one_fit_on_the_given_threads_and_format_trains_on_the_harness_batches_all_timed(
    backend, tmp_path
):
    # 1,000 images in batches of 300: three full batches and one of 100 an epoch
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--dataset", "synthetic", "--epochs", "2",
        "--train-images", "1000", "--batch-size", "300", "--seeds", "3",
        "--threads", "1", "--data-format", "channels_first",
    )  # fmt: skip
    # the thread budget and the data format reached the worker
    env = r.environment
    assert len(env.cpus_used) == 1
    assert env.variables["OMP_NUM_THREADS"] == "1"
    assert env.variables["KERAS_BACKEND"] == backend.name
    assert all(v == 1 for k, v in r.backend_settings.items() if k.endswith("_threads"))
    assert r.recipe.data_format == "channels_first"
    assert r.recipe.classes == 10  # the synthetic dataset's, for the chance level
    assert r.spec.threads == 1
    t = r.timings
    assert [len(steps) for steps in t.steps_s] == [4, 4]
    # the steps are splits of their epoch: together never longer than it
    for steps, epoch in zip(t.steps_s, t.epochs_s, strict=True):
        assert all(s > 0 for s in steps) and sum(steps) <= epoch
    # every batch size timed, each with as many calls as its budget allowed
    calls = {b: len(v) for b, v in t.latency_calls_s.items()}
    assert calls.keys() == {str(b) for b in schema.LATENCY_BATCHES}
    assert all(LATENCY_LEAST <= n <= LATENCY_REPEATS[int(b)] for b, n in calls.items())
    # every phase but the op profile, which the speed profile's runs alone have
    assert t.ops_s is None and all(getattr(t, p) > 0 for p in schema.PHASES if p != "ops_s")
    assert_every_second_accounted_for(t)
    # the run's seed drew its starting point, and its batches are each epoch's numpy
    # permutation, in the order fit() was handed them
    assert r.reproducibility.initial_weights_digest == seed_model_start(seed=3)
    orders = [starting_points.batch_order(3, epoch, 1000) for epoch in range(2)]
    assert r.reproducibility.batch_order_digest == starting_points.digest(orders)
    # the machine, known by its fingerprint, and what picked the backend's kernels on it
    assert r.machine.fingerprint.machine_id and r.machine.fingerprint.vendor
    assert "numpy BLAS" in env.kernels and set(env.kernels) > {"numpy BLAS"}
    # the machine, measured by the worker on its own CPUs
    assert r.machine.matmul.threads == r.spec.threads
    assert r.machine.matmul.median_gflops > 0
    during = r.machine.during_fit
    assert during.cpus == r.environment.cpus_used
    assert during.interval_s == pytest.approx(t.fit_s, rel=0.05)
    assert 0 <= during.other_share <= 1.0


def test_the_clock_leaves_kerass_dispatch_of_batch_ends_as_a_plain_fit_has_it(
    backend, keras, monkeypatch
):
    """Keras runs batch-end hooks in a helper thread where the backend allows it, unless
    a callback has such a hook and is not async-safe: the harness's clocks must leave
    that as a plain fit() has it, and still time every step."""
    from keras.src import callbacks

    from harness.contract.spec import RunSpec
    from harness.datasets.base import prepare
    from harness.datasets.synthetic import Synthetic
    from harness.worker import trainers
    from models import mnist_cnn

    in_helper_thread = []

    class Watched(callbacks.CallbackList):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            in_helper_thread.append(self._async_train)

    monkeypatch.setattr(callbacks, "CallbackList", Watched)
    spec = RunSpec(backend=backend.name, dataset="synthetic", threads=1, epochs=1)
    trainer = trainers.trainer_for(spec, backend, None)
    trainer.load()
    data_format = trainer.choose_data_format()
    x, y = prepare(Synthetic().load().train, data_format, 10, one_hot=True)
    x, y = x[:300], y[:300]
    recipe = seed_recipe(data_format, images=300, batch_size=100)
    trainer.build(mnist_cnn, x.shape[1:], 10, dropout=True)
    trainer.compile(recipe)
    trainer.model.fit(x, y, batch_size=100, epochs=1, verbose=0)  # plain
    _, clocks, _ = trainer.fit(x, y, 2, recipe.batch_size, quiet=True)
    plain, harness = in_helper_thread
    assert harness == plain == keras.src.backend.IS_THREAD_SAFE
    assert [len(steps) for steps in clocks.steps_per_epoch] == [3, 3]
    for steps, epoch in zip(clocks.steps_per_epoch, clocks.epochs.samples, strict=True):
        assert all(s > 0 for s in steps) and sum(steps) <= epoch


def test_a_speed_run_measures_speed_only_and_records_what_it_skipped(backend, tmp_path):
    if backend.name != "torch":
        pytest.skip("the worker skips alike on every backend: tested on torch")
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--profile", "speed", "--dataset", "synthetic",
        "--train-images", "300", "--batch-size", "100", "--threads", "1",
    )  # fmt: skip
    assert r.metrics.skipped == ["full evaluation", "predictions", "latency"]
    # a check on the test set's first 1,000 images (of the synthetic set's 2,000)
    assert r.recipe.test_images == 1000 and 0 <= r.metrics.test_accuracy <= 1
    assert r.artifacts.predictions is None and r.artifacts.final_weights
    files = sorted(p.name for p in store.runs_dir(tmp_path).iterdir())
    assert files == sorted([f"{r.run_id}.json", r.artifacts.final_weights])
    t = r.timings
    assert (t.predict_s, t.latency_s, t.latency_calls_s) == (None, None, None)
    assert t.evaluate_s > 0
    assert_every_second_accounted_for(t)
    assert r.metrics.per_epoch is None and r.artifacts.trajectory is None
    # afterwards, the ops of two steps, the longest first
    assert t.ops_s > 0 and t.ops.steps == 2 and 0 < t.ops.wall_s < t.ops_s
    seconds = [op.seconds for op in t.ops.top]
    assert seconds == sorted(seconds, reverse=True)
    assert sum(seconds) <= t.ops.op_s * (1 + 1e-9)  # the same sum in another order


def test_each_epoch_is_evaluated_on_the_clock_and_kept_as_a_trajectory(backend, tmp_path):
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--profile", "quick", "--epochs", "2",
        "--dataset", "synthetic", "--train-images", "1000", "--threads", "1",
    )  # fmt: skip
    p, t = r.metrics.per_epoch, r.timings
    assert p.target == 0.988 and p.target_from == "model"  # the seed model's
    assert len(p.accuracy) == len(p.evaluate_s) == len(p.elapsed_s) == 2 and not p.stopped
    # evaluated outside the epoch (and so the step) clocks, inside fit()
    assert all(e > 0 for e in p.evaluate_s)
    assert sum(t.epochs_s) + sum(p.evaluate_s) <= t.fit_s
    assert t.epochs_s[0] + p.evaluate_s[0] <= p.elapsed_s[0] < p.elapsed_s[1] <= t.fit_s
    classes, sketches = store.load_arrays(tmp_path, r, r.artifacts.trajectory)
    assert classes.shape == (2, r.recipe.test_images) and sketches.shape == (2, 4096)
    # the last epoch's prediction is the final one, and its accuracy the test accuracy
    [final] = store.load_arrays(tmp_path, r, r.artifacts.predictions)
    assert np.array_equal(classes[-1], final.argmax(axis=1))
    assert p.accuracy[-1] == pytest.approx(r.metrics.test_accuracy, abs=1e-6)
    assert not np.array_equal(sketches[0], sketches[1])


def test_stop_at_target_ends_the_run_after_the_first_epoch_there(backend, tmp_path):
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--profile", "quick", "--epochs", "3",
        "--dataset", "synthetic", "--train-images", "1000", "--threads", "1",
        "--target", "0.15", "--stop-at-target",
    )  # fmt: skip
    p = r.metrics.per_epoch
    assert p.target == 0.15 and p.target_from == "option" and p.stopped
    reached = p.reached_epoch
    assert p.accuracy[-1] >= 0.15 > max(p.accuracy[:-1], default=0)
    assert r.recipe.epochs == 3 and reached == len(p.accuracy) < 3
    assert len(r.metrics.history["loss"]) == len(r.timings.epochs_s) == reached
    assert p.reached_s == p.elapsed_s[-1] and r.spec.system == f"{backend.name} to target"
    orders = [starting_points.batch_order(1, e, 1000) for e in range(reached)]
    assert r.reproducibility.batch_order_digest == starting_points.digest(orders)


def test_perturb_init_moves_exactly_one_initial_weight_by_one_ulp(backend, keras):
    from harness.contract.spec import RunSpec
    from harness.worker.trainers import trainer_for
    from models import mnist_cnn

    spec = RunSpec(backend=backend.name, threads=1, seed=4, perturb_init=True)
    trainer = trainer_for(spec, backend, None)
    trainer.load()
    trainer.build(mnist_cnn, (28, 28, 1), 10, True)
    trainer.set_starting_point()
    start = starting_points.initial_weights(trainer.weight_plan(), 4)
    moved = trainer.get_weights()
    differ = [
        (i, np.flatnonzero(a != b)) for i, (a, b) in enumerate(zip(moved, start, strict=True))
    ]
    assert [(i, d.tolist()) for i, d in differ if d.size] == [(0, [0])]
    assert moved[0].flat[0] == np.nextafter(start[0].flat[0], np.float32(np.inf))


def test_quiet_prints_only_where_the_report_is_whatever_the_framework_logs(
    backend, tmp_path, another_run_holds_every_cpu
):
    # another harness run on the machine holds every CPU: the test's run has its own
    command = [sys.executable, "-m", "harness", "run", "--backend", backend.name, "--quiet",
               "--dataset", "synthetic", "--epochs", "1", "--train-images", "500",
               "--threads", "1", "--results", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    # TensorFlow's C++ log (its oneDNN notice, twice a run) stays off the terminal
    assert (done.stdout, done.stderr) == (f"report: {tmp_path / 'REPORT.md'}\n", "")


def test_tuned_settings_apply_and_are_recorded_with_where_they_came_from(backend, tmp_path):
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--dataset", "synthetic", "--settings", "tuned",
        "--epochs", "1", "--train-images", "500",
    )  # fmt: skip
    if not backend.tuning_space:  # keras2: nothing to tune, its defaults run
        assert r.spec.tuning is None
        return
    # no tuning record in this results folder: the plugin's declared fallback
    tuning = backend.tuning(dict(backend.fallback), "")
    assert dict(r.spec.tuning) == tuning.choice
    assert "fallback: no tuning record for" in r.spec.tuning_source
    assert r.recipe.tuning == {**tuning.to_dict(), "source": r.spec.tuning_source}
    assert tuning.env.items() <= r.environment.variables.items()
    if tuning.data_format:
        assert r.recipe.data_format == tuning.data_format
    if tuning.jit_compile is not None:
        assert r.recipe.jit_compile == tuning.jit_compile
    if tuning.code:  # code-level tuning (JAX's ops): recorded with how often it ran
        settings = r.backend_settings
        assert settings["tuned_ops"] and not settings["tuned_ops"][0].startswith("none")
        assert settings["tuned_calls"]["conv"] >= 2 and settings["tuned_calls"]["max_pool"] >= 1
    assert_every_second_accounted_for(r.timings)


def test_harness_initialisation_follows_keras_defaults_and_loads(keras, backend):
    import numpy as np

    from harness.worker import modelinfo
    from models import mnist_cnn

    keras.config.set_image_data_format("channels_last")
    model = mnist_cnn.build((28, 28, 1), 10)
    plan = modelinfo.weight_plan(keras, model)
    shapes = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (4096, 250), (250,), (250, 10), (10,)]
    # Glorot uniform kernels, zero biases: Keras's defaults.
    assert plan == [
        PlannedWeight(e.path, shape, "variance_scaling", 1.0, "fan_avg", "uniform")
        if len(shape) > 1
        else PlannedWeight.constant(e.path, shape, 0.0)
        for e, shape in zip(plan, shapes, strict=True)
    ]
    drawn = starting_points.initial_weights(plan, seed=3)
    model.set_weights(drawn)
    assert starting_points.digest(model.get_weights()) == starting_points.digest(drawn)
    # Keras's own draw has the same spread (the dense kernel: limit sqrt(6 / 4346) / sqrt(3)).
    keras_kernel = mnist_cnn.build((28, 28, 1), 10).get_weights()[4]
    assert np.std(drawn[4]) == pytest.approx(np.std(keras_kernel), rel=0.02)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_seed_model_flops_match_a_hand_count(keras, data_format):
    from harness.worker import modelinfo
    from models import mnist_cnn

    keras.config.set_image_data_format(data_format)
    shape = (28, 28, 1) if data_format == "channels_last" else (1, 28, 28)
    model = mnist_cnn.build(shape, 10)
    by_hand = 2 * (
        26 * 26 * 32 * (3 * 3 * 1)  # conv 3x3, 1 -> 32 channels, 26x26 outputs
        + 24 * 24 * 64 * (3 * 3 * 32)  # conv 3x3, 32 -> 64 channels, 24x24 outputs
        + 4096 * 250  # dense, 8x8x64 -> 250
        + 250 * 10  # dense, 250 -> 10
    )
    assert by_hand == 23_676_040  # "about 23.7 MFLOP forward"
    assert modelinfo.forward_flops(keras, model) == by_hand


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_batchnorm_model_builds_and_its_statistics_start_as_keras_sets_them(keras, data_format):
    from harness.worker import modelinfo
    from models import mnist_bn

    keras.config.set_image_data_format(data_format)
    shape = (28, 28, 1) if data_format == "channels_last" else (1, 28, 28)
    model = mnist_bn.build(shape, 10)
    # convs 288 + 18,432; three batch norms 4 x (32 + 64 + 128); dense 4,096 x 128 + 1,290
    assert model.count_params() == 288 + 18_432 + 4 * (32 + 64 + 128) + 524_288 + 1_290
    constants = [e for e in modelinfo.weight_plan(keras, model) if e.initializer == "constant"]
    # gamma 1, beta 0, moving mean 0, moving variance 1 for each of the three, and a bias
    assert [e.value for e in constants] == [1.0, 0.0, 0.0, 1.0] * 3 + [0.0]


def test_seed_model_trains_on_fashion_mnist(backend, tmp_path, mnist_dir):
    if backend.name != "tensorflow":
        pytest.skip("a dataset loads alike for every backend: tested once, on tensorflow")
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--dataset", "fashion_mnist", "--profile", "quick",
        "--data-dir", str(mnist_dir), "--train-images", "12000", "--batch-size", "50",
    )  # fmt: skip
    assert r.recipe.data_source == "fashion-mnist"
    assert r.recipe.test_images == 10000
    # Ten classes, chance 0.1; TensorFlow measured 80.5 % after these 240 steps.
    assert r.metrics.test_accuracy > 0.7


def test_batchnorm_model_trains_through_the_harness(backend, tmp_path, mnist_dir):
    r = harness_run(
        tmp_path,
        "--backend", backend.name, "--model", "mnist_bn", "--data-dir", str(mnist_dir),
        "--epochs", "2", "--train-images", "6000", "--batch-size", "32",
    )  # fmt: skip
    assert r.recipe.optimizer["class_name"] == "Adam" and r.recipe.epochs == 2
    # Test accuracy lags training accuracy until the moving statistics (momentum 0.99)
    # settle: after these 376 steps TensorFlow measured 45 % on the test set against
    # 98 % in training (on Fashion-MNIST: 66 % against 89 %; after 188 steps, 11 %).
    assert r.metrics.history["accuracy"][-1] > 0.9
    assert r.metrics.test_accuracy > 0.3


def test_keras_json_of_the_user_is_honoured_and_no_credential_or_path_is_written(backend, tmp_path):
    home = tmp_path / "keras_home"
    home.mkdir()
    settings = home / "keras.json"
    settings.write_text(
        '{"floatx": "float32", "epsilon": 1e-07, "backend": "jax", '
        '"image_data_format": "channels_first"}'
    )
    before = (settings.read_bytes(), settings.stat().st_mtime_ns)
    # Terraform's token and config file share TensorFlow's prefix; neither, nor the
    # Keras home's path, may reach a record or a report
    foreign = {"TF_TOKEN_app_terraform_io": "secret123", "TF_CLI_CONFIG_FILE": "/x/.terraformrc",
               "KERAS_API_KEY": "secret456"}  # fmt: skip
    # recorded variables whose values hold a home's paths and a URL's password
    user = tmp_path / "user"
    inside = {"XLA_FLAGS": f"--xla_dump_to={user}/dump", "TORCH_HOME": "~someone/th",
              "MALLOC_CONF": f"prof:true,prof_prefix:{user}/jeprof",
              "KERAS_REMOTE_URL": "https://alice:pw@example.com/x"}  # fmt: skip
    env = {**os.environ, "KERAS_HOME": str(home), **foreign, **inside, "HOME": str(user)}
    out = tmp_path / "results"
    command = [sys.executable, "-m", "harness", "run", "--backend", backend.name,
               "--dataset", "synthetic", "--epochs", "1", "--train-images", "500",
               "--threads", "1", "--results", str(out)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [r], _ = store.read_all(out)
    assert r.recipe.data_format == "channels_first"  # the user's default applied
    assert r.environment.keras_json["image_data_format"] == "channels_first"
    assert (settings.read_bytes(), settings.stat().st_mtime_ns) == before
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {f"{r.run_id}.json", "REPORT.md", "report.html"}
    assert r.environment.variables["TORCH_HOME"] == "<home>/th"
    for path in written:
        data = path.read_bytes()
        for name, value in [*foreign.items(), ("KERAS_HOME", str(home))]:
            assert name.encode() not in data and value.encode() not in data, (path, name)
        for part in (str(user), "someone", "alice", ":pw@"):
            assert part.encode() not in data, (path, part)


def test_a_separately_installed_plugin_package_adds_a_model_and_a_dataset(backend, tmp_path):
    if backend.name != "tensorflow":
        pytest.skip("plugins are found alike for every backend: tested once, on tensorflow")

    example = ROOT / "examples" / "harness-plugin-example"
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(site), str(example)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }
    listed = subprocess.run(
        [sys.executable, "-m", "harness", "list"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "tiny_mlp: 25,186 parameters" in listed.stdout  # 784 x 32 + 32 + 32 x 2 + 2
    assert "stripes: generated" in listed.stdout
    command = [sys.executable, "-m", "harness", "run", "--backend", backend.name,
               "--model", "tiny_mlp", "--dataset", "stripes", "--threads", "1",
               "--no-report", "--results", str(tmp_path / "results")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [r], _ = store.read_all(tmp_path / "results")
    assert (r.spec.model, r.spec.dataset, r.recipe.epochs) == ("tiny_mlp", "stripes", 2)
    assert r.metrics.test_accuracy > 0.9


def test_a_model_and_a_dataset_of_ones_own_in_one_file_each_train_and_are_known_by_digest(
    backend, tmp_path
):
    import hashlib

    import numpy as np

    own = tmp_path / "own"
    own.mkdir()
    (own / "dense_net.py").write_text(OWN_MODEL)
    # Three classes, each a fixed pattern of lit pixels under noise, 12 x 12 images.
    rng = np.random.default_rng(5)
    patterns = rng.random((3, 12, 12)) < 0.3

    def split(n):
        y = rng.integers(0, 3, n)
        x = patterns[y] * 150.0 + rng.normal(50, 30, (n, 12, 12))
        return np.clip(x, 0, 255).astype("uint8"), y

    (x_train, y_train), (x_test, y_test) = split(600), split(150)
    np.savez(own / "blobs.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    results_dir = tmp_path / "results"
    r = harness_run(
        results_dir, "--backend", backend.name, "--model", str(own / "dense_net.py"),
        "--dataset", str(own / "blobs.npz"), "--threads", "1",
    )  # fmt: skip
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in own.iterdir()}
    assert (r.spec.model, r.spec.model_sha256) == ("dense_net.py", digest["dense_net.py"])
    assert (r.spec.dataset, r.spec.dataset_sha256) == ("blobs.npz", digest["blobs.npz"])
    assert r.recipe.data_source == "blobs.npz"
    assert (r.recipe.classes, r.recipe.train_images, r.recipe.test_images) == (3, 600, 150)
    assert (r.recipe.epochs, r.recipe.batch_size) == (3, 32)  # the file's recipe
    assert r.recipe.parameters == 144 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3
    assert r.metrics.test_accuracy > 0.9
    for path in results_dir.rglob("*"):  # no path of this machine, in any file written
        assert not path.is_file() or str(tmp_path).encode() not in path.read_bytes(), path


@pytest.fixture
def jax_ops(backend, keras, monkeypatch):
    """harness.backends.jax_ops installed for one test; Keras's own ops returned too."""
    if backend.name != "jax":
        pytest.skip("the tuned JAX ops exist on the JAX backend only")
    from keras.src.backend.jax import nn

    from harness.backends import jax_ops

    keras_ops = {"max_pool": nn.max_pool, "conv": nn.conv}
    assert not any(hasattr(op, "harness_tuned") for op in keras_ops.values())
    for name, op in keras_ops.items():
        monkeypatch.setattr(nn, name, op)  # put back after the test
    jax_ops.install(keras.__version__)
    return nn, keras_ops


def _tuned_calls(op: str) -> int:
    from harness.backends import jax_ops

    return jax_ops.CALLS[op]


def _value_and_grads(op, *args, **kwargs):
    import jax  # noqa: TID251 (a test of the JAX backend's own ops)
    import numpy as np

    def loss(*xs):
        out = op(*xs, **kwargs)
        return (out * np.linspace(-1, 1, out.size).reshape(out.shape)).sum(), out

    (_, out), grads = jax.value_and_grad(loss, argnums=tuple(range(len(args))), has_aux=True)(*args)
    return np.asarray(out), [np.asarray(g) for g in grads]


def test_tuned_max_pool_is_bit_identical_to_keras_ties_included(jax_ops):
    import numpy as np

    nn, keras_ops = jax_ops
    # few distinct values: many windows hold their maximum twice
    x = np.random.default_rng(0).integers(0, 4, (2, 24, 24, 5)).astype("float32")
    for pool, strides in (((3, 3), (3, 3)), ((2, 2), (2, 2)), ((2, 2), (1, 1))):
        before = _tuned_calls("max_pool")
        tuned = _value_and_grads(nn.max_pool, x, pool_size=pool, strides=strides)
        # the tuned path where pool = strides, Keras's own where they overlap
        assert _tuned_calls("max_pool") - before == (pool == strides)
        plain = _value_and_grads(keras_ops["max_pool"], x, pool_size=pool, strides=strides)
        assert np.array_equal(tuned[0], plain[0])
        assert np.array_equal(tuned[1][0], plain[1][0])
        # without a gradient (prediction) too
        predicted = nn.max_pool(x, pool_size=pool, strides=strides)
        assert np.array_equal(np.asarray(predicted), plain[0])


def test_tuned_convolution_matches_keras_up_to_float_rounding(jax_ops):
    import numpy as np

    nn, keras_ops = jax_ops
    rng = np.random.default_rng(1)
    for channels in (1, 32):  # thin input: one im2col product; thick: shifted products
        x = rng.standard_normal((4, 12, 12, channels)).astype("float32")
        k = rng.standard_normal((3, 3, channels, 8)).astype("float32")
        before = _tuned_calls("conv")
        out, (dx, dk) = _value_and_grads(nn.conv, x, k)
        assert _tuned_calls("conv") == before + 1
        ref_out, (ref_dx, ref_dk) = _value_and_grads(keras_ops["conv"], x, k)
        assert np.array_equal(out, ref_out) and np.array_equal(dx, ref_dx)
        np.testing.assert_allclose(dk, ref_dk, rtol=1e-4, atol=1e-4)
    # a case it does not handle goes to Keras's own op
    strided = nn.conv(x, k, strides=2)
    assert np.array_equal(np.asarray(strided), np.asarray(keras_ops["conv"](x, k, strides=2)))


def test_the_tuned_seed_model_computes_what_stock_keras_does_through_its_tuned_ops(
    jax_ops, keras, monkeypatch
):
    import jax  # noqa: TID251 (a test of the JAX backend's own ops)
    import numpy as np

    from models import mnist_cnn

    nn, keras_ops = jax_ops
    keras.utils.set_random_seed(1)
    model = mnist_cnn.build((28, 28, 1), 10)
    rng = np.random.default_rng(2)
    x = rng.random((50, 28, 28, 1)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 50)]
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def loss(weights):  # dropout off: the same function on both paths
        out, _ = model.stateless_call(weights, fixed, x, training=False)
        return keras.losses.categorical_crossentropy(y, out).mean()

    calls = {op: _tuned_calls(op) for op in keras_ops}
    tuned_loss, tuned_grads = jax.value_and_grad(loss)(trainable)
    # both convolutions and the one pooling of the seed model took the tuned path
    assert {op: _tuned_calls(op) - n for op, n in calls.items()} == {"conv": 2, "max_pool": 1}
    for name, op in keras_ops.items():
        monkeypatch.setattr(nn, name, op)
    stock_loss, stock_grads = jax.value_and_grad(loss)(trainable)
    assert float(tuned_loss) == pytest.approx(float(stock_loss), rel=1e-6)
    for tuned, stock, v in zip(tuned_grads, stock_grads, model.trainable_variables, strict=True):
        # the kernel gradients are the same sums in another order: float32 rounding
        np.testing.assert_allclose(tuned, stock, rtol=1e-4, atol=1e-6, err_msg=v.path)


def test_the_tuned_ops_stay_out_of_a_keras_they_were_not_measured_on(jax_ops, monkeypatch):
    from harness.backends import jax_ops as ops

    nn, keras_ops = jax_ops
    for name, op in keras_ops.items():
        monkeypatch.setattr(nn, name, op)
    [said] = ops.install("3.99.0")
    assert said.startswith("none: the tuned ops were measured on Keras 3.15.1 only")
    assert (nn.max_pool, nn.conv) == (keras_ops["max_pool"], keras_ops["conv"])


def test_each_tuned_gradient_installs_alone_as_its_own_knob_says(
    backend, jax_ops, keras, monkeypatch
):
    from harness.backends import jax_ops as ops

    nn, keras_ops = jax_ops
    for knob, op, other in (("pool_grad", "max_pool", "conv"), ("conv_grad", "conv", "max_pool")):
        for name, original in keras_ops.items():
            monkeypatch.setattr(nn, name, original)
        code = backend.tuning({knob: "harness"}, "").code
        [said] = ops.install(keras.__version__, code)
        assert said.startswith(f"{op}: ")
        assert hasattr(getattr(nn, op), "harness_tuned")
        assert getattr(nn, other) is keras_ops[other]


def test_the_native_model_is_the_keras_model_agrees_with_it_and_trains_without_keras(
    backend, keras, tmp_path
):
    import numpy as np

    from harness.datasets.base import prepare
    from harness.datasets.synthetic import Synthetic
    from harness.worker import modelinfo, native
    from models import mnist_cnn

    implementation = native.load("mnist_cnn", backend.name)
    keras.config.set_image_data_format(implementation.data_format)
    shape = (28, 28, 1) if implementation.data_format == "channels_last" else (1, 28, 28)
    model, twin = mnist_cnn.build(shape, 10), implementation(shape, 10, seed=1, dropout=False)
    plan = modelinfo.weight_plan(keras, model)

    def unnamed(plan: list[PlannedWeight]) -> list[PlannedWeight]:
        # Keras numbers the layers of each build.
        return [dataclasses.replace(e, path="") for e in plan]

    assert unnamed(twin.weight_plan()) == unnamed(plan)
    assert twin.forward_flops() == modelinfo.forward_flops(keras, model)
    assert twin.parameters() == model.count_params() == 1_045_576
    drawn = starting_points.initial_weights(plan, seed=1)
    twin.set_weights(drawn)  # in Keras's layout, converted to the framework's and back
    assert starting_points.digest(twin.get_weights()) == starting_points.digest(drawn)

    # Parity as `harness parity` measures it, in this process: dropout off, the same
    # weights and batches, the untrained outputs and 10 steps' losses.
    model.set_weights(drawn)
    for layer in modelinfo.all_layers(model):
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    model.compile(optimizer=keras.optimizers.deserialize(
        {"class_name": "Adadelta", "config": {"learning_rate": 1.0}}),
        loss="categorical_crossentropy")  # fmt: skip
    twin.compile(seed_recipe(implementation.data_format, images=500, batch_size=500))
    loaded = Synthetic().load()
    x, y = prepare(loaded.train, implementation.data_format, 10, True)
    outputs = {"keras": model.predict(x[:200], verbose=0), "native": twin.predict_on_batch(x[:200])}
    plan = starting_points.batch_plan(1, 1, len(x), 100)[:10]
    probes = {
        "keras": numerics.Probe(outputs["keras"], np.array(
            [float(model.train_on_batch(x[i], y[i], return_dict=True)["loss"]) for i in plan])),
        "native": numerics.Probe(
            outputs["native"], np.array([twin.train_step(x[i], y[i])[0] for i in plan])),
    }  # fmt: skip
    [pair] = numerics.parity(probes, {"native": "keras"})
    assert pair.within_tolerance and pair.first_step_beyond is None, pair
    assert probes["native"].losses[-1] < probes["native"].losses[0]

    # A run without Keras: a stand-in `keras` that fails on import shadows the real one.
    blocker = tmp_path / "no-keras" / "keras"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('keras imported in a native run')")
    env = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    command = [sys.executable, "-m", "harness", "run", "--backend", backend.name,
               "--impl", "native", "--dataset", "synthetic", "--threads", "1", "--epochs", "2",
               "--train-images", "1000", "--batch-size", "300", "--no-report",
               "--results", str(tmp_path / "run")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [r], _ = store.read_all(tmp_path / "run")
    assert (r.spec.impl, r.recipe.anchor_of, r.recipe.data_format) == (
        "native",
        backend.name,
        implementation.data_format,
    )
    assert "keras" not in r.environment.libraries
    assert r.recipe.optimizer_class == implementation.optimizer
    assert [len(steps) for steps in r.timings.steps_s] == [4, 4]
    assert_every_second_accounted_for(r.timings)
    # the Keras runs' starting point: the same numpy draw, the same batches
    assert r.reproducibility.initial_weights_digest == starting_points.digest(drawn)
    orders = [starting_points.batch_order(1, epoch, 1000) for epoch in range(2)]
    assert r.reproducibility.batch_order_digest == starting_points.digest(orders)
    assert r.reproducibility.dropout_masks == schema.NATIVE_MASKS  # the framework's own


def test_keras_2_runs_the_same_model_file_from_the_same_start_and_agrees_in_parity(
    backend, tmp_path
):
    if backend.name != "tensorflow" or importlib.util.find_spec("tf_keras") is None:
        pytest.skip("Keras 2 runs beside TensorFlow: tox -e test-tf installs tf_keras")
    import numpy as np

    r = harness_run(
        tmp_path / "run", "--backend", "keras2", "--dataset", "synthetic", "--threads", "1",
        "--epochs", "1", "--train-images", "500",
    )  # fmt: skip
    assert r.environment.libraries["keras"] == r.environment.libraries["tf_keras"]
    assert r.reproducibility.dropout_masks == schema.BACKEND_MASKS  # Keras 2 has no keras.ops
    assert r.environment.libraries["keras"].startswith("2.")
    assert "without its dependencies" in r.backend_settings["tf_keras"]
    assert (r.recipe.jit_compile, r.recipe.anchor_of) == (False, "tensorflow")
    assert r.recipe.optimizer_class.startswith("tf_keras.")
    assert r.reproducibility.initial_weights_digest == seed_model_start(seed=1)
    # `parity` includes the anchors: Keras 2 brings Keras 3 on TensorFlow along.
    command = [sys.executable, "-m", "harness", "parity", "--backend", "keras2",
               "--dataset", "synthetic", "--batch-size", "100", "--steps", "10",
               "--results", str(tmp_path / "parity")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = parity_record.read(tmp_path / "parity" / "parity.json")
    [pair] = record.pairs
    assert pair.backends == ["tensorflow", "keras2"]
    assert pair.within_tolerance and pair.forward_max_abs == 0.0, pair
    assert all(np.isfinite(losses).all() for losses in record.losses.values())


def test_half_the_threads_pins_the_run_and_its_yardstick_to_half_its_cpus(backend, tmp_path):
    from harness.origin import fingerprint

    if "threads" not in {k.name for k in backend.tuning_space}:
        pytest.skip(f"{backend.name} has no threads knob")
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("half the threads needs a run of two")
    # a tuning record of this machine that chose threads=half
    [committed] = (ROOT / "results/speed/tuning").glob("torch-*")
    record = dataclasses.replace(
        tuning.read(committed), backend=backend.name, versions=backend.versions(),
        machine_id=fingerprint.fingerprint().machine_id, default={"threads": "all"},
        chosen={"threads": "half"}, trials=[],
    )  # fmt: skip
    tuning.write(record, tmp_path / "tuning")
    r = harness_run(tmp_path, "--backend", backend.name, "--dataset", "synthetic",
                    "--threads", "2", "--settings", "tuned", "--epochs", "1",
                    "--train-images", "200", "--batch-size", "100")  # fmt: skip
    assert r.spec.threads == 2 and dict(r.spec.tuning)["threads"] == "half"
    assert len(r.environment.cpus_used) == 1 and r.machine.matmul.threads == 1
    assert r.environment.variables["OMP_NUM_THREADS"] == "1"
    if "intra_op_threads" in r.backend_settings:
        assert r.backend_settings["intra_op_threads"] == 1


def test_a_real_tune_within_a_tiny_budget_writes_its_record_and_run_uses_it(backend, tmp_path):
    if not backend.tuning_space:
        pytest.skip(f"{backend.name} has nothing to tune")
    base = [sys.executable, "-m", "harness"]
    small = ["--backend", backend.name, "--dataset", "synthetic", "--threads", "1",
             "--batch-size", "100", "--results", str(tmp_path)]  # fmt: skip
    done = subprocess.run(
        [*base, "tune", *small, "--steps", "4", "--budget", "0.01"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "tuning").glob(f"{backend.name}-*.json")
    record = tuning.read(path)
    # the first candidate's first-pass round, the budget spent: the defaults stay
    first, *rest = record.trials
    assert first.first_pass and all(s > 0 for s in first.first_pass)
    assert all(t.verdict == tuning.NOT_TRIED for t in record.trials)
    assert record.chosen == record.default and not any(t.kept for t in record.trials)
    assert record.versions == backend.versions() and record.code is not None
    # run --settings tuned takes this machine's record, and says so, its results folder
    # as its placeholder
    r = harness_run(tmp_path, *small, "--settings", "tuned", "--epochs", "1",
                    "--train-images", "200")  # fmt: skip
    said = f"tuning record <results>/tuning/{path.name}; parity against the defaults"
    assert r.spec.tuning_source.startswith(said) and str(tmp_path) not in r.spec.tuning_source
    # the record's choice; a knob it lacks (one that cannot change anything here) at its default
    assert dict(r.spec.tuning) == backend.tuning(record.chosen, "").choice


BUILD = "def build(input_shape, num_classes):\n"
# A model's file that fails whatever way it can, and the line that says so.
BAD_MODELS = [
    ("import no_such_module_here\n" + OWN_MODEL,
     "model bad.py: running its file raised ModuleNotFoundError: No module named "
     "'no_such_module_here'"),
    (OWN_MODEL.replace(BUILD, BUILD + "    raise ValueError('<script>no</script>')\n"),
     "model bad.py: build() raised ValueError: <script>no</script>"),
    (OWN_MODEL.replace(BUILD, BUILD + "    return 42\n"),
     "model bad.py: build() returned int, not a keras.Model"),
    (OWN_MODEL.replace("layers.Dense(num_classes", "layers.Dense(num_classes + 1"),
     "model bad.py: build() made a model whose output has shape (None, 11), not (None, 10): "
     "one probability for each of the dataset's 10 classes"),
    ("import sys\nprint('hello')\nsys.exit(0)\n" + OWN_MODEL,
     "model bad.py: running its file called sys.exit(0)"),
    (OWN_MODEL.replace(BUILD, BUILD + "    print('bye')\n    import os\n    os._exit(0)\n"),
     "model bad.py: the worker ended without writing a result"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "message"), BAD_MODELS)
def test_a_model_file_that_fails_in_any_way_is_refused_in_one_line_before_any_run(
    backend, tmp_path, source, message
):
    if backend.name != "torch":
        pytest.skip("a model's file is checked alike on every backend: tested on torch")
    (tmp_path / "bad.py").write_text(source)
    command = [sys.executable, "-m", "harness", "run", "--backend", backend.name, "--model",
               str(tmp_path / "bad.py"), "--dataset", "synthetic", "--threads", "1",
               "--results", str(tmp_path / "results")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr[-3000:]
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {message}"), line
    assert not list((tmp_path / "results").rglob("*.json"))  # no run started


def test_a_model_whose_build_starts_a_process_neither_hangs_the_harness_nor_leaves_it(
    backend, tmp_path
):
    if backend.name != "torch":
        pytest.skip("the harness waits for its workers alike on every backend: tested on torch")
    marker = tmp_path / "sleeping"
    start = f"    import subprocess\n    subprocess.Popen(['sleep', '600', {str(marker)!r}])\n"
    (tmp_path / "spawns.py").write_text(OWN_MODEL.replace(BUILD, BUILD + start))
    r = harness_run(
        tmp_path / "results", "--backend", backend.name, "--model", str(tmp_path / "spawns.py"),
        "--dataset", "synthetic", "--epochs", "1", "--train-images", "500", "--threads", "1",
    )  # fmt: skip
    assert r.status == "ok"
    left = subprocess.run(["pgrep", "-f", f"sleep 600 {marker}"], capture_output=True, text=True)
    assert left.stdout == "", "the model's process outlived its worker"


def test_the_backends_profiler_gives_the_ops_of_training_steps_within_their_time(
    backend, keras, tmp_path
):
    from models import mnist_cnn

    model = mnist_cnn.build((28, 28, 1), 10)
    model.compile(optimizer="adadelta", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((100, 28, 28, 1), dtype="float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 100)]
    model.train_on_batch(x, y)  # traced and compiled outside the profile
    took = []

    def steps():
        started = time.perf_counter()
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
        took.append(time.perf_counter() - started)

    measured = backend.profile_ops(steps, tmp_path)
    assert took and measured.profiler and all(calls >= 1 for _, calls in measured.ops.values())
    # Op time is summed over threads: at most every CPU of the process all the while, and
    # on this convolution model most of the steps' wall time (in seconds, not µs or ps).
    op_s = sum(seconds for seconds, _ in measured.ops.values())
    assert 0.2 * took[0] < op_s <= 1.05 * len(os.sched_getaffinity(0)) * took[0]
