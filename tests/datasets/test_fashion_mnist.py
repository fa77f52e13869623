"""Fashion-MNIST (harness/datasets/fashion_mnist.py): its four gzip files, found in
the data folder or its subfolder, damaged ones refused."""

import gzip

import numpy as np
import pytest

from harness.datasets.base import DatasetError
from harness.datasets.fashion_mnist import FashionMNIST


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
