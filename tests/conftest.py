from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.backends import resolve
from harness.backends.base import Backend
from harness.backends.tensorflow import ONEDNN, onednn
from harness.contract.spec import RunSpec, available_cpus
from harness.launch import cpus as cpu_locks
from harness.launch import process
from harness.record import atomic, results, schema, store
from harness.worker import machine, timing

# TensorFlow in this process (the in-process backend tests) as the harness runs it in a
# worker, set before it is imported.
os.environ[ONEDNN] = onednn()


def make_result(
    backend: str = "tensorflow",
    seed: int = 1,
    accuracy: float = 0.99,
    loss: float = 0.03,
    epochs_s: tuple[float, ...] = (30.0, 20.0, 21.0, 19.0),
    profile: str = "seed",
    created: str = "2026-11-25T10:00:00Z",
    digests: tuple[str | None, str | None, str | None] = ("w", "b", "f"),
    dropout_masks: str | None = None,
    artifacts: dict | None = None,
    deterministic: bool = False,
    data_format: str = "channels_last",
    steps: int = 4,
    steps_s: list[list[float]] | None = None,
    peak_gflops: float = 100.0,
    other_share: float = 0.01,
    commit: str = "abc1234def",
    dirty: bool = False,
    invocation: str | None = None,
    host: str | None = None,
    impl: str = "keras",
    anchor_of: str | None = None,
    node: str | None = None,
    machine_id: str = "m1",
    round: int | None = None,
    tuning: tuple[tuple[str, str], ...] | None = None,
    skipped: tuple[str, ...] = (),
) -> results.RunResult:
    """A complete, valid result record with the numbers a test chooses."""
    spec = RunSpec(
        backend=backend, profile=profile, seed=seed, threads=1, deterministic=deterministic,
        impl=impl, round=round, tuning=tuning,
        tuning_source=None if tuning is None else "a test's tuning record",
    )  # fmt: skip
    fit_s = sum(epochs_s) + 0.5
    phases = dict.fromkeys(schema.PHASES, 0.1) | {
        "interpreter_s": 0.3, "import_s": 2.0, "data_load_s": 0.5, "fit_s": fit_s,
        "evaluate_s": 1.5,
    }  # fmt: skip
    return results.RunResult(
        run_id=store.new_run_id(backend, spec.model, spec.dataset, profile, seed),
        created=created,
        spec=spec,
        recipe=schema.Recipe(
            epochs=len(epochs_s),
            batch_size=500,
            train_images=500 * steps,
            test_images=10000,
            classes=10,
            optimizer={"class_name": "Adadelta", "config": {"learning_rate": 1.0}},
            loss="categorical_crossentropy",
            data_format=data_format,
            jit_compile=backend == "jax",
            parameters=1045576,
            reference_accuracy=0.9906,
            anchor_of=anchor_of,
        ),
        environment=schema.Environment(
            python="3.11.7",
            cpu_model="Test CPU",
            cpus_used=[0],
            libraries={"keras": "3.15.1", backend: "1.0"},
            variables={"KERAS_BACKEND": backend},
            git=schema.Git(commit=commit, dirty=dirty),
            host=host,
            node=node,
        ),
        backend_settings={},
        timings=schema.Timings(
            **phases,
            wall_s=sum(phases.values()) + 0.05,
            unaccounted_s=0.05,
            epochs_s=list(epochs_s),
            # `steps` equal steps an epoch
            steps_s=steps_s or [[e / steps] * steps for e in epochs_s],
            latency_calls_s={"1": [0.002, 0.003, 0.002], "500": [0.3, 0.31, 0.29]},
        ),
        metrics=schema.Metrics(
            history={"loss": [0.3] * len(epochs_s), "accuracy": [0.9] * len(epochs_s)},
            test_loss=loss,
            test_accuracy=accuracy,
            skipped=list(skipped),
        ),
        memory=schema.Memory(peak_rss_mib=1000.0),
        machine=schema.Machine(
            matmul=schema.Matmul(
                threads=1, n=2048, gflops=[peak_gflops], median_gflops=peak_gflops
            ),
            during_fit=schema.DuringFit(
                cpus=[0],
                interval_s=fit_s,
                other_cpu_s=other_share * fit_s,
                other_share=other_share,
                loadavg_1min=[0.1, 0.2],
            ),
            fingerprint=schema.Fingerprint(
                machine_id=machine_id,
                vendor="GenuineIntel",
                family=6,
                model=207,
                stepping=2,
                isa=["avx2", "avx512f"],
                memory_gib=23.5,
                kernel="6.18",
                vm=True,
            ),  # fmt: skip
        ),
        reproducibility=schema.Reproducibility(
            **dict(zip(schema.DIGESTS, digests, strict=True)), dropout_masks=dropout_masks
        ),
        artifacts=schema.Artifacts(**(artifacts or {})),
        invocation=invocation,
    )


