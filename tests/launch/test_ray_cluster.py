"""The Ray executor's parts that need no cluster (unit tests, Ray not installed): the
errors before any run, the address check, the request it makes of Ray, the CPUs a run
holds on its host, and the files it publishes. tests/test_ray.py runs it for real."""

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.contract.spec import ConfigError, RunSpec, available_cpus
from harness.contract.task import WorkerTask
from harness.launch import cpus as cpu_locks
from harness.launch import process, ray_cluster
from harness.record import atomic, store
from tests.factories import make_result


def test_without_ray_the_ray_executor_is_refused_before_any_run(
    no_run, monkeypatch, tmp_path, capsys
):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is absent
    argv = ["run", "--backend", "torch", "--executor", "ray", "--address", "127.0.0.1:1"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: --executor ray needs Ray: pip install 'keras-backend-harness[ray]' here and "
        "on every node\n"
    )


def serve_once(answer: bytes | None) -> int:
    """A port where a thread accepts one connection and answers `answer` to it (None:
    nothing listens there)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    if answer is None:
        server.close()
        return port
    server.listen(1)

    def serve():
        with server, server.accept()[0] as conn:
            conn.recv(len(ray_cluster.HTTP2_HELLO))
            conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return port


def test_an_address_is_checked_for_a_ray_head_before_ray_is_asked():
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty HTTP/2 SETTINGS frame
    ray_cluster.reach(f"127.0.0.1:{serve_once(settings)}")
    ray_cluster.reach(f"ray://127.0.0.1:{serve_once(settings)}")
    web = serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(ConfigError, match=f"^127.0.0.1:{web} answers, but not as a Ray"):
        ray_cluster.reach(f"127.0.0.1:{web}")
    closed = serve_once(None)
    with pytest.raises(ConfigError, match=f"^cannot reach a Ray cluster at 127.0.0.1:{closed}: "):
        ray_cluster.reach(f"127.0.0.1:{closed}")
    with pytest.raises(ConfigError, match="^--address must be HOST:PORT, got 'head'"):
        ray_cluster.reach("head")


@pytest.fixture
def fake_ray(monkeypatch):
    """A Ray whose cluster has nodes of 4 and 8 CPUs (and a dead one of 16)."""
    calls = types.SimpleNamespace(shutdown=0)
    nodes = [(4, True), (8, True), (16, False)]
    fake = types.SimpleNamespace(
        init=lambda **kwargs: None,
        nodes=lambda: [{"Alive": alive, "Resources": {"CPU": n}} for n, alive in nodes],
        remote=lambda f: f,
        shutdown=lambda: setattr(calls, "shutdown", calls.shutdown + 1),
    )
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(ray_cluster, "reach", lambda address: None)
    return calls


def test_ray_is_asked_for_the_threads_or_for_a_whole_node_with_exclusive(fake_ray):
    shared = ray_cluster.Ray("head:6379", 2, exclusive=False, retries=0)
    alone = ray_cluster.Ray("head:6379", 2, exclusive=True, retries=3)
    assert (shared.options["num_cpus"], shared.options["max_retries"]) == (2, 0)
    # No live node has more than 8 CPUs: a run that asks for 8 has its node to itself.
    assert (alone.options["num_cpus"], alone.options["max_retries"]) == (8, 3)


def test_a_cluster_whose_nodes_are_too_small_is_refused_and_left(fake_ray):
    with pytest.raises(ConfigError) as e:
        ray_cluster.Ray("head:6379", 9, exclusive=False, retries=0)
    assert str(e.value) == (
        "no node of the Ray cluster at head:6379 has 9 CPUs for --threads 9 (its nodes' "
        "CPUs: 4, 8): lower --threads"
    )
    assert fake_ray.shutdown == 1


HOLD = (
    "import sys, time; from harness.launch import cpus as cpu_locks\n"
    "with cpu_locks.host_cpus(1) as (cpus, folder):\n"
    "    (folder / 'half-written').write_text('x'); print(cpus[0], flush=True); time.sleep(600)"
)


def test_runs_on_one_host_hold_cpus_of_their_own_until_they_end_however(own_tmp):
    if len(available_cpus()) < 2:
        pytest.skip("needs two CPUs")
    env = {**os.environ, "TMPDIR": str(own_tmp)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, env=env)
    try:
        theirs = int(holder.stdout.readline())
        with cpu_locks.host_cpus(1) as (mine, folder):
            assert mine != [theirs] and list(folder.iterdir()) == []
    finally:
        holder.send_signal(signal.SIGKILL)  # no chance to clean up
        holder.wait()
    # The kernel released its CPU; what it left in its folder goes with the next run there.
    leftover = own_tmp / f"keras-harness-{os.getuid()}" / f"run-on-cpu{theirs}" / "half-written"
    assert leftover.exists()
    with cpu_locks.host_cpus(len(available_cpus()), poll_s=0.01) as (cpus, folder):
        assert cpus == available_cpus() and not leftover.exists()
    assert not folder.exists()


def sent_run(tmp_path) -> tuple[RunSpec, ray_cluster.Sent, str]:
    """What a node sends for a run that succeeded: its record and predictions."""
    r = make_result(backend="torch")
    name = f"{r.run_id}.predictions.npz"
    r = dataclasses.replace(r, artifacts={"predictions": name})
    node = tmp_path / "node"
    with atomic.atomic_file(node / name, "wb") as f:
        np.savez(f, np.ones((3, 10), "float32"))
    store.write(r, node / f"{r.run_id}.json")
    files = {p.name: p.read_bytes() for p in node.iterdir()}
    return r.spec, ray_cluster.Sent(files), r.run_id


def test_a_runs_files_from_its_node_are_published_together(tmp_path):
    spec, sent, run_id = sent_run(tmp_path)
    out = store.runs_dir(tmp_path / "results") / f"{run_id}.json"
    outcome = ray_cluster.publish(spec, out, "inv", sent)
    assert outcome.result is not None and outcome.result.run_id == run_id
    found, warnings = store.read_all(tmp_path / "results")
    assert warnings == [] and [r.run_id for r in found] == [run_id]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(sent.files)


def test_a_result_the_driver_cannot_write_leaves_none_of_its_files(tmp_path, monkeypatch):
    spec, sent, run_id = sent_run(tmp_path)
    out = store.runs_dir(tmp_path) / f"{run_id}.json"
    out.parent.mkdir()
    monkeypatch.setattr(store, "write", lambda *a: (_ for _ in ()).throw(OSError(28, "full")))
    outcome = ray_cluster.publish(spec, out, "inv", sent)
    assert outcome.result is None and outcome.unrecorded
    assert outcome.reason == "cannot write the run's files: full"
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "the worker was stopped by SIGKILL"),  # the node could not even record it
        ({"RUN.json": b"{"}, "the worker wrote a result the harness cannot read: "),
    ],
)
def test_a_node_that_sent_no_readable_result_gets_a_failure_record(tmp_path, files, reason):
    spec = RunSpec(backend="torch", threads=1)
    out = store.runs_dir(tmp_path) / "RUN.json"
    sent = ray_cluster.Sent(files, reason="the worker was stopped by SIGKILL")
    outcome = ray_cluster.publish(spec, out, "inv", sent)
    assert outcome.result is None and outcome.reason.startswith(reason)
    [r], _ = store.read_all(tmp_path)
    assert r.status == "failed" and r.failure.reason == outcome.reason


@pytest.fixture
def ray_tasks(fake_ray, monkeypatch):
    """Ray as far as a task's arguments go: what `remote` is given, `get` runs here as
    the node would."""
    from harness.contract import handover

    ray, tasks = sys.modules["ray"], []
    handle = types.SimpleNamespace(remote=lambda *a: tasks.append(a) or len(tasks) - 1)
    monkeypatch.setattr(ray, "remote", lambda f: types.SimpleNamespace(options=lambda **kw: handle),
                        raising=False)  # fmt: skip
    monkeypatch.setattr(ray, "get", lambda ref: ray_cluster.run_on_node(*tasks[ref]), raising=False)
    monkeypatch.setattr(ray, "exceptions", types.SimpleNamespace(RayError=RuntimeError),
                        raising=False)  # fmt: skip
    node = types.SimpleNamespace(get_node_id=lambda: "node-1")
    monkeypatch.setattr(ray, "get_runtime_context", lambda: node, raising=False)
    monkeypatch.setenv(handover.NODE_ENV, "")  # the task sets it; put back after
    return tasks


def own_files_spec(folder: Path) -> RunSpec:
    """A run of a model file and a dataset file of one's own, lying in `folder`."""
    folder.mkdir()
    (folder / "tiny.py").write_text("DEFAULTS = {}\n")
    (folder / "d.npz").write_bytes(b"arrays")
    return RunSpec(
        backend="torch", threads=1, model="tiny.py", model_sha256="a" * 64,
        model_path=str(folder / "tiny.py"), dataset="d.npz", dataset_sha256="b" * 64,
        dataset_path=str(folder / "d.npz"),
    )  # fmt: skip


