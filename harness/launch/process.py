"""Starting workers: one run of one cell in a fresh process, with its backend, thread
budget and tuning fixed before keras loads; what became of it, and a failure record
when it did not finish. This process never imports keras.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.backends import resolve, tuning_of
from harness.backends.base import Backend
from harness.contract import handover
from harness.contract.spec import ConfigError, RunSpec
from harness.contract.task import WorkerTask
from harness.record import atomic, described, places, results, schema, store
from harness.record.described import ModelSize

TAIL_LINES = 30  # lines of a failed worker's stderr kept in its failure record
# The frameworks' own C++ log lines (absl's format, and the line absl writes before it is
# set up; PyTorch's profiler, Kineto, its own): TensorFlow's oneDNN notice comes twice on
# every run, Kineto's start and stop at every op profile. A quiet worker's are kept in its
# tail (the failure record's log), not shown on the terminal.
FRAMEWORK_LOG = re.compile(
    r"[IWEF]\d{4} [\d:.]+ +\d+ [^ :]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|USDT:\d{4}-\d\d-\d\d [\d:]+ \d+:\d+ [^ :]+:\d+\] "
)


class Workers:
    """The worker processes an executor runs at once, so that they stop together (a
    failure with --fail-fast, Ctrl-C): each, terminated, removes its half-written files."""

    def __init__(self) -> None:
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.stopped = False

    def add(self, worker: subprocess.Popen) -> None:
        with self._lock:
            if self.stopped:
                worker.terminate()
            self._live.add(worker)

    def discard(self, worker: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(worker)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for worker in self._live:
                worker.terminate()


def start_worker(
    task: WorkerTask,
    stdout: IO | None = None,
    cpus: list[int] | None = None,
    workers: Workers | None = None,
) -> tuple[int, list[str]]:
    """Run `task` (its spec's) in a fresh `python -m harness.worker`, pinned to `cpus`
    (None: the first `spec.threads` CPUs of this process). Its output goes to the
    terminal (or `stdout`) as it comes, but for the frameworks' log lines when it is
    quiet; returns its exit status and the last lines of its stderr."""
    spec = task.spec
    assert spec is not None, "a worker that trains has a spec"
    env = handover.worker_env(resolve(spec.backend).env(spec.threads, tuning_of(spec)), cpus)
    return run_worker(task.argv(), env, task.quiet, stdout, workers)


def run_worker(
    command: list[str],
    env: dict[str, str],
    quiet: bool = False,
    stdout: IO | int | None = None,
    workers: Workers | None = None,
    shown: bool = True,
) -> tuple[int, list[str]]:
    """Run a worker's `command` in a process group of its own, its stderr relayed as it
    comes if `shown` (but for the frameworks' log lines when `quiet`); returns once the worker has
    exited, with its exit status and the last lines of its stderr. Whatever it started
    and left behind (a model's code may start processes) is ended with it: a child that
    holds its stderr open would otherwise keep this process waiting."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def relay(stream: IO[str]) -> None:
        for line in stream:
            if shown and not (quiet and FRAMEWORK_LOG.match(line)):
                sys.stderr.write(line)
            tail.append(line.rstrip("\n"))

    # Not a `with` block, whose end would close the pipe under the relay's read, waiting
    # for a process that left the group.
    worker = subprocess.Popen(
        command, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, process_group=0
    )
    if workers is not None:
        workers.add(worker)
    reader = threading.Thread(target=relay, args=(worker.stderr,), daemon=True)
    reader.start()
    try:
        code = worker.wait()
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): the worker removes its half-written files when
        # it is terminated; wait for that before going on.
        worker.terminate()
        worker.wait()
        raise
    finally:
        _end_group(worker.pid)
        if workers is not None:
            workers.discard(worker)
        # Its leftovers ended, the pipe closes: the last lines are in the tail.
        reader.join(timeout=LEFTOVER_S)
        if not reader.is_alive() and worker.stderr is not None:
            worker.stderr.close()
    return code, list(tail)


# How long the relay of a worker's stderr may go on after the worker and its group have
# ended: only a process that left the group (a new session) still holds the pipe.
LEFTOVER_S = 5.0


def _end_group(pgid: int) -> None:
    """Kill what is left of a worker's process group, the worker having exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def failure_reason(code: int, tail: list[str]) -> str:
    """Why a worker failed: its own error message, whole (from its last `error:` line to
    the end, every line of a "Looked in: ..." list), else what its exit status says."""
    for i in range(len(tail) - 1, -1, -1):
        if tail[i].startswith("error: "):
            return "\n".join([tail[i].removeprefix("error: "), *tail[i + 1 :]]).rstrip()
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (killed from outside; out of memory?)" if name == "SIGKILL" else ""
        return f"the worker was stopped by {name}{hint}"
    last = next((line for line in reversed(tail) if line.strip()), None)
    said = f"; its last output: {last}" if last else ", and printed nothing"
    if code == 0:  # sys.exit(0) or os._exit(0) in a model's code, before the result
        return f"the worker ended without writing a result{said}"
    return f"the worker ended with status {code} without writing a result{said}"


def said_by_worker(tail: list[str]) -> bool:
    """Whether the worker printed its own `error:` line (on stderr, which the user saw)."""
    return any(line.startswith("error: ") for line in tail)


def record_failure(
    spec: RunSpec, out: Path, reason: str, code: int | None, tail: list[str], invocation: str | None
) -> None:
    """Write a result that says the run failed and why, in words and lines that name
    its local folders by their placeholders (`places`)."""
    folders = places.local_folders(spec, out.parent.parent)
    failure = schema.Failure(
        reason=places.unplaced(reason, folders),
        exit_code=code,
        output_tail=[places.unplaced(line, folders) for line in tail],
    )
    store.write(
        results.FailedRun(
            run_id=out.name.removesuffix(".json"),
            created=store.utc_now(),
            spec=spec,
            failure=failure,
            invocation=invocation,
        ),
        out,
    )


@dataclass(frozen=True)
class Outcome:
    """What became of one run: its result, or why it failed (`told`: the worker said it
    in its own `error:` line; `unrecorded`: why its failure record could not be written)."""

    spec: RunSpec
    out: Path
    result: results.RunResult | None
    reason: str | None = None
    told: bool = False
    unrecorded: str | None = None


def launch(
    task: WorkerTask,
    stdout: IO | None = None,
    cpus: list[int] | None = None,
    workers: Workers | None = None,
) -> Outcome | None:
    """Run `task` (a spec, part of an invocation) into its result file; a run that fails
    leaves a failure record there instead, unless even that cannot be written (a full
    disk). None if the run was interrupted (`workers` stopped meanwhile, or Ctrl-C): its
    worker wrote nothing."""
    spec, out, invocation = task.spec, task.out, task.invocation
    assert spec is not None and invocation is not None, "a run has a spec and an invocation"
    try:
        code, tail = start_worker(task, stdout=stdout, cpus=cpus, workers=workers)
    finally:
        store.remove_leftovers(out)
    # Stopped with the others, or by a SIGINT of its own: interrupted.
    if code == -signal.SIGINT or (workers is not None and workers.stopped and code != 0):
        return None
    if code == 0 and out.is_file():
        try:
            record = store.read(out)
        except results.ResultError as e:  # replaced below by the failure's record
            reason = unreadable(e)
        else:
            if isinstance(record, results.RunResult):
                return Outcome(spec, out, record)
            reason = record.failure.reason
    else:
        reason = failure_reason(code, tail)
    return failed(spec, out, invocation, reason, code, tail)


def unreadable(e: ValueError) -> str:
    return f"the worker wrote a result the harness cannot read: {e}"


def failed(
    spec: RunSpec,
    out: Path,
    invocation: str,
    reason: str,
    code: int | None = None,
    tail: list[str] | None = None,
) -> Outcome:
    """A failed run's outcome, after its failure record is written to `out` (unless even
    that cannot be written: then the outcome says why)."""
    tail = tail or []
    try:
        record_failure(spec, out, reason, code, tail, invocation)
    except OSError as e:
        return Outcome(spec, out, None, reason, said_by_worker(tail), atomic.os_error(e))
    return Outcome(spec, out, None, reason, said_by_worker(tail))


def check_model(spec: RunSpec) -> None:
    """The model file of one's own of `spec`, built once in a worker before any run (its
    file run, its build() called for the run's data, the model checked): a ConfigError
    in one line if that fails, whatever the file does (raises, exits, returns no model,
    starts processes); nothing it prints is shown."""
    env = handover.worker_env(resolve(spec.backend).env(spec.threads, tuning_of(spec)), None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "built"
        task = WorkerTask(out, spec, check=True)
        code, tail = run_worker(task.argv(), env, stdout=subprocess.DEVNULL, shown=False)
        if code == 0 and out.is_file():
            return
    reason = failure_reason(code, tail)
    raise ConfigError(reason if said_by_worker(tail) else f"model {spec.model}: {reason}")


def describe(backend: Backend, names: list[str]) -> dict[str, ModelSize]:
    """Parameters and FLOPs of each model, built by a worker on `backend`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "models.json"
        env = {**os.environ, **backend.env(1)}
        command = WorkerTask(out, describe=tuple(names)).argv()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            reason = failure_reason(done.returncode, done.stderr.splitlines())
            raise ConfigError(f"could not build the models on {backend.name}: {reason}")
        return described.read(out)
