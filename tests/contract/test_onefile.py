"""A model and a dataset of one's own, each in one file (harness/contract/onefile.py,
harness/datasets/npz_file.py): refused before any worker starts as plugins are, in one
line, without running the model; known in a record by name and digest, never by path.
tests/backends/test_base.py trains one for real."""

import dataclasses
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.contract import onefile, plugins
from harness.contract.recipe import ModelRecipe
from harness.contract.spec import ConfigError, RunSpec
from harness.launch import process
from harness.record import schema, store
from harness.worker import onefile as worker_onefile
from models import mnist_cnn
from tests.factories import OWN_MODEL

MODEL = OWN_MODEL


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def keras_layout(n: int = 40, classes: int = 3, shape=(8, 8)) -> dict[str, np.ndarray]:
    """Arrays as Keras's mnist.npz holds them: uint8 images (N, H, W), integer labels."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % classes
    x = rng.integers(0, 256, (n, *shape)).astype("uint8")
    return {"x_train": x, "y_train": y, "x_test": x[: n // 2], "y_test": y[: n // 2]}


@pytest.fixture
def own(tmp_path):
    """A model file and a dataset file of one's own, in a folder of the test's."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "tiny.py").write_text(MODEL)
    (folder / "blobs.npz").write_bytes(npz(**keras_layout()))
    return folder


def run(tmp_path, *argv: str) -> int:
    return cli.main(["run", "--backend", "torch", *argv, "--results", str(tmp_path / "r")])


def test_a_model_and_a_dataset_file_reach_the_worker_by_name_digest_and_place(
    fake_workers, own, tmp_path
):
    assert run(tmp_path, "--model", str(own / "tiny.py"), "--dataset", str(own / "blobs.npz")) == 0
    [spec] = fake_workers.specs
    assert (spec.model, spec.dataset) == ("tiny.py", "blobs.npz")
    assert spec.model_sha256 == hashlib.sha256(MODEL.encode()).hexdigest()
    assert spec.dataset_sha256 == hashlib.sha256((own / "blobs.npz").read_bytes()).hexdigest()
    assert (spec.model_path, spec.dataset_path) == (str(own / "tiny.py"), str(own / "blobs.npz"))
    assert [c.model_path for c in fake_workers.checked] == [spec.model_path]  # built once


def test_a_record_names_ones_own_files_by_name_and_digest_and_holds_no_local_path(
    fake_workers, monkeypatch, own, tmp_path
):
    # A failure's record is written by the parent from the spec the worker had.
    monkeypatch.setattr(process, "start_worker", lambda *a, **kw: (2, ["error: no"]))
    argv = ["--model", str(own / "tiny.py"), "--dataset", str(own / "blobs.npz")]
    assert run(tmp_path, *argv, "--data-dir", str(own), "--no-report") == 1
    [path] = store.runs_dir(tmp_path / "r").glob("*.json")
    assert str(tmp_path) not in path.read_text()
    spec = store.read(path).spec
    assert (spec.model, spec.dataset, spec.model_path, spec.dataset_path) == (
        "tiny.py", "blobs.npz", None, None,
    )  # fmt: skip
    assert spec.model_sha256 == hashlib.sha256(MODEL.encode()).hexdigest()


def test_the_parent_reads_a_model_file_without_running_it(fake_workers, tmp_path):
    ran = tmp_path / "ran"
    model = tmp_path / "marks.py"
    model.write_text(f"open({str(ran)!r}, 'w').close()\n" + MODEL)
    assert run(tmp_path, "--model", str(model), "--dataset", "synthetic") == 0
    assert not ran.exists() and len(fake_workers) == 1


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("gone.py", None, "{path} does not exist"),
        ("nobuild.py", MODEL.replace("def build(", "def make("),
         "{path} has no build(input_shape, num_classes): a model's module defines build() "
         "and DEFAULTS (its recipe), as models/mnist_cnn does"),
        ("nodefaults.py", MODEL.replace("DEFAULTS =", "RECIPE ="),
         "{path} has no DEFAULTS: a model's module names its recipe (epochs, batch_size, "
         "optimizer, loss) in it"),
        ("short.py", MODEL.replace('    "loss": "categorical_crossentropy",\n', ""),
         "{path} has a DEFAULTS without loss: a recipe names epochs, batch_size, optimizer, "
         "loss, as models/mnist_cnn's does"),
        ("broken.py", "def build(:\n", "{path} is not Python: invalid syntax (line 1)"),
        ("model.txt", MODEL, "{path}: a model of one's own is a .py file"),
    ],
)  # fmt: skip
def test_a_model_file_that_is_not_a_model_is_refused_in_one_line_before_any_run(
    fake_workers, tmp_path, capsys, name, source, message
):
    path = tmp_path / name
    if source is not None:
        path.write_text(source)
    assert run(tmp_path, "--model", str(path), "--dataset", "synthetic") == 2
    assert capsys.readouterr().err == f"error: --model {message.format(path=path)}\n"
    assert fake_workers == []