def seed_recipe(data_format: str, images: int, batch_size: int) -> schema.Recipe:
    """The seed model's recipe (its optimizer and loss) for a short in-process run of
    one epoch on `images` synthetic images."""
    from models import mnist_cnn

    return schema.Recipe(
        epochs=1, batch_size=batch_size, train_images=images, test_images=images, classes=10,
        optimizer=mnist_cnn.DEFAULTS["optimizer"], loss=mnist_cnn.DEFAULTS["loss"],
        data_format=data_format,
    )  # fmt: skip


@pytest.fixture
def write_result(tmp_path: Path):
    """Write a result made by `make_result(**kwargs)` under tmp_path/runs, with its
    predictions and final weights when given; returns the result's path."""

    def write(predictions=None, final_weights=None, **kwargs) -> Path:
        r = make_result(**kwargs)
        runs = store.runs_dir(tmp_path)
        artifacts = {}
        for key, arrays in (("predictions", predictions), ("final_weights", final_weights)):
            if arrays is not None:
                artifacts[key] = f"{r.run_id}.{key}.npz"
                with atomic.atomic_file(runs / artifacts[key], "wb") as f:
                    np.savez(f, *arrays)
        r = dataclasses.replace(r, artifacts=schema.Artifacts(**artifacts))
        path = runs / f"{r.run_id}.json"
        store.write(r, path)
        return path

    return write


def make_failure(reason: str, exit_code: int = 2, **kwargs) -> results.FailedRun:
    """The record of the run `make_result(**kwargs)` describes, had it failed for `reason`."""
    made = make_result(**kwargs)
    return results.FailedRun(
        run_id=made.run_id,
        created=made.created,
        spec=made.spec,
        failure=schema.Failure(reason=reason, exit_code=exit_code, output_tail=[]),
        invocation=made.invocation,
    )


@pytest.fixture
def write_failure(tmp_path: Path):
    """Write the record of a run made by `make_result(**kwargs)` that failed for `reason`
    under tmp_path/runs; returns the record."""

    def write(reason: str, **kwargs) -> results.FailedRun:
        r = make_failure(reason, **kwargs)
        store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")
        return r

    return write


# What a hostile user puts in a name or a message, each of which would run (change the
# page's title or log to its console) or be markup if a page took it as HTML or Markdown.
HOSTILE = (
    "<img src=x onerror=\"console.log('ran');document.title='ran'\">",
    "<script>console.log('ran');document.title='ran'</script>",
    "<body onload=\"console.log('ran')\" data-ran=1>",
    "**bold** __strong__ `code` [link](javascript:console.log('ran')) ![pic](x.png) a|b",
)


