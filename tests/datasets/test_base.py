import gzip

import numpy as np
import pytest

from harness.contract.spec import ConfigError
from harness.datasets.base import DatasetError, Loaded, Split, array_digest, prepare
from harness.datasets.fashion_mnist import FashionMNIST
from harness.datasets.mnist import MNIST
from harness.datasets.synthetic import Synthetic


def small(x_dtype="uint8", y=(0, 9), shape=(28, 28)) -> Loaded:
    split = Split(np.zeros((len(y), *shape), dtype=x_dtype), np.array(y, dtype="uint8"))
    return Loaded(split, split, source="test arrays")


def test_array_digest_is_sha256_of_the_raw_bytes():
    # sha256 of the 3 bytes 00 01 02
    expected = "ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc"
    assert array_digest(np.arange(3, dtype="uint8")) == expected


@pytest.mark.parametrize(
    ("loaded", "message"),
    [
        (small(x_dtype="float32"), r"images must be uint8 of shape \(N, 28, 28\), got float32"),
        (small(shape=(32, 32)), r"got uint8 \(2, 32, 32\)"),
        (small(y=(0, 10)), r"labels must lie in \[0, 9\], got \[0, 10\]"),
    ],
)
def test_verify_refuses_wrong_dtype_shape_and_labels(loaded, message):
    with pytest.raises(DatasetError, match=message):
        MNIST().verify(loaded)


def test_labels_of_another_dtype_are_named_before_the_digest():
    loaded = small()
    loaded = Loaded(loaded.train, Split(loaded.test.x, loaded.test.y.astype("int64")), "f.npz")
    with pytest.raises(
        DatasetError, match="test split from f.npz: labels must be uint8 as published, got int64"
    ):
        MNIST().verify(loaded, MNIST.digests)


def test_an_mnist_npz_that_is_a_folder_is_called_one(tmp_path):
    (tmp_path / "mnist.npz").mkdir()
    assert MNIST().missing(tmp_path / "mnist.npz") == "a folder, not a file"
    assert MNIST().missing(tmp_path / "other.npz") == "not found"


def test_verify_refuses_arrays_whose_digest_differs():
    with pytest.raises(DatasetError, match="digest of x_train does not match"):
        MNIST().verify(small(), MNIST.digests)


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


@pytest.mark.parametrize("dataset", [MNIST, FashionMNIST])
def test_a_named_data_dir_that_is_not_a_folder_is_refused_not_looked_past(
    tmp_path, monkeypatch, dataset
):
    """As on a Ray node, where the parent cannot check the folder it was given."""

    def download(self):
        raise AssertionError("looked past the folder named, to a download")

    monkeypatch.setattr(dataset, "download", download)
    with pytest.raises(ConfigError, match=f"^--data-dir {tmp_path}/typo does not exist$"):
        dataset().load(str(tmp_path / "typo"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is not a folder$"):
        dataset().load(str(tmp_path / "file"))


def test_synthetic_data_is_deterministic_and_valid():
    a, b = Synthetic().load(), Synthetic().load()
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.test.y, b.test.y)
    assert a.train.x.shape == (12000, 28, 28) and a.test.x.shape == (2000, 28, 28)
    assert set(np.unique(a.train.y)) == set(range(10))


@pytest.mark.parametrize(
    ("data_format", "shape"),
    [("channels_last", (2, 28, 28, 1)), ("channels_first", (2, 1, 28, 28))],
)
def test_prepare_scales_pixels_adds_the_channel_axis_and_one_hots(data_format, shape):
    split = Split(np.full((2, 28, 28), 255, dtype="uint8"), np.array([3, 0], dtype="uint8"))
    x, y = prepare(split, data_format, num_classes=10, one_hot=True)
    assert x.shape == shape and x.dtype == np.float32 and x.max() == 1.0
    assert y.dtype == np.float32 and y.argmax(axis=1).tolist() == [3, 0] and y.sum() == 2
    assert prepare(split, data_format, 10, one_hot=False)[1].tolist() == [3, 0]


def test_fashion_mnist_loads_from_the_data_dir_subfolder_with_balanced_classes(mnist_dir):
    loaded = FashionMNIST().load(str(mnist_dir))
    assert loaded.source == str(mnist_dir / "fashion-mnist")
    assert np.bincount(loaded.train.y).tolist() == [6000] * 10
    assert np.bincount(loaded.test.y).tolist() == [1000] * 10


def test_fashion_mnist_files_directly_in_the_named_folder_are_found(tmp_path, mnist_dir):
    for f in (mnist_dir / "fashion-mnist").iterdir():
        (tmp_path / f.name).symlink_to(f)
    assert FashionMNIST().load(str(tmp_path)).source == str(tmp_path)


def test_damaged_fashion_mnist_files_are_refused(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "download", lambda self: 1 / 0)
    source = mnist_dir / "fashion-mnist"
    for f in source.iterdir():
        (tmp_path / f.name).symlink_to(f)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.unlink()
    with pytest.raises(DatasetError, match="incomplete, missing t10k-labels-idx1-ubyte.gz"):
        FashionMNIST().load(str(tmp_path))

    labels.write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="cannot be read as a gzip file"):
        FashionMNIST().load(str(tmp_path))

    data = gzip.decompress((source / labels.name).read_bytes())
    labels.write_bytes(gzip.compress(data[:-10]))
    with pytest.raises(DatasetError, match="truncated or damaged"):
        FashionMNIST().load(str(tmp_path))

    swapped = bytearray(data)
    swapped[8], swapped[9] = swapped[9], swapped[8]
    labels.write_bytes(gzip.compress(bytes(swapped)))
    with pytest.raises(DatasetError, match="digest of y_test does not match"):
        FashionMNIST().load(str(tmp_path))
