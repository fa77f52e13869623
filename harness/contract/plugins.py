"""Plugin registry: backends, models and datasets found through entry points.

Listing reads entry-point names only; a plugin is imported when it is asked for, so
naming a backend never imports its framework.
"""

from __future__ import annotations

import ast
import importlib.util
from importlib.metadata import EntryPoint, entry_points
from typing import Any

GROUPS = {
    "backend": "keras_harness.backends",
    "model": "keras_harness.models",
    "dataset": "keras_harness.datasets",
    # A model's network without Keras, one per framework, named `<model>.<backend>`.
    "native": "keras_harness.natives",
}
# Groups that may be empty: a model need not bring native implementations.
OPTIONAL = ("native",)


class PluginError(LookupError):
    """A plugin name is unknown, or its group is empty."""


def _entry_points(kind: str) -> dict[str, EntryPoint]:
    found = {ep.name: ep for ep in entry_points(group=GROUPS[kind])}
    if not found and kind not in OPTIONAL:
        raise PluginError(
            f"no {kind} plugins are registered under {GROUPS[kind]!r}: is "
            "keras-backend-harness installed? (pip install -e . from the repository)"
        )
    return found


def names(kind: str) -> list[str]:
    """The registered names of one kind of plugin, sorted."""
    return sorted(_entry_points(kind))


def load(kind: str, name: str) -> Any:
    """The object an entry point names (a class for backends and datasets, a module for models)."""
    return _entry_points(kind)[check_name(kind, name)].load()


def check_name(kind: str, name: str) -> str:
    """`name` if it is registered; a PluginError listing the known names if not."""
    known = names(kind)
    if name not in known:
        raise PluginError(f"unknown {kind} {name!r}; known {kind}s: {', '.join(known)}")
    return name


def module_of(kind: str, name: str) -> str:
    """The module a plugin's entry point names (its object lives in it), not imported."""
    return _entry_points(kind)[check_name(kind, name)].module


def source(kind: str, name: str) -> str | None:
    """The Python source of a plugin's module, read without running it; None where it
    cannot be read (a compiled module, a loader without sources)."""
    module = module_of(kind, name)
    try:
        spec = importlib.util.find_spec(module)
        loader = spec.loader if spec else None
        # A source loader (every .py file's) has get_source; others have none.
        get_source = getattr(loader, "get_source", None)
        return get_source(module) if get_source else None
    except (ImportError, ValueError, AttributeError):  # raised by importing its package
        return None


def declared(kind: str, name: str, variable: str) -> Any:
    """A constant a plugin's module assigns (a model's DEFAULTS), read from its source
    without running it: the parent process never imports a model, which may import
    keras at its top. None where the module's source cannot be read or the value is not
    a literal (a worker, which imports the plugin, checks what this could not)."""
    return assigned(source(kind, name) or "", variable)


def assigned(text: str | bytes, variable: str) -> Any:
    """The literal value Python source `text` assigns to `variable` at its top; None if
    it assigns none, or one that is not a literal, or is not Python."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return None
