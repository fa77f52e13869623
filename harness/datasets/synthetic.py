"""A deterministic, learnable stand-in for MNIST that needs no files, for offline smoke runs."""

from __future__ import annotations

import numpy as np

from harness.datasets.base import Dataset, Loaded, Split

TRAIN_IMAGES = 12000
TEST_IMAGES = 2000


class Synthetic(Dataset):
    name = "synthetic"
    num_classes = 10
    image_shape = (28, 28)
    train_images = TRAIN_IMAGES

    def load(self, data_dir: str | None = None) -> Loaded:
        # Each class is a fixed random pattern of lit pixels; images are that pattern
        # under heavy noise, so the classes are learnable but not separable at a glance.
        rng = np.random.default_rng(28)
        patterns = rng.random((self.num_classes, *self.image_shape)) < 0.2

        def split(n: int) -> Split:
            y = rng.integers(0, self.num_classes, n).astype(np.uint8)
            x = patterns[y] * 160.0 + rng.normal(48.0, 48.0, (n, *self.image_shape))
            return Split(np.clip(x, 0, 255).astype(np.uint8), y)

        loaded = Loaded(split(TRAIN_IMAGES), split(TEST_IMAGES), source=self.locate())
        self.verify(loaded)
        return loaded

    def locate(self, data_dir: str | None = None) -> str:
        return "generated (seed 28)"