def test_a_runs_own_files_travel_with_its_task_and_lie_beside_its_worker_on_the_node(
    ray_tasks, own_tmp, monkeypatch
):
    mine = own_tmp / "mine"
    spec = own_files_spec(mine)
    seen = []

    def on_the_node(task, **kwargs):
        spec, out, invocation = task.spec, task.out, task.invocation
        seen.append((spec, Path(spec.model_path).read_text(), Path(spec.dataset_path).read_bytes()))
        r = dataclasses.replace(make_result(backend="torch"), spec=spec, invocation=invocation)
        store.write(r, out)
        return process.Outcome(spec, out, r)

    monkeypatch.setattr(process, "launch", on_the_node)
    cluster = ray_cluster.Ray("head:6379", 1, exclusive=False, retries=0)
    out = store.runs_dir(own_tmp / "results") / "RUN.json"
    outcome = cluster.launch(WorkerTask(out, spec, invocation="inv"))
    [(there, model, data)] = seen
    assert (model, data) == ("DEFAULTS = {}\n", b"arrays")  # the bytes, sent
    # written on the node under their own names, not read from this machine's paths
    assert Path(there.model_path).name == "tiny.py" and Path(there.dataset_path).name == "d.npz"
    assert not there.model_path.startswith(str(mine))
    # the task sends back the worker's files, not the ones it was given
    assert [p.name for p in out.parent.iterdir()] == ["RUN.json"]
    assert outcome.result.spec.model_sha256 == "a" * 64
    assert str(own_tmp) not in out.read_text()


def test_a_run_whose_own_file_is_gone_fails_with_a_record_and_no_task(ray_tasks, own_tmp):
    spec = own_files_spec(own_tmp / "mine")
    (own_tmp / "mine" / "d.npz").unlink()  # after the run started, before its task
    cluster = ray_cluster.Ray("head:6379", 1, exclusive=False, retries=0)
    out = store.runs_dir(own_tmp / "results") / "RUN.json"
    outcome = cluster.launch(WorkerTask(out, spec, invocation="inv"))
    assert outcome.reason.startswith(
        "cannot send the run's own files to its node: No such file or directory: "
    )
    assert ray_tasks == [] and store.read(out).status == "failed"
