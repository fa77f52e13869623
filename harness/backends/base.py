"""The backend interface. Subclasses import their framework inside methods only, and
those methods run in the worker process, never in the parent."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import ClassVar


class Backend:
    name: ClassVar[str]  # the KERAS_BACKEND value, also the registry key
    aliases: ClassVar[tuple[str, ...]] = ()
    module: ClassVar[str]  # the import that proves the framework is installed
    extra: ClassVar[str]  # the pyproject extra that installs it
    tox_env: ClassVar[str]  # the tox env / nox session that runs it
    distributions: ClassVar[tuple[str, ...]]  # its packages, for versions without importing

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

    def install_hint(self) -> str:
        return (
            f"the {self.name} backend needs the {self.module!r} package: run it in its own "
            f"environment with `tox -e {self.tox_env}`, or `pip install "
            f"'keras-backend-harness[{self.extra}]'`"
        )

    def env(self, threads: int) -> dict[str, str]:
        """Environment for the worker, set before keras (and the framework) is imported."""
        n = str(threads)
        return {
            "KERAS_BACKEND": self.name,
            # Thread pools of the math libraries are sized when they load; the worker
            # also pins itself to `threads` CPUs, which every framework honours.
            "OMP_NUM_THREADS": n,
            "MKL_NUM_THREADS": n,
            "OPENBLAS_NUM_THREADS": n,
        }

    def configure(self, threads: int, deterministic: bool) -> dict[str, object]:
        """Import the framework, apply the thread budget and, if asked, its determinism
        controls; returns what was set, for the record."""
        raise NotImplementedError
