from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.backends import resolve
from harness.backends.base import Backend
from harness.backends.tensorflow import ONEDNN, onednn
from harness.contract.spec import available_cpus
from harness.launch import cpus as cpu_locks
from harness.launch import process
from harness.record import atomic, results, schema, store
from harness.worker import machine, timing
from tests.factories import SMALL, Started, make_failure, make_result

# TensorFlow in this process (the in-process backend tests) as the harness runs it in a
# worker, set before it is imported.
os.environ[ONEDNN] = onednn()


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


@pytest.fixture
def write_failure(tmp_path: Path):
    """Write the record of a run made by `make_result(**kwargs)` that failed for `reason`
    under tmp_path/runs; returns the record."""

    def write(reason: str, **kwargs) -> results.FailedRun:
        r = make_failure(reason, **kwargs)
        store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")
        return r

    return write


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
        started.profiled.append(task.profile_ops)
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


@pytest.fixture(scope="session", autouse=True)
def jax_compilation_cache(tmp_path_factory) -> Iterator[None]:
    """XLA's compiled programs shared by this session's JAX runs (every worker inherits
    the variables), every one of them however quick to compile: a one-step run on the
    synthetic data took 18 s here, of which 3.7 s built the model and 4.8 s trained, and
    11 s once the programs were cached. Where a record keeps these variables, the cache's
    folder, a path, is left out (`environment.recorded_variables`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path_factory.mktemp("jax-cache")))
        patch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        patch.setenv("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
        yield


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
