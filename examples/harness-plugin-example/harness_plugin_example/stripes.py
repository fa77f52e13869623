"""A dataset plugin: a `harness.datasets.base.Dataset` whose `load` returns uint8 images
(N, height, width) and integer labels, here horizontal (0) or vertical (1) stripes."""

import numpy as np

from harness.datasets.base import Dataset, Loaded, Split


class Stripes(Dataset):
    name = "stripes"
    num_classes = 2
    image_shape = (28, 28)

    def locate(self, data_dir=None):
        return "generated"

    def load(self, data_dir=None):
        rng = np.random.default_rng(0)

        def split(n):
            y = rng.integers(0, 2, n).astype(np.uint8)
            phase = rng.integers(0, 4, n)
            rows = (np.arange(28)[None, :] + phase[:, None]) % 4 < 2  # (n, 28)
            lit = np.where(y[:, None, None] == 0, rows[:, :, None], rows[:, None, :])
            x = lit * 150.0 + rng.normal(50, 40, (n, 28, 28))
            return Split(np.clip(x, 0, 255).astype(np.uint8), y)

        loaded = Loaded(split(2000), split(500), source=self.locate())
        self.verify(loaded)
        return loaded