def claiming(arrays: dict[str, np.ndarray], key: str, claimed: bytes) -> bytes:
    """An .npz of `arrays` whose `key` array's header claims the shape `claimed`, its
    padding shortened to keep the header's length, the archive otherwise whole."""
    members = {}
    for name, a in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, a)
        members[name] = buffer.getvalue()
    old = f"'shape': {arrays[key].shape}, }}".encode()
    new = b"'shape': " + claimed + b", }"
    members[key] = members[key].replace(old + b" " * (len(new) - len(old)), new, 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return out.getvalue()


def with_objects() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{**keras_layout(), "y_test": np.array([{"a": 1}] * 20, dtype=object)})
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (claiming(keras_layout(), "x_train", b"(100000000000000, 28, 28)"),
         "d.npz: x_train's header claims shape (100000000000000, 28, 28) of uint8 "
         "(78,400,000,000,000,000 bytes), but the file holds 2,560: the file is damaged"),
        (with_objects(),
         "d.npz: y_test holds Python objects (a pickled array), which the harness does not "
         "load: a dataset file holds plain numeric arrays"),
        ({**keras_layout(), "y_train": np.where(np.arange(40) == 7, 10**9, np.arange(40) % 3)},
         "d.npz: labels go up to 1,000,000,000, and a label is a class's number: a dataset "
         "file has at most 1,000 classes (labels 0 to 999)"),
        ({**keras_layout(), "y_train": keras_layout()["y_train"] % 2},
         "test split of d.npz: labels 2 never occur in training: no model can learn them"),
        (None, "--dataset {path} does not exist"),
        ({**keras_layout(), "x_train": keras_layout()["x_train"].astype("float32")},
         r"train split of d.npz: images must be uint8 of shape (N, 8, 8), got float32 (40, 8, 8)"),
        ({**keras_layout(), "x_train": keras_layout()["x_train"][..., None]},
         "train split of d.npz: images must be uint8 of shape (N, height, width) with N >= 1, "
         "got uint8 (40, 8, 8, 1)"),
        ({**keras_layout(), "x_test": keras_layout(shape=(9, 9))["x_test"]},
         "test split of d.npz: images must be uint8 of shape (N, 8, 8), got uint8 (20, 9, 9)"),
        ({**keras_layout(), "y_test": keras_layout()["y_test"].astype("float32")},
         "test split of d.npz: labels must be integers of shape (20,), got float32 (20,)"),
        ({**keras_layout(), "y_train": keras_layout()["y_train"] - 1},
         "train split of d.npz: labels must lie in [0, 2], got [-1, 1]"),
        ({**keras_layout(), "y_train": keras_layout()["y_train"][:-1]},
         "train split of d.npz: labels must be integers of shape (40,), got int64 (39,)"),
        ({k: v for k, v in keras_layout().items() if k.startswith("x")},
         "d.npz lacks y_train, y_test: a dataset file holds x_train, y_train, x_test, y_test, "
         "as Keras's mnist.npz does"),
        ({**keras_layout(classes=1)},
         "d.npz must hold test images and labels of 2 classes or more (0 and 1 at least), got "
         "20 test images and labels up to 0"),
        (b"not a zip", "d.npz cannot be read as a dataset file (not an .npz archive)"),
    ],
)  # fmt: skip
def test_a_dataset_file_of_the_wrong_arrays_is_refused_in_one_line_before_any_run(
    fake_workers, tmp_path, capsys, arrays, message
):
    path = tmp_path / "d.npz"
    if arrays is not None:
        path.write_bytes(arrays if isinstance(arrays, bytes) else npz(**arrays))
    assert run(tmp_path, "--dataset", str(path)) == 2
    assert capsys.readouterr().err == f"error: {message.format(path=path)}\n"
    assert fake_workers == []


