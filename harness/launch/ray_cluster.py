"""Runs on a Ray cluster (`--executor ray --address HOST:PORT`): each run is a Ray task
asking for `--threads` CPUs which, on the node Ray gives it, starts the same worker
process as on this machine (`process.launch`) into a folder of the node's own, and sends
back what it wrote; this process (the driver) publishes those files into the results
folder, the result file last. Ray is imported here alone, and only when it is used:
every node needs the harness, its backends and Ray installed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contract import handover
from harness.contract.spec import OWN_FILES, ConfigError, RunSpec
from harness.contract.task import WorkerTask
from harness.launch import cpus as cpus_held
from harness.launch import executors, process
from harness.record import atomic, results, store

INSTALL_HINT = "pip install 'keras-backend-harness[ray]' here and on every node"


@dataclass(frozen=True)
class Sent:
    """What a run's task sends back from its node: the files its worker wrote (by name),
    why the run failed if it did, whether the worker said so itself, and whether it was
    interrupted (then it wrote nothing)."""

    files: dict[str, bytes]
    reason: str | None = None
    told: bool = False
    interrupted: bool = False


class Ray:
    """The runs as tasks of the Ray cluster at `address`, which is reached and checked
    here: an unreachable address, or no node with `threads` CPUs, is refused before any
    run starts. `exclusive`: one run per node at a time; `retries`: how many times a run
    whose node was lost is rerun."""

    at_once: int | None = None  # Ray places the runs, as many at once as the cluster holds

    def __init__(self, address: str, threads: int, exclusive: bool, retries: int) -> None:
        # Ray folds repeated lines of different tasks into one; each run's epochs count.
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        try:
            import ray
        except ImportError:
            raise ConfigError(f"--executor ray needs Ray: {INSTALL_HINT}") from None
        self.ray, self.address, self.retries = ray, address, retries
        reach(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
        except (OSError, RuntimeError, ValueError) as e:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {first_line(e)}") from e
        try:
            sizes = sorted(n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"])
            if not sizes or sizes[-1] < threads:
                have = ", ".join(f"{s:g}" for s in sizes) or "none"
                raise ConfigError(
                    f"no node of the Ray cluster at {address} has {threads} CPUs for "
                    f"--threads {threads} (its nodes' CPUs: {have}): lower --threads"
                )
        except BaseException:
            ray.shutdown()
            raise
        # Ray's CPUs are counts, not places, and Ray has no "a whole node": a run that
        # asks for as many CPUs as the largest node has gets a node to itself, shared
        # with no other run nor any other Ray task (smaller nodes then stay idle).
        self.task = ray.remote(run_on_node)
        self.options = {
            "num_cpus": sizes[-1] if exclusive else threads,
            "max_retries": retries,  # Ray's default reruns a lost task 3 times
            "scheduling_strategy": "SPREAD",
        }
        self._lock = threading.Lock()
        self._running: set = set()  # the ObjectRefs of the runs not yet finished
        self.stopped = False

    def map(self, specs: Iterable[RunSpec], start: executors.Start) -> Iterator[process.Outcome]:
        """Outcomes as runs finish. Every run is handed to Ray at once and Ray places
        them; leaving early (--fail-fast, Ctrl-C) cancels every run not finished."""
        here = executors.Place(f", handed to the Ray cluster at {self.address}", self.launch)
        calls = [functools.partial(start, spec, here) for spec in specs]
        try:
            yield from executors.as_finished(calls, self.stop, len(calls))
        finally:
            self.ray.shutdown()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for ref in self._running:
                # force: the task's process is killed, and its worker with it (the worker
                # dies with its parent); a task not yet started never starts.
                self.ray.cancel(ref, force=True)

    def launch(self, task: WorkerTask, stdout=None) -> process.Outcome | None:
        """`process.launch` on a node: the run's files end in its `out`'s folder."""
        spec, out, invocation = task.spec, task.out, task.invocation
        assert spec is not None and invocation is not None, "a run has a spec and an invocation"
        if spec.data_dir:  # the nodes' working folders are not this one
            spec = dataclasses.replace(spec, data_dir=os.path.abspath(spec.data_dir))
            task = dataclasses.replace(task, spec=spec)
        try:
            files = own_files(spec)
        except OSError as e:
            reason = f"cannot send the run's own files to its node: {atomic.os_error(e)}"
            return process.failed(spec, out, invocation, reason)
        with self._lock:
            if self.stopped:
                return None
            ref = self.task.options(name=f"{spec.backend} seed {spec.seed}", **self.options).remote(
                task, stdout is not None, files
            )
            self._running.add(ref)
        exceptions = self.ray.exceptions
        try:
            sent = self.ray.get(ref)
        except exceptions.RayError as e:
            if self.stopped:
                return None
            if isinstance(e, exceptions.RayTaskError):  # the task itself failed (not Ray)
                reason = f"the Ray task failed on its node: {first_line(e.cause or e)}"
            else:
                again = f", and on each of {self.retries} reruns" if self.retries else ""
                node = re.search(r"node ID: (\w+)", str(e))
                reason = (
                    f"node lost: the Ray node running it died or was cut off{again} "
                    f"({type(e).__name__}: {first_line(e).split('. ')[0]}"
                    + (f"; node {node[1]}" if node else "")
                    + ")"
                )
            return process.failed(spec, out, invocation, reason)
        finally:
            with self._lock:
                self._running.discard(ref)
        return None if sent.interrupted else publish(spec, out, invocation, sent)


def publish(spec: RunSpec, out: Path, invocation: str, sent: Sent) -> process.Outcome:
    """The files a node sent, published beside each other at `out`, the result last
    (all or none); the run's outcome."""
    if out.name not in sent.files:  # not even its failure could be recorded on the node
        return process.failed(spec, out, invocation, sent.reason or "the node sent no result")
    files = store.RunFiles(out)
    try:
        for name, data in sent.files.items():
            if name != out.name:
                files.stage_bytes(name, data)
        record = results.from_dict(json.loads(sent.files[out.name]))
        files.publish(record)
    except ValueError as e:  # not JSON, or not a record this harness reads (ResultError)
        return process.failed(spec, out, invocation, process.unreadable(e))
    except OSError as e:
        return process.failed(
            spec, out, invocation, f"cannot write the run's files: {atomic.os_error(e)}"
        )
    finally:
        files.discard()
    if isinstance(record, results.FailedRun):
        return process.Outcome(spec, out, None, sent.reason, sent.told)
    return process.Outcome(spec, out, record)


