"""Whether a model has a native implementation on a backend (its network in that
framework alone, `harness.worker.native`), asked by name: the parent asks it before any
worker starts, the worker before it loads one.

A model brings its own under the entry-point group `keras_harness.natives`, one per
framework, named `<model>.<backend>` (`mnist_cnn.torch =
"models.mnist_cnn.native.torch:Native"`).
"""

from __future__ import annotations

from harness.contract import plugins


def entry_name(model: str, backend: str) -> str:
    return f"{model}.{backend}"


def exists(model: str, backend: str) -> bool:
    """Whether `model` has a native implementation on `backend`."""
    return entry_name(model, backend) in plugins.names("native")


def check(model: str, backend: str) -> None:
    """A PluginError, naming those there are, if `model` has no native implementation
    on `backend`."""
    if exists(model, backend):
        return
    there = ", ".join(plugins.names("native")) or "none"
    raise plugins.PluginError(
        f"model {model!r} has no native implementation on {backend} (native "
        f"implementations, model.backend: {there}); run it with --impl keras"
    )
