"""Train one Keras 3 model on several backends and compare the runs.

What a plugin author needs, in one place: the base classes of a backend (with its
tuning space), a dataset and a model's native implementation, and the typed recipe a
run records. They load when first asked for: importing a part of the harness (the build
imports its provenance, without numpy) loads nothing more.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what a type checker sees; at run time each loads when first asked for
    from harness.backends.base import Backend as Backend
    from harness.backends.base import Feed as Feed
    from harness.backends.base import Knob as Knob
    from harness.backends.base import Setting as Setting
    from harness.datasets.base import Dataset as Dataset
    from harness.datasets.base import DatasetError as DatasetError
    from harness.datasets.base import FileDataset as FileDataset
    from harness.datasets.base import Loaded as Loaded
    from harness.datasets.base import Split as Split
    from harness.record.schema import Recipe as Recipe
    from harness.worker.native import Native as Native
    from harness.worker.native import PlannedWeight as PlannedWeight

__version__ = "0.1.0"
# name -> the module that defines it
_PUBLIC = {
    "Backend": "harness.backends.base",
    "Feed": "harness.backends.base",
    "Knob": "harness.backends.base",
    "Setting": "harness.backends.base",
    "Dataset": "harness.datasets.base",
    "DatasetError": "harness.datasets.base",
    "FileDataset": "harness.datasets.base",
    "Loaded": "harness.datasets.base",
    "Split": "harness.datasets.base",
    "Native": "harness.worker.native",
    "PlannedWeight": "harness.worker.native",
    "Recipe": "harness.record.schema",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> object:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
