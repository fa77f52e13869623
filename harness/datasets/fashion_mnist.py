"""Fashion-MNIST (Zalando), from a directory the user names, Debian's
dataset-fashion-mnist package, the Keras cache, or a Keras download."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from harness.contract.checks import keras_home
from harness.datasets.base import DatasetError, FileDataset, Loaded, Split, explicit_data_dir

SUBDIR = "fashion-mnist"
DEBIAN = Path("/usr/share/datasets/fashion-mnist")
# The four IDX files, by the array each holds, with their IDX magic number.
FILES = {
    "x_train": ("train-images-idx3-ubyte.gz", 2051),
    "y_train": ("train-labels-idx1-ubyte.gz", 2049),
    "x_test": ("t10k-images-idx3-ubyte.gz", 2051),
    "y_test": ("t10k-labels-idx1-ubyte.gz", 2049),
}


def read_idx(path: Path, magic: int) -> np.ndarray:
    """One gzip-compressed IDX file of unsigned bytes: images (N, H, W) or labels (N,)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path} cannot be read as a gzip file ({e}); replace it") from e
    dims = magic & 0xFF
    header = 4 + 4 * dims
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if found != magic or len(data) < header:
        raise DatasetError(f"{path} is not an IDX file of {dims} dimensions (magic {found})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    if len(data) - header != int(np.prod(shape)):
        raise DatasetError(
            f"{path} holds {len(data) - header} bytes of data, its header says {shape}: "
            "the file is truncated or damaged"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


class FashionMNIST(FileDataset):
    name = "fashion_mnist"
    keras_dataset = "fashion_mnist"
    num_classes = 10
    image_shape = (28, 28)
    train_images = 60_000
    files = "the four Fashion-MNIST .gz files (in DIR or DIR/fashion-mnist)"
    # SHA-256 of each array's raw bytes, read from the files of Debian's
    # dataset-fashion-mnist package.
    digests = {
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    }

    def candidates(self, data_dir: str | None) -> list[Path]:
        explicit = explicit_data_dir(data_dir)
        mine = [explicit / SUBDIR, explicit] if explicit else []
        return [*mine, DEBIAN, keras_home() / "datasets" / SUBDIR]

    def missing(self, path: Path) -> str | None:
        absent = [name for name, _ in FILES.values() if not (path / name).is_file()]
        if len(absent) == len(FILES):
            return "not found"
        return f"incomplete, missing {', '.join(absent)}" if absent else None

    def read(self, path: Path) -> Loaded:
        arrays = {key: read_idx(path / name, magic) for key, (name, magic) in FILES.items()}
        return Loaded(
            Split(arrays["x_train"], arrays["y_train"]),
            Split(arrays["x_test"], arrays["y_test"]),
            source=str(path),
        )
