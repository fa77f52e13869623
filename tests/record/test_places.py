"""A record names no local folder and no credential, whatever a value holds: variables
whose values hold paths, ~user forms and a URL's password, and a failure whose reason
and output name Keras's home, the data folder, the model's file and the installed
packages, reach no file that a run and its report write."""

import dataclasses
import site
import sys

from harness import cli
from harness.launch import process
from harness.origin import fingerprint
from harness.record import places, store
from harness.worker import environment
from tests.factories import OWN_MODEL, make_result


def test_a_path_stands_as_its_placeholder_only_where_it_is_a_whole_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "u"))
    folders = places.local_folders()
    other = places.unplaced(f"{tmp_path}/u2/a", folders)
    assert other.endswith("/u2/a") and "<home>" not in other
    assert places.unplaced(f"{tmp_path}/u/a {tmp_path}/u2/a {tmp_path}/u", folders) == (
        f"<home>/a {other} <home>"
    )
    assert places.unplaced("~/x ~bob/y ~bob a~b/c ~0.5 s", folders) == (
        "<home>/x <home>/y <home> a~b/c ~0.5 s"
    )
    assert places.unplaced("see https://alice:pw@example.com/x or ftp://bob@h", folders) == (
        "see https://<credentials>@example.com/x or ftp://<credentials>@h"
    )


def test_no_local_folder_or_credential_reaches_a_run_a_failure_or_their_report(
    fake_workers, tmp_path, monkeypatch
):
    home, data, keras_home, models = (tmp_path / n for n in ("home", "data", "kh", "models"))
    for folder in (home, data, keras_home, models):
        folder.mkdir()
    (models / "tiny.py").write_text(OWN_MODEL)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    variables = {
        "XLA_FLAGS": f"--xla_dump_to={home}/dump",
        "MALLOC_CONF": f"prof:true,prof_prefix:{home}/jeprof",
        "TORCH_HOME": "~someone/th",
        "KERAS_REMOTE_URL": "https://alice:pw@example.com/x",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    installed = site.getsitepackages()[0]

    def start_worker(task, **kw):
        """As the worker: its environment captured here; the jax run fails as a missing
        dataset and a model's traceback would have it say."""
        spec, out = task.spec, task.out
        if spec.backend == "jax":
            return 2, [
                "Traceback (most recent call last):",
                f'  File "{installed}/keras/src/models/model.py", line 1, in build',
                f'  File "{models}/tiny.py", line 3, in build',
                "error: mnist could not be loaded. Looked in:",
                f"  - {data}/mnist.npz: not found",
                f"  - {keras_home}/datasets/mnist.npz: not found",
                f"  - {sys.prefix}/lib: nothing",
            ]
        made = make_result(backend=spec.backend)
        folders = places.local_folders(spec, out.parent.parent)
        captured = environment.capture({}, {}, "mnist_cnn", None, folders)
        # a worker's own record: this machine's environment, and its fingerprint with it
        here = dataclasses.replace(made.machine, fingerprint=fingerprint.fingerprint())
        store.write(dataclasses.replace(made, environment=captured, machine=here), out)
        return 0, []

    monkeypatch.setattr(process, "start_worker", start_worker)
    out = tmp_path / "results"
    argv = ["run", "--backend", "torch,jax", "--model", str(models / "tiny.py"), "--results"]
    cli.main([*argv, str(out)])
    [ok, failed] = sorted(store.read_all(out)[0], key=lambda r: r.status != "ok")
    assert ok.environment.variables["XLA_FLAGS"] == "--xla_dump_to=<home>/dump"
    assert ok.environment.variables["TORCH_HOME"] == "<home>/th"
    assert ok.environment.variables["KERAS_REMOTE_URL"] == "https://<credentials>@example.com/x"
    assert "<data>/mnist.npz" in failed.failure.reason
    assert "<keras-home>/datasets" in failed.failure.reason
    assert any("<model>/tiny.py" in line for line in failed.failure.output_tail)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"REPORT.md", "report.html", "summary.csv"}
    local = [*map(str, (home, data, keras_home, models)), "someone", "alice", ":pw@", installed,
             sys.prefix]  # fmt: skip
    for path in written:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not [s for s in local if s in text], path