def write_hostile(results_dir: Path) -> None:
    """A run and a failed run in results_dir/runs whose every string a report shows holds
    HOSTILE markup: the model's file name, the machine's id, Python, the CPU's model, the
    library versions, variables, keras.json, settings and the failure's reason."""
    hostile = " ".join(HOSTILE)
    made = make_result(backend="torch", machine_id=hostile)
    made = dataclasses.replace(
        made,
        spec=dataclasses.replace(made.spec, model=f"{HOSTILE[0]}.py"),
        environment=dataclasses.replace(
            made.environment,
            python=f"3.12.3 {hostile}",
            cpu_model=hostile,
            libraries={"keras": hostile, "torch": HOSTILE[1]},
            variables={"KERAS_BACKEND": "torch", "XLA_FLAGS": hostile},
            keras_json={"image_data_format": hostile},
        ),
        backend_settings={"threads": hostile},
    )
    failed = make_failure(f"build() raised ValueError: {hostile}", backend="jax")
    for r in (made, failed):
        store.write(r, store.runs_dir(results_dir) / f"{r.run_id}.json")


@pytest.fixture
def no_measuring(monkeypatch):
    """Measuring the machine fails the test: a summary or report measures nothing."""

    def refuse(*args, **kwargs):
        raise AssertionError("the report measured the machine")

    monkeypatch.setattr(timing, "matmul_gflops", refuse)
    monkeypatch.setattr(machine, "matmul_peak", refuse)


@pytest.fixture
def no_run(monkeypatch):
    """Backends that count as installed, and workers that must never start."""
    monkeypatch.setattr(Backend, "installed", lambda self: True)

    def start_worker(*args, **kwargs):
        raise AssertionError("a worker started")

    monkeypatch.setattr(process, "start_worker", start_worker)
    monkeypatch.setattr(process, "check_model", start_worker)


class Started(list):
    """(backend, whether it is quiet, stdout) of each worker started; `pinned`: its CPUs;
    `specs`: its spec; `checked`: the spec of each model file built before the runs;
    `result_of(spec)`: what its record holds beyond `make_result`'s defaults (a test sets
    it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pinned: list[list[int] | None] = []
        self.specs: list[RunSpec] = []
        self.checked: list[RunSpec] = []
        self.result_of: Callable[[RunSpec], dict] = lambda spec: {}


@pytest.fixture
def fake_workers(monkeypatch, tmp_path_factory):
    """Workers that succeed, or fail with the exit status listed for their backend; the
    CPU locks of their runs in a folder of the test's own, so that a harness run going on
    beside the tests takes none of their CPUs."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("locks")))
    monkeypatch.setattr(Backend, "installed", lambda self: True)
    started = Started()

    def start_worker(task, stdout=None, cpus=None, workers=None):
        spec, out, invocation = task.spec, task.out, task.invocation
        assert invocation is not None  # every run knows the `run` it came from
        started.append((spec.backend, task.quiet, stdout))
        started.pinned.append(cpus)
        started.specs.append(spec)
        code = {"jax": 2}.get(spec.backend, 0)
        if code == 0:
            r = dataclasses.replace(
                make_result(backend=spec.backend, seed=spec.seed, **started.result_of(spec)),
                spec=spec.recorded_form(),
                invocation=invocation,
            )
            store.write(r, out)
            return 0, []
        # As the real one, the worker's stderr reaches the user as it comes.
        tail = ["error: training diverged: the mean loss of epoch 1 was nan"]
        print(*tail, sep="\n", file=sys.stderr)
        return code, tail

    monkeypatch.setattr(process, "start_worker", start_worker)
    monkeypatch.setattr(process, "check_model", started.checked.append)
    return started


@pytest.fixture
def mnist_dir() -> Path:
    """The directory holding a real mnist.npz, named by HARNESS_DATA_DIR."""
    value = os.environ.get("HARNESS_DATA_DIR")
    if not value or not (Path(value) / "mnist.npz").is_file():
        pytest.fail(
            "these tests need the real MNIST: set HARNESS_DATA_DIR to a directory holding "
            "mnist.npz (in this project's CI: ../shared/data)"
        )
    return Path(value)


# A model of one's own in one file (`--model path/to/model.py`): a few Dense layers over
# the flattened images, with the contract of a model plugin.
OWN_MODEL = """\
import keras
from keras import layers

DEFAULTS = {
    "epochs": 3,
    "batch_size": 32,
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
    "loss": "categorical_crossentropy",
}


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
"""

