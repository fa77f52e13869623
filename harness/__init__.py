"""Train one Keras 3 model on several backends and compare the runs.

What a plugin author needs, in one place: the base classes of a backend (with its
tuning space), a dataset and a model's native implementation, and the typed recipe a
run records.
"""

from harness.backends.base import Backend, Feed, Knob, Setting
from harness.datasets.base import Dataset, DatasetError, FileDataset, Loaded, Split
from harness.native import Native
from harness.record.schema import Recipe

__version__ = "0.1.0"
__all__ = [
    "Backend", "Dataset", "DatasetError", "Feed", "FileDataset", "Knob", "Loaded", "Native",
    "Recipe", "Setting", "Split",
]  # fmt: skip