def first_line(e: BaseException) -> str:
    return next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)


# A gRPC server (Ray's head) answers the HTTP/2 preface and an empty SETTINGS frame with
# a SETTINGS frame (type 4) of its own; a web server (the dashboard) does not.
HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def reach(address: str, timeout_s: float = 5.0) -> None:
    """Refuse at once an address where no Ray head listens: Ray itself would retry for a
    minute or more. `ray://` addresses (Ray Client) included."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address must be HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
            s.sendall(HTTP2_HELLO)
            answer = s.recv(9)
    except OSError as e:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address}: {e.strerror or e} (start one with "
            "`ray start --head`, or check the address it printed)"
        ) from None
    if len(answer) < 4 or answer[3] != 4:
        raise ConfigError(
            f"{address} answers, but not as a Ray cluster's head: give the address "
            "`ray start --head` printed (not the dashboard's)"
        )


def own_files(spec: RunSpec) -> dict[str, bytes]:
    """The bytes of the run's files of one's own (--model my_model.py, --dataset
    digits.npz), by the spec field that locates each: a node has no copy of them."""
    paths = {f"{kind}_path": getattr(spec, f"{kind}_path") for kind in OWN_FILES}
    return {field: Path(path).read_bytes() for field, path in paths.items() if path}


# --- on the node ---------------------------------------------------------------------


def placed(spec: RunSpec, files: dict[str, bytes], folder: Path) -> RunSpec:
    """`spec` with its files of one's own written into `folder` under their own names
    (a record names them so), and located there."""
    moved: dict[str, Any] = {}
    for field, data in files.items():
        path = folder / getattr(spec, field.removesuffix("_path"))
        path.write_bytes(data)
        moved[field] = str(path)
    return dataclasses.replace(spec, **moved)


def run_on_node(task: WorkerTask, to_stderr: bool, files: dict[str, bytes]) -> Sent:
    """The Ray task of one run: its worker, on CPUs of this host no other run of the
    harness holds, writing into a folder of this host, its own files beside it; what it
    wrote, sent back."""
    import ray

    # The worker records the node; this process (a Ray worker) lives on one node only.
    os.environ[handover.NODE_ENV] = ray.get_runtime_context().get_node_id()
    spec = task.spec
    assert spec is not None, "a run has a spec"
    with cpus_held.host_cpus(spec.threads) as (cpus, folder):
        # A folder of their own: only the files the worker writes are sent back.
        given = folder / "given"
        given.mkdir()
        task = dataclasses.replace(
            task, spec=placed(spec, files, given), out=folder / task.out.name
        )
        stdout = sys.stderr if to_stderr else None
        outcome = process.launch(task, stdout=stdout, cpus=cpus)
        if outcome is None:
            return Sent({}, interrupted=True)
        written = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        return Sent(written, outcome.reason, outcome.told)
