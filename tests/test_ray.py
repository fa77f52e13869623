"""The runs on a Ray cluster of two nodes on this machine (tox -e test-cross): where they
land, records that match local runs', a node lost mid-run, Ctrl-C, and the errors that
come before any run. The cluster is started once for the module, of its own: its own
temporary folders and free ports, stopped by its own process sessions (`ray stop` would
stop every Ray process on the machine, another cluster's too)."""

import dataclasses
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from harness.record import store
from harness.summary import grouping
from tests.factories import SMALL

pytestmark = [pytest.mark.cross_backend, pytest.mark.ray]
NEEDED = ("tensorflow", "jax", "torch", "ray")
# Ray notices a node that stopped answering after 4 missed half-second checks, not 30 s.
FAST_HEALTH_CHECKS = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "4",
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def free_ports(n: int) -> list[int]:
    """`n` ports nothing listens on now (held together while they are chosen)."""
    held = [socket.socket() for _ in range(n)]
    try:
        for s in held:
            s.bind(("", 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def session_of(pid: int) -> tuple[int, str] | None:
    """A live process's session id and state, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[3]), fields[0]


def in_session(sid: int, text: str = "") -> list[int]:
    """The live processes of session `sid` whose command line holds `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        state = session_of(pid)
        if state is None or state[0] != sid or state[1] == "Z":
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if text in cmdline:
            found.append(pid)
    return found


def kill_session(sid: int, grace_s: float = 1.0) -> None:
    """SIGTERM, then SIGKILL, to every process of session `sid` (a node we started; a
    test cluster has nothing to keep)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in in_session(sid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while in_session(sid) and time.monotonic() < deadline:
            time.sleep(0.2)


class Cluster:
    """A head and a worker node of one CPU each, each node in its own process session
    and temporary folder, on free ports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ray = Path(sys.executable).parent / "ray"
        self.sessions: list[int] = []
        self.port = free_ports(1)[0]
        self.address = f"127.0.0.1:{self.port}"
        dashboard, client = free_ports(2)
        self.head = self.start(
            "head", "--head", "--port", str(self.port), "--include-dashboard", "false",
            "--dashboard-port", str(dashboard), "--ray-client-server-port", str(client),
        )  # fmt: skip
        self.worker = self.start_worker()

    def start(self, name: str, *role: str) -> int:
        ports = free_ports(12)
        folder = self.root / f"{name}-{len(self.sessions)}"
        command = [
            str(self.ray), "start", *role, "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
            "--temp-dir", str(folder), "--object-store-memory", str(200 * 2**20),
            "--disable-usage-stats", "--node-manager-port", str(ports[0]),
            "--object-manager-port", str(ports[1]), "--metrics-export-port", str(ports[2]),
            "--dashboard-agent-listen-port", str(ports[3]),
            "--dashboard-agent-grpc-port", str(ports[4]),
            "--runtime-env-agent-port", str(ports[5]),
            "--worker-port-list", ",".join(map(str, ports[6:])),
        ]  # fmt: skip
        node = subprocess.Popen(
            command,
            env={**os.environ, **FAST_HEALTH_CHECKS},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its daemons stay in this session: ours to stop
        )
        self.sessions.append(node.pid)
        output, _ = node.communicate(timeout=120)
        assert node.returncode == 0, output[-3000:]
        return node.pid

    def start_worker(self) -> int:
        sid = self.start("worker", "--address", self.address)
        self.wait_for_nodes(2)
        return sid

    def wait_for_nodes(self, n: int) -> None:
        alive = "sum(x['Alive'] for x in ray.nodes())"
        script = (
            f"import ray, time; ray.init(address={self.address!r}, logging_level='ERROR')\n"
            "deadline = time.monotonic() + 60\n"
            f"while {alive} != {n} and time.monotonic() < deadline: time.sleep(0.2)\n"
            f"assert {alive} == {n}"
        )
        subprocess.run([sys.executable, "-c", script], check=True, timeout=120)

    def kill_worker(self) -> None:
        """The worker node's every process, at once (a node that dies)."""
        for pid in in_session(self.worker):
            os.kill(pid, signal.SIGKILL)

    def workers(self) -> list[int]:
        """The harness workers running on the cluster's nodes."""
        return [p for sid in self.sessions for p in in_session(sid, "-m harness.worker")]

    def stop(self) -> None:
        for sid in reversed(self.sessions):
            kill_session(sid)


@pytest.fixture(scope="module")
def installed():
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(NEEDED)} in one environment (missing {missing}): "
                    "tox -e test-cross")  # fmt: skip


@pytest.fixture(scope="module")
def cluster(installed):
    # Short: Ray's socket paths must fit in 107 characters.
    root = Path(tempfile.mkdtemp(prefix="khray-", dir="/tmp"))
    nodes = None
    try:
        nodes = Cluster(root)
        yield nodes
    finally:
        if nodes is not None:
            nodes.stop()
        shutil.rmtree(root, ignore_errors=True)


def harness(*argv: str) -> list[str]:
    return [sys.executable, "-m", "harness", "run", *argv]


def on_ray(cluster: Cluster, *argv: str) -> list[str]:
    return harness("--executor", "ray", "--address", cluster.address, *argv)


def finished(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def said(done) -> str:
    return done.stdout[-3000:] + done.stderr[-3000:]


def test_runs_land_on_both_nodes_and_match_local_runs(cluster, small_local_runs, tmp_path):
    done = finished(
        on_ray(cluster, "--backend", "tf,jax,torch", *SMALL, "--results", str(tmp_path / "ray"))
    )
    assert done.returncode == 0, said(done)

    remote, warnings = store.read_all(tmp_path / "ray")
    alone = {r.spec.backend: r for r in store.read_all(small_local_runs)[0]}
    assert warnings == [] and len(remote) == 3 and all(r.status == "ok" for r in remote)
    assert len({r.environment.node for r in remote}) == 2  # both nodes ran some
    for r in remote:
        twin = alone[r.spec.backend]
        assert r.reproducibility == twin.reproducibility, r.spec.backend
        # the same figures, but the per-epoch evaluations' clocks, which are times
        clockless = {"evaluate_s": [], "elapsed_s": [], "reached_s": None}
        assert dataclasses.replace(
            r.metrics, per_epoch=dataclasses.replace(r.metrics.per_epoch, **clockless)
        ) == dataclasses.replace(
            twin.metrics, per_epoch=dataclasses.replace(twin.metrics.per_epoch, **clockless)
        ), r.spec.backend
        [mine], [theirs] = (
            store.load_arrays(d, x, x.artifacts.predictions)
            for d, x in ((tmp_path / "ray", r), (small_local_runs, twin))
        )
        assert np.array_equal(mine, theirs), r.spec.backend
    # Runs that trained at once on the two nodes shared this one host, and say so.
    beside = grouping.shared(remote)
    assert beside and all(len(r.environment.cpus_used) == 1 for r in remote)
    cpus = {r.run_id: r.environment.cpus_used for r in remote}
    assert all(cpus[a] != cpus[b] for a, others in beside.items() for b in others)
    md = (tmp_path / "ray" / "REPORT.md").read_text()
    for r in remote:
        assert f"| {r.environment.node[:12]} |" in md and r.run_id in md


def lose_the_worker_node(cluster: Cluster, command: list[str]) -> subprocess.CompletedProcess:
    """Run `command` and kill the worker node as soon as a run trains on it."""
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not in_session(cluster.worker, "-m harness.worker") and time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    cluster.kill_worker()
    # A node in its place, for the rerun and the tests after this one.
    cluster.worker = cluster.start_worker()
    out, err = run.communicate(timeout=600)
    return subprocess.CompletedProcess(command, run.returncode, out, err)


@pytest.mark.parametrize("retries", [0, 1])
def test_a_lost_node_fails_its_run_unless_it_is_rerun(cluster, tmp_path, retries):
    command = on_ray(cluster, "--backend", "tf", "--seeds", "1,2", *SMALL, "--no-report",
                     "--retries", str(retries), "--results", str(tmp_path))  # fmt: skip
    done = lose_the_worker_node(cluster, command)
    found, warnings = store.read_all(tmp_path)
    assert warnings == [] and len(found) == 2, said(done)
    failed = [r for r in found if r.status == "failed"]
    if retries:
        assert done.returncode == 0 and failed == [], said(done)
    else:
        assert done.returncode == 1 and len(failed) == 1, said(done)
        assert failed[0].failure.reason.startswith("node lost: the Ray node running it")
        assert "error: tensorflow (seed " in done.stderr and ": node lost" in done.stderr


def test_ctrl_c_cancels_every_run_and_leaves_nothing(cluster, tmp_path):
    # Runs far longer than the wait below: none may end before two train at once, however
    # fast the machine and however long Ray takes to use a node again (a minute was seen
    # after the lost-node tests, while 50 epochs took 23 s).
    command = on_ray(cluster, "--backend", "tf", "--seeds", "1,2,3", *SMALL, "--epochs", "1000",
                     "--results", str(tmp_path))  # fmt: skip
    run = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while len(cluster.workers()) < 2 and time.monotonic() < deadline:  # one on each node
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output[-3000:]
    # Every run was handed to Ray: none of them wrote anything.
    assert (
        "interrupted during tensorflow (seed 1), tensorflow (seed 2), tensorflow (seed 3)" in output
    )
    deadline = time.monotonic() + 30
    while cluster.workers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.workers() == []
    tasks = [p for sid in cluster.sessions for p in in_session(sid, "ray::tensorflow seed")]
    assert tasks == []
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_address_without_a_cluster_is_refused_before_any_run(installed, tmp_path):
    [port] = free_ports(1)
    done = finished(harness("--executor", "ray", "--address", f"127.0.0.1:{port}",
                            "--backend", "tf", *SMALL, "--results", str(tmp_path)))  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith(
        f"error: cannot reach a Ray cluster at 127.0.0.1:{port}: Connection refused"
    ), said(done)
    assert list(tmp_path.rglob("*.json")) == []


def test_a_cluster_without_enough_cpus_is_refused_before_any_run(cluster, tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("--threads 2 needs two CPUs here before it reaches the cluster")
    done = finished(on_ray(cluster, "--backend", "tf", *SMALL, "--threads", "2",
                           "--results", str(tmp_path)))  # fmt: skip
    assert done.returncode == 2, said(done)
    assert done.stderr.splitlines() == [
        f"error: no node of the Ray cluster at {cluster.address} has 2 CPUs for --threads 2 "
        "(its nodes' CPUs: 1, 1): lower --threads"
    ]
