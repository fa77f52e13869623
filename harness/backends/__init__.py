"""Backend plugins: one module per backend, named exactly as KERAS_BACKEND.

`resolve` is the one place where aliases (the tox env name `tf`) become backend names.
"""

from __future__ import annotations

from harness.backends.base import Backend, Tuning
from harness.contract import plugins
from harness.contract.spec import RunSpec


def all_backends() -> list[Backend]:
    return [plugins.load("backend", name)() for name in plugins.names("backend")]


def tuning_of(spec: RunSpec) -> Tuning | None:
    """The settings a spec's tuning names, merged by its backend (None: the defaults)."""
    if spec.tuning is None:
        return None
    return resolve(spec.backend).tuning(dict(spec.tuning), spec.tuning_source or "")


def resolve(name: str) -> Backend:
    """The backend called `name` or having it as an alias."""
    backends = all_backends()
    for backend in backends:
        if name == backend.name or name in backend.aliases:
            return backend
    known = ", ".join(
        b.name + (f" (alias {', '.join(b.aliases)})" if b.aliases else "") for b in backends
    )
    raise plugins.PluginError(f"unknown backend {name!r}; known backends: {known}")
