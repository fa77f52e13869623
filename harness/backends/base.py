"""The backend interface. Subclasses import their framework inside methods only, and
those methods run in the worker process, never in the parent."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from harness.worker.handover import thread_env


@dataclass(frozen=True)
class Tuning:
    """A backend's fastest settings for the seed model on this kind of machine, applied
    by the `tuned` profile. Each choice is named in `why` with the figure that chose it."""

    env: dict[str, str] = field(default_factory=dict)  # set before the framework loads
    data_format: str | None = None  # None: the user's (keras.json) image data format
    jit_compile: bool | None = None  # None: Keras's "auto"
    code: tuple[str, ...] = ()  # what `configure(tuned=True)` installs, in words
    why: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "env": self.env,
            "data_format": self.data_format,
            "jit_compile": self.jit_compile,
            "code": list(self.code),
        }


class Feed:
    """The harness's batch order for one fit() call over every epoch: `data` is what
    fit() is given (with steps_per_epoch, so that Keras keeps one iterator for the whole
    call), `served()` the index batches Keras took from it, by position in `batches`.

    This one is a Python generator, which Keras reads on any backend; it records each
    batch when Keras takes it. Keras's first look at the data (the batches it peeks at to
    learn their shapes) replays the generator's first batches, so every position is
    served once, in order."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> None:
        self._served: dict[int, np.ndarray] = {}

        def generate() -> Any:
            for position, idx in enumerate(batches):
                self._served[position] = idx
                yield x[idx], y[idx]

        self.data: Any = generate()

    def served(self) -> dict[int, np.ndarray]:
        return self._served


class Backend:
    name: ClassVar[str]  # the KERAS_BACKEND value, also the registry key
    aliases: ClassVar[tuple[str, ...]] = ()
    module: ClassVar[str]  # the import that proves the framework is installed
    extra: ClassVar[str]  # the pyproject extra that installs it
    tox_env: ClassVar[str]  # the tox env / nox session that runs it
    distributions: ClassVar[tuple[str, ...]]  # its packages, for versions without importing
    tuning: ClassVar[Tuning] = Tuning()  # what the `tuned` profile changes
    # True if an op returns before its work is done (JAX's asynchronous dispatch): the
    # step clock then waits for each step in a helper thread, not in the training loop.
    asynchronous: ClassVar[bool] = False
    # An anchor row's Keras 3 counterpart: the backend whose figures it explains
    # (`keras2`: tensorflow); parity compares the two. None for a Keras 3 backend.
    anchor_of: ClassVar[str | None] = None
    # What compile() is given unless the tuning says: Keras 3's "auto" (XLA on JAX only).
    jit_compile_default: ClassVar[bool | str] = "auto"

    @property
    def keras_backend(self) -> str:
        """The KERAS_BACKEND value its worker runs Keras with (and Keras reports)."""
        return self.name

    def keras(self) -> Any:
        """The Keras the worker trains with, imported after `configure()` and before
        the model plugin: Keras 3 here; see `keras2` for Keras 2."""
        import keras

        return keras

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def versions(self) -> dict[str, str]:
        """Versions of the framework's installed packages, read from their metadata."""
        found = {}
        for dist in self.distributions:
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                pass
        return found

    def install_command(self) -> str:
        """How to install it beside the harness, outside tox."""
        return f"pip install 'keras-backend-harness[{self.extra}]'"

    def install_hint(self) -> str:
        return (
            f"the {self.name} backend needs the {self.module!r} package: run it in its own "
            f"environment with `tox -e {self.tox_env}`, or `{self.install_command()}`"
        )

    def env(self, threads: int, tuned: bool = False) -> dict[str, str]:
        """Environment for the worker, set before keras (and the framework) is imported."""
        return {
            "KERAS_BACKEND": self.keras_backend,
            # Thread pools of the math libraries are sized when they load; the worker
            # also pins itself to `threads` CPUs, which every framework honours.
            **thread_env(threads),
            **self.framework_env(threads),
            **(self.tuning.env if tuned else {}),
        }

    def framework_env(self, threads: int) -> dict[str, str]:
        """The framework's own variables for a run of `threads` threads."""
        return {}

    def configure(self, threads: int, deterministic: bool, tuned: bool) -> dict[str, object]:
        """Import the framework, apply the thread budget and, if asked, its determinism
        controls and the code-level part of its tuning; returns what was set, for the
        record."""
        raise NotImplementedError

    def kernels(self) -> dict[str, str]:
        """What decides which kernels the framework runs here, in a few words each (read
        in the worker, after `configure`)."""
        return {}

    def after_training(self) -> dict[str, object]:
        """Settings known only once the run has trained (how often tuned code ran), for
        the record beside what `configure` returned."""
        return {}

    def feed(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> Feed:
        """`batches` (index arrays into x and y) as this backend's fit() reads them
        fastest: as fast as a plain fit() on arrays."""
        return Feed(x, y, batches)