@pytest.mark.parametrize(("kind", "suffix"), [("model", ".py"), ("dataset", ".npz")])
def test_a_file_whose_name_is_not_utf8_is_refused_before_any_run(
    fake_workers, own, tmp_path, capsys, kind, suffix
):
    source = own / ("tiny.py" if kind == "model" else "blobs.npz")
    path = Path(os.fsdecode(bytes(tmp_path) + b"/m\xff" + suffix.encode()))
    path.write_bytes(source.read_bytes())
    assert run(tmp_path, f"--{kind}", str(path)) == 2
    assert capsys.readouterr().err == (
        f"error: --{kind} {tmp_path}/m\ufffd{suffix}: its name is not UTF-8 text (a byte "
        "such as 0xff, shown as \ufffd), which a record cannot hold: rename the file\n"
    )
    assert fake_workers == []


def test_more_images_than_a_dataset_file_holds_are_refused_naming_it(
    fake_workers, own, tmp_path, capsys
):
    assert run(tmp_path, "--dataset", str(own / "blobs.npz"), "--train-images", "41") == 2
    assert capsys.readouterr().err == (
        "error: train_images must be <= 40 (the blobs.npz training set), got 41\n"
    )


@pytest.mark.parametrize(("kind", "hint"), [("model", "model.py"), ("dataset", "data.npz")])
def test_an_unknown_name_is_told_it_could_be_a_file(no_run, tmp_path, capsys, kind, hint):
    assert run(tmp_path, f"--{kind}", "mine") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: unknown {kind} 'mine'; known {kind}s: ")
    assert err.endswith(f"; or a file of your own: --{kind} path/to/{hint}\n")


