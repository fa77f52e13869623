"""A worker's failure in one line (harness/launch/process.py): the reason the parent
records for it, from its exit status and the tail of its output."""

import signal
import sys
import threading

import pytest

from harness.launch import process
from tests.factories import gone


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


# What TensorFlow's C++ logging writes on every run, before the worker's own lines, and
# PyTorch's profiler around an op profile.
FRAMEWORK_LOG = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796534494.151529   13283 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors.",
    "E1206 05:25:01.123456   13283 cuda_executor.cc:1228] could not find cuda drivers",
    "USDT:2026-12-08 02:41:31 20422:20422 SyncActivityProfilerHandler.cpp:52] profiler_start",
]


@pytest.mark.parametrize("quiet", [True, False])
def test_a_quiet_workers_framework_log_is_kept_in_its_tail_not_shown(capsys, quiet):
    # a worker that logs as TensorFlow and PyTorch's profiler do, then fails
    lines = [*FRAMEWORK_LOG, "error: it failed"]
    code = f"import sys\nprint(*{lines!r}, sep='\\n', file=sys.stderr)\nsys.exit(2)\n"
    code, tail = process.run_worker([sys.executable, "-c", code], {}, quiet)
    assert (code, tail) == (2, lines)
    shown = ["error: it failed"] if quiet else tail
    assert capsys.readouterr().err.splitlines() == shown


def test_the_harness_stops_waiting_when_the_worker_exits_and_ends_what_it_left():
    # a worker whose code (a model's build()) started a process that outlives it, holding
    # its stderr open
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen(['sleep', '600'])\n"
        "print(f'error: started {child.pid}', file=sys.stderr, flush=True)\n"
        "sys.exit(2)\n"
    )
    done: list = []
    waiting = threading.Thread(
        target=lambda: done.append(process.run_worker([sys.executable, "-c", code], {}))
    )
    waiting.start()
    waiting.join(timeout=120)
    assert not waiting.is_alive(), "the harness waits for the worker's leftover process"
    [(status, tail)] = done
    assert status == 2 and tail[-1].startswith("error: started ")
    left = int(tail[-1].split()[-1])
    assert gone(left, timeout=10)
