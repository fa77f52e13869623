"""Faults during real runs: divergence, a killed worker, SIGTERM, two runs at once.
Backend tests: each runs in its backend's tox env on the synthetic dataset."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.contract.spec import RunSpec, available_cpus
from harness.contract.task import WorkerTask
from harness.record import store
from harness.summary import grouping
from tests.factories import gone, seed_recipe

pytestmark = pytest.mark.backend
SMALL = ["--dataset", "synthetic", "--threads", "1", "--train-images", "1000"]


def harness_command(backend, tmp_path: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "harness", "run", "--backend", backend.name,
            "--results", str(tmp_path), *SMALL, *argv]  # fmt: skip


def start(command: list[str], sigint=signal.SIG_DFL) -> subprocess.Popen:
    """The harness in a child whose SIGINT disposition is `sigint`, whatever this test
    process inherited (under nohup or in a background job, SIGINT comes ignored)."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )


def wait_for_training(proc: subprocess.Popen, seen: list[str]) -> int:
    """Read the harness's output until a worker prints its first epoch; the worker's pid."""
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Epoch "):
            return children_of(proc.pid)[0]
    raise AssertionError("training never started:\n" + "".join(seen[-30:]))


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.rglob("*") if p.name.startswith("."))


def test_a_diverging_run_is_recorded_as_failed_and_reported_without_accuracy(backend, tmp_path):
    done = subprocess.run(
        harness_command(backend, tmp_path, "--epochs", "3", "--learning-rate", "1e30"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    [r], warnings = store.read_all(tmp_path)
    assert warnings == [] and r.status == "failed"
    assert r.failure.reason.startswith("training diverged: the mean loss of epoch")
    assert "training diverged" in done.stderr
    md = (tmp_path / "REPORT.md").read_text()
    assert "## Failed runs" in md and "No run has succeeded yet" in md
    assert f"| {backend.name} |" not in md.split("## Failed runs")[0]


@pytest.fixture
def small_disk(tmp_path):
    """A file system of the size asked for (tmpfs), made by the function this gives.
    Mounting needs root; elsewhere the full disks injected in test_cli and test_results
    stand in for these tests."""
    mounted = []

    def mount(size: str) -> Path:
        where = tmp_path / "disk"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"no tmpfs can be mounted here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_costs_a_run_its_final_weights_not_the_run(backend, small_disk):
    if backend.name != "torch":
        pytest.skip("a worker writes its files alike on every backend: tested once, on torch")
    disk = small_disk("1m")  # room for a run's files and its report, not its weights (4 MiB)
    done = subprocess.run(
        harness_command(backend, disk, "--epochs", "1"), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [r], warnings = store.read_all(disk)
    assert warnings == [] and r.status == "ok" and r.artifacts.final_weights is None
    assert [line for line in done.stderr.splitlines() if "No space" in line] == [
        "warning: final weights left out, the run kept without them: No space left on device: "
        f"{disk}/runs/{r.run_id}.weights.npz"
    ]
    assert leftovers(disk) == [] and (disk / "REPORT.md").is_file()


def test_a_disk_without_room_for_the_predictions_fails_the_run_in_one_line(backend, small_disk):
    if backend.name != "torch":
        pytest.skip("a worker writes its files alike on every backend: tested once, on torch")
    disk = small_disk("64k")  # the test set's predictions take 80 kB
    done = subprocess.run(
        harness_command(backend, disk, "--epochs", "1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    err = done.stderr.splitlines()
    said = [line for line in err if "No space left on device" in line]
    assert said[0].startswith(f"error: cannot write {disk}/runs/"), err
    assert err[-1].startswith("error: 1 of 1 run failed: ") and "Traceback" not in done.stderr
    assert leftovers(disk) == []
    [r], warnings = store.read_all(disk)
    assert warnings == [] and r.status == "failed" and "No space left" in r.failure.reason


def test_a_killed_worker_is_recorded_and_the_next_run_goes_on(backend, tmp_path):
    if backend.name != "torch":
        pytest.skip("the parent records a killed worker alike on every backend: tested on torch")
    proc = start(harness_command(backend, tmp_path, "--epochs", "2", "--seeds", "1,2"))
    seen: list[str] = []
    os.kill(wait_for_training(proc, seen), signal.SIGKILL)
    output = "".join(seen) + proc.stdout.read()
    assert proc.wait(timeout=600) == 1, output[-3000:]
    found, warnings = store.read_all(tmp_path)
    assert warnings == []
    by_seed = {r.spec.seed: r for r in found}
    assert by_seed[1].status == "failed" and "SIGKILL" in by_seed[1].failure.reason
    assert by_seed[2].status == "ok" and by_seed[2].metrics.test_accuracy > 0
    assert "(seed 1): the worker was stopped by SIGKILL" in output
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("signum", "sigint"),
    [
        (signal.SIGINT, signal.SIG_DFL),  # Ctrl-C at a terminal
        (signal.SIGTERM, signal.SIG_IGN),  # under nohup, SIGINT ignored: SIGTERM stops it
    ],
)
def test_sigterm_or_ctrl_c_stops_the_run_and_leaves_no_partial_file(
    backend, tmp_path, signum, sigint
):
    proc = start(harness_command(backend, tmp_path, "--epochs", "50"), sigint)
    seen: list[str] = []
    worker = wait_for_training(proc, seen)
    proc.send_signal(signum)
    output = "".join(seen) + proc.stdout.read()
    assert proc.wait(timeout=120) == 128 + signum, output[-3000:]  # as a shell says
    assert "interrupted" in output
    assert gone(worker, timeout=10)
    assert list(store.runs_dir(tmp_path).iterdir()) == []
    assert not (tmp_path / "REPORT.md").exists()


def test_a_worker_dies_with_its_killed_parent_and_writes_nothing(backend, tmp_path):
    proc = start(harness_command(backend, tmp_path, "--epochs", "50"))
    seen: list[str] = []
    worker = wait_for_training(proc, seen)
    proc.kill()
    proc.wait(timeout=10)
    assert gone(worker, timeout=30), "the worker trains on after its parent was killed"
    assert list(store.runs_dir(tmp_path).iterdir()) == []


@pytest.mark.parametrize("impl", ["keras", "native"])
def test_a_run_asked_to_stop_takes_no_more_training_steps(backend, impl, monkeypatch):
    """Even when the signal's own exception was swallowed where it landed (JAX's
    tracing has bare excepts), the run asks again before each step and stops there."""
    from harness.contract.spec import RunSpec
    from harness.datasets.base import prepare
    from harness.datasets.synthetic import Synthetic
    from harness.worker import starting_points, trainers
    from harness.worker.stopping import STOP, Stopped
    from models import mnist_cnn

    spec = RunSpec(backend=backend.name, dataset="synthetic", threads=1, epochs=1, impl=impl)
    trainer = trainers.trainer_for(spec, backend, None)
    trainer.load()
    data_format = trainer.choose_data_format()
    loaded = Synthetic().load().train
    x, y = prepare(loaded, data_format, 10, one_hot=True)
    x, y = x[:200], y[:200]
    recipe = seed_recipe(data_format, images=200, batch_size=100)
    trainer.build(mnist_cnn, x.shape[1:], 10, dropout=True)
    trainer.set_starting_point()
    trainer.compile(recipe)
    before = starting_points.digest(trainer.get_weights())
    monkeypatch.setattr(STOP, "signum", signal.SIGTERM)  # asked, its exception lost
    with pytest.raises(Stopped):
        trainer.fit(x, y, recipe.epochs, recipe.batch_size, quiet=True)
    assert starting_points.digest(trainer.get_weights()) == before


def test_two_runs_at_once_and_reports_meanwhile_are_all_complete(backend, tmp_path):
    if backend.name != "torch":
        pytest.skip("results and reports are written alike on every backend: tested on torch")
    runs = [start(harness_command(backend, tmp_path, "--epochs", "2", "--no-report"))
            for _ in range(2)]  # fmt: skip
    reports = []
    while any(p.poll() is None for p in runs):
        subprocess.run(
            [sys.executable, "-m", "harness", "report", "--results", str(tmp_path)],
            capture_output=True,
            check=True,
        )
        reports.append((tmp_path / "REPORT.md").read_text())
        time.sleep(0.5)
    assert [p.wait() for p in runs] == [0, 0], [p.stdout.read()[-2000:] for p in runs]
    # Each report read while the runs were writing is whole: it reaches its last section
    # (before a run has ended, the sentence that says none has succeeded, and warnings).
    assert reports and all(
        md.endswith("\n") and ("## Environment" in md or "No run has succeeded yet" in md)
        for md in reports
    )
    found, warnings = store.read_all(tmp_path)
    assert warnings == [] and [r.status for r in found] == ["ok", "ok"]
    assert len({r.run_id for r in found}) == 2
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("train_images", 99999,
         "train_images must be <= 12000 (the synthetic training set), got 99999"),
        ("batch_size", 12001, "batch_size must be <= 12000 (the training images used), got 12001"),
    ],
)  # fmt: skip
def test_a_worker_refuses_numbers_larger_than_the_data_it_loaded_before_training(
    backend, tmp_path, field, value, reason
):
    """What `run` refuses for a dataset that declares its size (test_cli), the worker
    refuses for one that does not, once loaded; started by hand here, as `run` would
    not start it."""
    if backend.name != "torch":
        pytest.skip("a worker checks the numbers alike on every backend: tested on torch")
    spec = RunSpec(backend=backend.name, dataset="synthetic", threads=1, epochs=1, **{field: value})
    out = tmp_path / "runs" / "run.json"
    command = WorkerTask(out, spec).argv()
    env = {**os.environ, **backend.env(1)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 2 and done.stderr.splitlines()[-1] == f"error: {reason}"
    assert "Epoch" not in done.stdout and not out.parent.exists()


def jobs_on_torch_only(backend) -> None:
    if backend.name != "torch":
        pytest.skip("an executor starts every backend's worker alike: tested once, on torch")
    if len(available_cpus()) < 2:
        pytest.skip("two jobs of one thread need two CPUs")


def children_of(pid: int) -> list[int]:
    """The processes started by any thread of `pid` (--jobs starts workers from threads)."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def test_two_jobs_run_at_once_on_their_own_cpus_and_train_as_local_runs(backend, tmp_path):
    jobs_on_torch_only(backend)
    for folder, extra in (("jobs", ("--seeds", "1,2", "--jobs", "2")), ("local", ("--seeds", "2"))):
        done = subprocess.run(
            harness_command(backend, tmp_path / folder, "--epochs", "1", *extra),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    jobs, warnings = store.read_all(tmp_path / "jobs")
    [alone], _ = store.read_all(tmp_path / "local")
    assert warnings == [] and sorted(r.environment.cpus_used for r in jobs) == [[0], [1]]
    assert sorted(grouping.shared(jobs)) == sorted(r.run_id for r in jobs)  # at the same time
    twin = next(r for r in jobs if r.spec.seed == 2)
    for key in ("initial_weights_digest", "batch_order_digest"):
        assert getattr(twin.reproducibility, key) == getattr(alone.reproducibility, key)
    assert " ⇄ |" in (tmp_path / "jobs" / "REPORT.md").read_text()


def test_ctrl_c_stops_every_job_and_leaves_no_partial_file(backend, tmp_path):
    jobs_on_torch_only(backend)
    command = harness_command(
        backend, tmp_path, "--epochs", "50", "--seeds", "1,2,3", "--jobs", "2"
    )
    proc = start(command)
    seen: list[str] = []
    wait_for_training(proc, seen)
    time.sleep(2)  # the second job starts too
    workers = children_of(proc.pid)
    proc.send_signal(signal.SIGINT)
    output = "".join(seen) + proc.stdout.read()
    assert proc.wait(timeout=120) == 130, output[-3000:]
    assert "interrupted during" in output and len(workers) == 2
    assert all(gone(w, timeout=10) for w in workers)
    assert list(store.runs_dir(tmp_path).iterdir()) == []
