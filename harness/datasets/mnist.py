"""MNIST, loaded from a directory the user names, the Keras cache, or a Keras download."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from harness.contract.checks import keras_home
from harness.datasets.base import DatasetError, FileDataset, Loaded, Split, explicit_data_dir

FILENAME = "mnist.npz"


class MNIST(FileDataset):
    name = "mnist"
    keras_dataset = "mnist"
    num_classes = 10
    image_shape = (28, 28)
    train_images = 60_000
    files = f"{FILENAME} (the Keras file)"
    # SHA-256 of each array's raw bytes. Copies of mnist.npz differ in their zip metadata,
    # so the arrays are checked, not the file.
    digests = {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    }

    def candidates(self, data_dir: str | None) -> list[Path]:
        explicit = explicit_data_dir(data_dir)
        cached = keras_home() / "datasets" / FILENAME
        return ([explicit / FILENAME] if explicit else []) + [cached]

    def read(self, path: Path) -> Loaded:
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {key: f[key] for key in self.digests}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            # numpy's own words for a file that is no archive suggest loading it unsafely.
            why = "not an .npz archive" if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
            raise DatasetError(
                f"{path} cannot be read as a Keras mnist.npz ({why}); replace it with a good "
                "copy or delete it"
            ) from e
        return Loaded(
            Split(arrays["x_train"], arrays["y_train"]),
            Split(arrays["x_test"], arrays["y_test"]),
            source=str(path),
        )
