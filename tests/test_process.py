"""A worker's failure in one line (harness/launch/process.py): the reason the parent
records for it, from its exit status and the tail of its output."""

import signal

import pytest

from harness.contract.spec import RunSpec
from harness.contract.task import WorkerTask
from harness.launch import process


@pytest.mark.parametrize(
    ("code", "tail", "reason"),
    [
        (2, ["Traceback...", "error: MNIST could not be loaded"], "MNIST could not be loaded"),
        (
            -signal.SIGKILL,
            [],
            "the worker was stopped by SIGKILL (killed from outside; out of memory?)",
        ),
        (-signal.SIGSEGV, ["x"], "the worker was stopped by SIGSEGV"),
        (
            1,
            ["  File 'x'", "ValueError: bad", ""],
            "the worker ended with status 1 without writing a result; its last output: "
            "ValueError: bad",
        ),
        (1, [], "the worker ended with status 1 without writing a result, and printed nothing"),
        (0, ["built"], "the worker ended without writing a result; its last output: built"),
    ],
)
def test_failure_reason_prefers_the_workers_own_error_line(code, tail, reason):
    assert process.failure_reason(code, tail) == reason


def test_a_failures_reason_is_kept_whole():
    tail = [
        "Traceback ...",
        "error: mnist could not be loaded. Looked in:",
        "  - /data/mnist.npz: not found",
        "  - /keras/datasets/mnist.npz: not found",
        "",
    ]
    assert process.failure_reason(2, tail) == (
        "mnist could not be loaded. Looked in:\n  - /data/mnist.npz: not found\n"
        "  - /keras/datasets/mnist.npz: not found"
    )


# What TensorFlow's C++ logging writes on every run, before the worker's own lines.
TENSORFLOW_LOG = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796534494.151529   13283 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors.",
    "E1206 05:25:01.123456   13283 cuda_executor.cc:1228] could not find cuda drivers",
]


@pytest.mark.parametrize("quiet", [True, False])
def test_a_quiet_workers_framework_log_is_kept_in_its_tail_not_shown(
    monkeypatch, tmp_path, capsys, quiet
):
    class Worker:
        """A worker process that logs as TensorFlow does, then fails."""

        def __init__(self, command, **kwargs):
            self.stderr = iter(f"{line}\n" for line in [*TENSORFLOW_LOG, "error: it failed"])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self):
            return 2

    monkeypatch.setattr(process.subprocess, "Popen", Worker)
    spec = RunSpec(backend="torch", threads=1)
    code, tail = process.start_worker(WorkerTask(tmp_path / "run.json", spec, quiet=quiet))
    assert (code, tail) == (2, [*TENSORFLOW_LOG, "error: it failed"])
    shown = ["error: it failed"] if quiet else tail
    assert capsys.readouterr().err.splitlines() == shown
