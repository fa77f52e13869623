"""What every dataset shares (harness/datasets/base.py): the arrays' digest and checks,
the images prepared for the model, and a named data folder that is not a folder."""

import numpy as np
import pytest

from harness.contract.spec import ConfigError
from harness.datasets.base import DatasetError, Loaded, Split, array_digest, prepare
from harness.datasets.fashion_mnist import FashionMNIST
from harness.datasets.mnist import MNIST


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


def test_verify_refuses_arrays_whose_digest_differs():
    with pytest.raises(DatasetError, match="digest of x_train does not match"):
        MNIST().verify(small(), MNIST.digests)


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