def test_a_model_plugin_without_build_is_refused_as_a_file_is(
    fake_workers, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(plugins, "source", lambda kind, name: "DEFAULTS = {}\n")
    assert run(tmp_path, "--dataset", "synthetic") == 2
    assert capsys.readouterr().err.startswith(
        "error: model 'mnist_cnn' has no build(input_shape, num_classes): "
    )
    assert fake_workers == []


def own_spec(tmp_path, source: str = MODEL) -> RunSpec:
    path = tmp_path / "tiny.py"
    path.write_text(source)
    digest = hashlib.sha256(source.encode()).hexdigest()
    return RunSpec(
        backend="torch", threads=1, model="tiny.py", model_sha256=digest, model_path=str(path)
    )


def test_the_worker_refuses_a_file_changed_after_the_run_started(tmp_path):
    spec = own_spec(tmp_path)
    (tmp_path / "tiny.py").write_text(MODEL + "# edited\n")
    with pytest.raises(ConfigError, match=r"^tiny.py changed after the run started \(SHA-256 "):
        worker_onefile.model(spec)
    (tmp_path / "tiny.py").unlink()
    with pytest.raises(ConfigError, match=r"^tiny.py cannot be read \(No such file"):
        worker_onefile.model(spec)


def test_the_worker_checks_what_the_parent_could_not_read(tmp_path):
    # DEFAULTS that only running the module gives: the parent leaves it to the worker.
    source = "DEFAULTS = dict(epochs=1)\n\ndef build(input_shape, num_classes):\n    pass\n"
    assert onefile.source_problem(source) is None
    with pytest.raises(ConfigError, match="^model tiny.py has a DEFAULTS without batch_size, "):
        worker_onefile.model(own_spec(tmp_path, source))
    source = "build = None\nDEFAULTS = {}\n"
    with pytest.raises(ConfigError, match=r"^model tiny.py has no build\(input_shape, "):
        worker_onefile.model(own_spec(tmp_path, source))


def test_the_worker_runs_a_model_file_and_loads_a_dataset_file(tmp_path):
    source = MODEL.replace("import keras\nfrom keras import layers\n", "")  # no framework here
    module = worker_onefile.model(own_spec(tmp_path, source))
    assert module.DEFAULTS["batch_size"] == 32 and callable(module.build)
    data = npz(**keras_layout(n=30, classes=5, shape=(6, 7)))
    (tmp_path / "d.npz").write_bytes(data)
    spec = RunSpec(
        backend="torch", threads=1, dataset="d.npz", dataset_path=str(tmp_path / "d.npz"),
        dataset_sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
    dataset = worker_onefile.dataset(spec)
    assert (dataset.name, dataset.num_classes, dataset.image_shape) == ("d.npz", 5, (6, 7))
    loaded = dataset.load()
    assert (len(loaded.train.x), len(loaded.test.x), loaded.origin) == (30, 15, "d.npz")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "tiny.py", "model_sha256": "abc"}, "model_sha256 must be 64 hexadecimal"),
        ({"model": "nets/tiny.py", "model_sha256": "a" * 64},
         "model must be a .py file's name without a folder, got 'nets/tiny.py'"),
        ({"dataset": "d.csv", "dataset_sha256": "a" * 64}, "dataset must be a .npz file's name"),
        ({"model_path": "/x/tiny.py"}, "model_path is for a model given as a file"),
    ],
)  # fmt: skip
def test_a_spec_names_a_file_by_its_name_and_digest_alone(fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        RunSpec(backend="torch", threads=1, **fields)


def test_a_model_files_name_that_a_file_name_would_not_take_gives_a_readable_run_id():
    run_id = store.new_run_id("torch", "my model (2).py", "d.npz", "seed", 1)
    assert schema.FILE_NAME.test(run_id, {}) and "-torch-my_model__2_.py-d.npz-seed-" in run_id


def test_two_versions_of_one_model_file_are_two_models_in_the_report():
    from harness.summary import grouping
    from tests.factories import make_result

    def of(digest: str):
        r = make_result(backend="torch")
        spec = dataclasses.replace(r.spec, model="tiny.py", model_sha256=digest)
        return dataclasses.replace(r, spec=spec)

    old, new = of("a" * 64), of("b" * 64)
    assert grouping.group(old).model == "tiny.py (aaaaaaaa)"
    assert grouping.group(old) != grouping.group(new)
    assert grouping.cell_of(old) != grouping.cell_of(new)
    assert json.loads(json.dumps(old.to_dict()))["spec"]["model_sha256"] == "a" * 64


def test_parity_names_ones_own_model_by_name_and_digest_not_where_it_lies(
    no_run, monkeypatch, own, tmp_path, capsys
):
    def probe(task):
        out = task.out
        losses = np.linspace(1, 0.5, 10)
        np.savez(out, outputs=np.full((4, 10), 0.1, "float32"), losses=losses)
        return 0, []

    monkeypatch.setattr(process, "start_worker", probe)
    argv = ["parity", "--backend", "tf,torch", "--model", str(own / "tiny.py"), "--dataset",
            "synthetic", "--data-dir", str(own), "--results", str(tmp_path / "r")]  # fmt: skip
    assert cli.main(argv) == 0
    text = (tmp_path / "r" / "parity.json").read_text()
    assert str(tmp_path) not in text
    spec = json.loads(text)["spec"]
    assert (spec["model"], spec["model_sha256"]) == (
        "tiny.py", hashlib.sha256(MODEL.encode()).hexdigest(),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("defaults", "why"),
    [
        ({**mnist_cnn.DEFAULTS, "epoch": 3}, "has a DEFAULTS with epoch, which a recipe does not"),
        (
            {**mnist_cnn.DEFAULTS, "batch_size": 0},
            "has a DEFAULTS whose batch_size must be an integer ≥ 1",
        ),
        ({**mnist_cnn.DEFAULTS, "epochs": "12"}, "has a DEFAULTS whose epochs must be an integer"),
        (
            {**mnist_cnn.DEFAULTS, "optimizer": "adam"},
            "has a DEFAULTS whose optimizer is not a serialised",
        ),
    ],
)
def test_a_recipe_that_names_a_wrong_key_or_value_is_refused_in_words(defaults, why):
    assert onefile.recipe_problem(mnist_cnn.DEFAULTS) is None
    assert onefile.recipe_problem(defaults).startswith(why)


def test_the_seed_recipe_reads_as_typed_fields():
    recipe = ModelRecipe.parse(mnist_cnn.DEFAULTS)
    assert (recipe.epochs, recipe.batch_size, recipe.dataset) == (12, 500, "mnist")
    assert recipe.optimizer["class_name"] == "Adadelta" and recipe.reference_accuracy == 0.9906
