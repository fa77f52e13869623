"""A dataset of one's own: one .npz file in Keras's layout (mnist.npz's), given as
`--dataset path/to/data.npz`. Its images are uint8 (N, height, width), its labels
integers (N,), its classes 0 to the largest label; it is known by its file's name and
the SHA-256 of its bytes (`harness.contract.onefile`), not by a plugin's name."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from harness.datasets.base import Dataset, DatasetError, Loaded, Split

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


class NpzFile(Dataset):
    """The arrays of `data`, the bytes of the file `name`, read and checked as every
    loaded dataset is, before anything else uses them."""

    def __init__(self, name: str, data: bytes) -> None:
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
        # Instance values of what a plugin declares for its class.
        self.name = name
        self.image_shape = (x.shape[1], x.shape[2])
        self.num_classes = max(known, default=0) + 1
        self.train_images = len(x)
        self.loaded = Loaded(
            Split(x, arrays["y_train"]), Split(arrays["x_test"], arrays["y_test"]), source=name
        )
        self.verify(self.loaded)
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