# One step of one epoch, one thread, deterministic: the cheapest run that trains.
SMALL = ["--dataset", "synthetic", "--threads", "1", "--epochs", "1", "--train-images", "500",
         "--deterministic"]  # fmt: skip


@pytest.fixture(scope="session")
def small_local_runs(tmp_path_factory) -> Path:
    """A results folder of SMALL runs of seed 1 on the three backends, two at once (a
    CPU each), made once for the cross-backend tests (tox -e test-cross): the starting
    points they compare, and the local twins of the runs on Ray."""
    missing = [m for m in ("tensorflow", "jax", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs the three frameworks in one environment (missing {missing})")
    where = tmp_path_factory.mktemp("small-local")
    command = [sys.executable, "-m", "harness", "run", "--backend", "tf,jax,torch", *SMALL,
               "--jobs", "2", "--no-report", "--results", str(where)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return where


@pytest.fixture(scope="session")
def backend():
    """The backend of this test environment, named by KERAS_BACKEND (set by tox)."""
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        pytest.skip("KERAS_BACKEND is not set: run these in tox -e test-tf, test-jax or test-torch")
    b = resolve(name)
    if importlib.util.find_spec(b.module) is None:
        pytest.skip(b.install_hint())
    return b


@pytest.fixture(autouse=True)
def own_keras_home(request, tmp_path_factory, monkeypatch):
    """Unit tests read no keras.json of the user running them (an invalid one would be
    refused): each starts with an empty Keras home of its own."""
    if not any(request.node.get_closest_marker(m) for m in ("backend", "cross_backend")):
        monkeypatch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))


@pytest.fixture
def terminal_signals():
    """Signals as a terminal's user sends them: SIGINT raising KeyboardInterrupt (under
    nohup or in a background job it comes ignored), and a SIGTERM that no handler of the
    harness catches failing the test instead of killing it."""

    def escaped(signum, frame):
        raise AssertionError("SIGTERM reached the test: no handler of the harness caught it")

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, escaped),
    }
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def stopped_main(argv: list[str]) -> int:
    """`cli.main` of a command that is stopped meanwhile; the interruption escaping it (a
    traceback for the user, status -2) fails the test instead of stopping the session."""
    from harness import cli

    try:
        return cli.main(argv)
    except KeyboardInterrupt as e:
        pytest.fail(f"{type(e).__name__} escaped `{' '.join(argv[:1])}`: a traceback")


@pytest.fixture(scope="session", autouse=True)
def machine_tmp(tmp_path_factory) -> Iterator[Path]:
    """The machine's temporary folder, where a harness run outside the tests holds its
    CPUs' lock files; the tests' runs, in this process and in every child (which
    inherits TMPDIR), hold theirs in a folder of this session's own, so that another
    harness run on the machine neither takes their CPUs nor makes them warn."""
    machine = Path(tempfile.gettempdir())
    own = tmp_path_factory.mktemp("tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(own))
        patch.setattr(tempfile, "tempdir", str(own))
        yield machine


@pytest.fixture
def another_run_holds_every_cpu(machine_tmp):
    """Every CPU of this machine held, as by another harness run outside the tests: each
    CPU's lock file in the machine's temporary folder (but those such a run holds
    already)."""
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tempfile, "tempdir", str(machine_tmp))
            for _ in available_cpus():
                stack.enter_context(cpu_locks.free(1))
        yield


@pytest.fixture
def own_tmp(tmp_path, monkeypatch):
    """tempfile's folder (where the CPU locks live) in this test's own folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def gone(pid: int, timeout: float) -> bool:
    """Whether process `pid` ended (or is a zombie nobody reaped) within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.2)
    return False


def load_script(name: str):
    """scripts/<name>.py as a module: the scripts are run by hand, and tested here."""
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass of the script looks its module up there
    spec.loader.exec_module(module)
    return module
