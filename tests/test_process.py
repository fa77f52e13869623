"""A worker's failure in one line (harness/launch/process.py): the reason the parent
records for it, from its exit status and the tail of its output."""

import signal

import pytest

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
            "the worker exited with status 1: ValueError: bad",
        ),
        (1, [], "the worker exited with status 1: no output"),
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
