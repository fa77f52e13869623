"""The worker's task (harness/contract/task.py): the one object that becomes a worker's
command line, and the worker reads back."""

import sys

import pytest

from harness.contract.spec import ConfigError, RunSpec
from harness.contract.task import WorkerTask


def test_a_worker_task_reads_back_from_the_command_line_it_makes(tmp_path):
    spec = RunSpec(backend="torch", threads=1, seed=3, tuning=(("malloc", "tuned"),))
    tasks = [
        WorkerTask(tmp_path / "run.json", spec, quiet=True, invocation="20261207T080000Z-ab"),
        WorkerTask(tmp_path / "speed.json", spec, invocation="20261207T0800Z-cd", profile_ops=True),
        WorkerTask(tmp_path / "probe.npz", spec, parity_steps=5),
        WorkerTask(tmp_path / "built", spec, check=True),
        WorkerTask(tmp_path / "models.json", describe=("mnist_cnn", "mnist_bn")),
    ]
    for task in tasks:
        argv = task.argv()
        assert argv[:3] == [sys.executable, "-m", "harness.worker"]
        assert WorkerTask.parse(argv[3:]) == task


def test_a_worker_task_trains_a_spec_or_describes_models(tmp_path):
    spec = RunSpec(backend="torch", threads=1)
    for both_or_neither in ({}, {"spec": spec, "describe": ("mnist_cnn",)}):
        with pytest.raises(ConfigError, match="trains a spec or describes models"):
            WorkerTask(tmp_path / "out.json", **both_or_neither)
