"""A dataset of one's own: one .npz file in Keras's layout (mnist.npz's), given as
`--dataset path/to/data.npz`. Its images are uint8 (N, height, width), its labels
integers (N,), its classes 0 to the largest label; it is known by its file's name and
the SHA-256 of its bytes (`harness.contract.onefile`), not by a plugin's name."""

from __future__ import annotations

import io
import math
import os
import zipfile

import numpy as np

from harness.datasets.base import Dataset, DatasetError, Loaded, Split

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
# A label is a one-hot row of the classes in training: a label of 10**9 would ask for
# 10**9 columns. ImageNet has 1,000 classes.
MAX_CLASSES = 1000
# Deflate packs at most about 1,032 bytes into one: a member that claims more is damaged.
_DEFLATE_RATIO = 1100


def _claims(name: str, data: bytes) -> None:
    """Each array's header checked against the bytes it stands on, before numpy reads
    any (numpy allocates what a header claims before reading): plain numeric arrays
    (no pickled objects), each exactly as long as its shape and dtype say, all of them
    within this machine's memory."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DatasetError(f"{name} cannot be read as a dataset file (not an .npz archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(_claimed(name, archive, info) for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(
            f"{name} cannot be read as a dataset file ({type(e).__name__}: {e})"
        ) from None
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if total > memory // 2:
        raise DatasetError(
            f"{name} holds {total / 2**30:,.1f} GiB of arrays, more than half of this "
            f"machine's {memory / 2**30:,.1f} GiB of memory"
        )


def _claimed(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """The bytes of the array `info` of `archive`, after its header is checked."""
    key = info.filename.removesuffix(".npy")
    if info.file_size > info.compress_size * _DEFLATE_RATIO + 1024:
        raise DatasetError(
            f"{name}: {key} claims {info.file_size:,} bytes packed into "
            f"{info.compress_size:,}, more than compression can: the file is damaged"
        )
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)  # fmt: skip
            shape, _, dtype = read(f)
        except ValueError as e:
            raise DatasetError(f"{name}: {key} is not a numpy array ({e})") from None
        there = info.file_size - f.tell()
    if dtype.hasobject:
        raise DatasetError(
            f"{name}: {key} holds Python objects (a pickled array), which the harness does "
            "not load: a dataset file holds plain numeric arrays"
        )
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != there:
        raise DatasetError(
            f"{name}: {key}'s header claims shape {shape} of {dtype} ({claimed:,} bytes), "
            f"but the file holds {there:,}: the file is damaged"
        )
    return claimed


class NpzFile(Dataset):
    """The arrays of `data`, the bytes of the file `name`, read and checked as every
    loaded dataset is, before anything else uses them."""

    def __init__(self, name: str, data: bytes) -> None:
        _claims(name, data)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as f:
                missing = [key for key in ARRAYS if key not in f.files]
                if missing:
                    raise DatasetError(
                        f"{name} lacks {', '.join(missing)}: a dataset file holds "
                        f"{', '.join(ARRAYS)}, as Keras's mnist.npz does"
                    )
                arrays = {key: f[key] for key in ARRAYS}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            # numpy's own words for a file that is no archive suggest loading it unsafely.
            why = "not an .npz archive" if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
            raise DatasetError(f"{name} cannot be read as a dataset file ({why})") from e
        x = arrays["x_train"]
        if x.ndim != 3 or len(x) == 0:
            raise DatasetError(
                f"train split of {name}: images must be uint8 of shape (N, height, width) "
                f"with N >= 1, got {x.dtype} {x.shape}"
            )
        labels = [arrays[k] for k in ("y_train", "y_test")]
        known = [int(y.max()) for y in labels if y.size and np.issubdtype(y.dtype, np.integer)]
        if max(known, default=0) >= MAX_CLASSES:
            raise DatasetError(
                f"{name}: labels go up to {max(known):,}, and a label is a class's number: "
                f"a dataset file has at most {MAX_CLASSES:,} classes (labels 0 to "
                f"{MAX_CLASSES - 1:,})"
            )
        # Instance values of what a plugin declares for its class.
        self.name = name
        self.image_shape = (x.shape[1], x.shape[2])
        self.num_classes = max(known, default=0) + 1
        self.train_images = len(x)
        self.loaded = Loaded(
            Split(x, arrays["y_train"]), Split(arrays["x_test"], arrays["y_test"]), source=name
        )
        self.verify(self.loaded)
        unseen = np.setdiff1d(arrays["y_test"], arrays["y_train"])
        if unseen.size:
            raise DatasetError(
                f"test split of {name}: labels {', '.join(map(str, unseen[:5]))}"
                + (" and more" if unseen.size > 5 else "")
                + " never occur in training: no model can learn them"
            )
        if self.num_classes < 2 or len(arrays["x_test"]) == 0:
            raise DatasetError(
                f"{name} must hold test images and labels of 2 classes or more (0 and 1 at "
                f"least), got {len(arrays['x_test'])} test images and labels up to "
                f"{self.num_classes - 1}"
            )

    def where(self, split: str, loaded: Loaded) -> str:
        return f"{split} split of {self.name}"

    def load(self, data_dir: str | None = None) -> Loaded:
        return self.loaded

    def locate(self, data_dir: str | None = None) -> str:
        return self.name
