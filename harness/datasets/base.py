"""The dataset interface and the checks every loaded dataset goes through."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from harness.contract.checks import check_data_dir


class DatasetError(RuntimeError):
    """A dataset could not be loaded, or what was loaded is not what it should be."""


@dataclass(frozen=True)
class Split:
    """Images as uint8 (N, H, W) and integer labels (N,)."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Loaded:
    train: Split
    test: Split
    source: str  # where the data came from, for messages

    @property
    def origin(self) -> str:
        """The source as a record names it: a file or folder by its name, never a path on
        the user's machine (the arrays themselves are checked against their digests)."""
        return Path(self.source).name if os.sep in self.source else self.source


def array_digest(a: np.ndarray) -> str:
    """SHA-256 of the array's raw bytes (C order), independent of how it was stored."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def explicit_data_dir(data_dir: str | None) -> Path | None:
    """The directory the user named: --data-dir first, then HARNESS_DATA_DIR."""
    chosen = data_dir or os.environ.get("HARNESS_DATA_DIR")
    return Path(chosen).expanduser() if chosen else None


class Dataset:
    # What a plugin declares for its class (a file of one's own, for its instance).
    name: str
    num_classes: int
    image_shape: tuple[int, int]  # (height, width); one channel
    # The training set's size, declared so that the parent process can check
    # --train-images and --batch-size before a worker loads anything (None: unknown,
    # checked by the worker once loaded).
    train_images: int | None = None

    def load(self, data_dir: str | None = None) -> Loaded:
        raise NotImplementedError

    def locate(self, data_dir: str | None = None) -> str:
        """Where `load` would take the data from, without reading it (for `list`)."""
        raise NotImplementedError

    def where(self, split: str, loaded: Loaded) -> str:
        """A split of `loaded` as messages name it."""
        return f"{self.name} {split} split from {loaded.source}"

    def verify(self, loaded: Loaded, expected: dict[str, str] | None = None) -> None:
        """Shapes, dtypes and label range always; array digests when `expected` is given."""
        for split_name, split in (("train", loaded.train), ("test", loaded.test)):
            where = self.where(split_name, loaded)
            x, y = split.x, split.y
            if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != self.image_shape:
                raise DatasetError(
                    f"{where}: images must be uint8 of shape (N, {self.image_shape[0]}, "
                    f"{self.image_shape[1]}), got {x.dtype} {x.shape}"
                )
            if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
                raise DatasetError(
                    f"{where}: labels must be integers of shape ({x.shape[0]},), "
                    f"got {y.dtype} {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise DatasetError(
                    f"{where}: labels must lie in [0, {self.num_classes - 1}], "
                    f"got [{y.min()}, {y.max()}]"
                )
            for key, a in ((f"x_{split_name}", x), (f"y_{split_name}", y)):
                if expected and array_digest(a) != expected[key]:
                    raise DatasetError(
                        f"{where}: the digest of {key} does not match the published one; "
                        "the file is damaged or is not this dataset"
                    )


class FileDataset(Dataset):
    """A dataset stored in files: looked for in a list of places, then downloaded by Keras,
    and always checked against the published array digests."""

    digests: ClassVar[dict[str, str]]  # x_train, y_train, x_test, y_test -> SHA-256
    files: ClassVar[str]  # what the user should provide, for messages
    keras_dataset: ClassVar[str]  # the keras.datasets module that downloads it

    def candidates(self, data_dir: str | None) -> list[Path]:
        """The places to look, in order."""
        raise NotImplementedError

    label_dtype: ClassVar[str] = "uint8"  # the labels' dtype as published

    def missing(self, path: Path) -> str | None:
        """Why `path` does not hold the dataset, or None if it does."""
        if path.is_file():
            return None
        return "a folder, not a file" if path.is_dir() else "not found"

    def verify(self, loaded: Loaded, expected: dict[str, str] | None = None) -> None:
        """As `Dataset.verify`, and the labels' dtype is named before their digest would
        only say that they differ."""
        for split_name, split in (("train", loaded.train), ("test", loaded.test)):
            if expected and split.y.dtype != self.label_dtype:
                raise DatasetError(
                    f"{self.where(split_name, loaded)}: labels must be {self.label_dtype} as "
                    f"published, got {split.y.dtype}"
                )
        super().verify(loaded, expected)

    def read(self, path: Path) -> Loaded:
        """The arrays stored at `path`; DatasetError if they cannot be read."""
        raise NotImplementedError

    def download(self) -> Loaded:
        """Keras's own loader, which downloads into (and then reads from) its cache."""
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(
            keras.datasets, self.keras_dataset
        ).load_data()
        return Loaded(
            Split(x_train, y_train),
            Split(x_test, y_test),
            source=f"keras.datasets.{self.keras_dataset}",
        )

    def locate(self, data_dir: str | None = None) -> str:
        for path in self.candidates(data_dir):
            if self.missing(path) is None:
                return str(path)
        return "not found locally: Keras would download it"

    def load(self, data_dir: str | None = None) -> Loaded:
        check_data_dir(data_dir)
        looked = []
        for path in self.candidates(data_dir):
            why = self.missing(path)
            if why is None:
                loaded = self.read(path)
                self.verify(loaded, self.digests)
                return loaded
            looked.append(f"{path}: {why}")
        try:
            loaded = self.download()
        except Exception as e:  # any failure of the download is reported with the rest
            looked.append(f"Keras download: {type(e).__name__}: {e}")
        else:
            self.verify(loaded, self.digests)
            return loaded
        raise DatasetError(
            f"{self.name} could not be loaded. Looked in:\n  - "
            + "\n  - ".join(looked)
            + f"\nPut {self.files} in a directory and pass --data-dir DIR (or set "
            "HARNESS_DATA_DIR=DIR), or connect to the internet so that Keras can download it."
        )


def prepare(
    split: Split, data_format: str, num_classes: int, one_hot: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels / 255 as float32 with a channel axis where the data format puts it; labels
    one-hot (float32) or as they are."""
    x = split.x.astype("float32") / 255.0
    x = x[:, None, :, :] if data_format == "channels_first" else x[..., None]
    y = np.eye(num_classes, dtype="float32")[split.y] if one_hot else split.y
    return x, y
