"""MNIST (harness/datasets/mnist.py): where its file is looked for, the real file's
classes, and damaged or missing files refused in words."""

import numpy as np
import pytest

from harness.datasets.base import DatasetError
from harness.datasets.mnist import MNIST


def test_an_mnist_npz_that_is_a_folder_is_called_one(tmp_path):
    (tmp_path / "mnist.npz").mkdir()
    assert MNIST().missing(tmp_path / "mnist.npz") == "a folder, not a file"
    assert MNIST().missing(tmp_path / "other.npz") == "not found"


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04truncated"])
def test_damaged_npz_is_refused_naming_the_file(tmp_path, content):
    (tmp_path / "mnist.npz").write_bytes(content)
    with pytest.raises(DatasetError, match=f"{tmp_path}/mnist.npz cannot be read") as e:
        MNIST().load(str(tmp_path))
    assert "unsafely" not in str(e.value)  # numpy's advice for a file it takes for a pickle


def test_truncated_copy_of_the_real_file_is_refused(tmp_path, mnist_dir):
    data = (mnist_dir / "mnist.npz").read_bytes()
    (tmp_path / "mnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cannot be read"):
        MNIST().load(str(tmp_path))


def test_real_mnist_loads_with_the_published_class_counts(mnist_dir):
    loaded = MNIST().load(str(mnist_dir))
    assert loaded.source == str(mnist_dir / "mnist.npz")
    assert np.bincount(loaded.train.y).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949,
    ]  # fmt: skip
    assert np.bincount(loaded.test.y).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009,
    ]  # fmt: skip


def test_environment_variable_names_the_data_dir(monkeypatch, mnist_dir):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(mnist_dir))
    assert MNIST().load().source == str(mnist_dir / "mnist.npz")


def test_keras_cache_is_used_when_no_directory_is_named(tmp_path, monkeypatch, mnist_dir):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").symlink_to(mnist_dir / "mnist.npz")
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert MNIST().load().source == str(tmp_path / "datasets" / "mnist.npz")


def test_nothing_anywhere_lists_every_place_and_what_to_do(tmp_path, monkeypatch):
    def offline(self):
        raise OSError("no network")

    monkeypatch.setattr(MNIST, "download", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    (tmp_path / "mine").mkdir()
    with pytest.raises(DatasetError) as e:
        MNIST().load(str(tmp_path / "mine"))
    message = str(e.value)
    assert f"{tmp_path}/mine/mnist.npz: not found" in message
    assert f"{tmp_path}/home/datasets/mnist.npz: not found" in message
    assert "Keras download: OSError: no network" in message
    assert "--data-dir" in message and "HARNESS_DATA_DIR" in message
