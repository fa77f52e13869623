"""A model or a dataset of one's own, loaded in the worker: the file's bytes, if they are
still those the parent saw (`harness.contract.onefile` checked them there), run as a
module or read as arrays."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from harness.contract import plugins
from harness.contract.onefile import module_problem, sha256
from harness.contract.spec import ConfigError, RunSpec
from harness.datasets.base import Dataset
from harness.datasets.npz_file import NpzFile

# The name a model file runs under in the worker (its own name could shadow a module:
# a file called keras.py).
MODULE = "harness_own_model"

T = TypeVar("T")


def user_code(what: str, call: Callable[..., T], *args: object) -> T:
    """`call(*args)`, code of a model's own (its module, its build()), whatever it does
    turned into one line: an exception it raises, or sys.exit() it calls, is a
    ConfigError that starts with `what`."""
    try:
        return call(*args)
    except Exception as e:
        first = next(iter(str(e).splitlines()), "")
        said = f"{what} raised {type(e).__name__}" + (f": {first}" if first else "")
        raise ConfigError(said) from None
    except SystemExit as e:
        raise ConfigError(f"{what} called sys.exit({e.code!r})") from None


def verified(path: str | None, name: str, digest: str) -> bytes:
    """The bytes of the file of one's own `name` at `path`, if they are still those the
    run was started with (`digest`)."""
    try:
        data = Path(path or "").read_bytes()
    except OSError as e:
        raise ConfigError(
            f"{name} cannot be read ({e.strerror}): was it moved after the run started?"
        ) from e
    now = sha256(data)
    if now != digest:
        raise ConfigError(
            f"{name} changed after the run started (SHA-256 {digest[:12]}… then, {now[:12]}… "
            "now): the runs of one invocation train one file; start them again"
        )
    return data


def model(spec: RunSpec) -> types.ModuleType:
    """The run's model: its plugin, or its file run as a module; either with `build`
    and a recipe, or a ConfigError that says which it lacks."""
    if spec.model_sha256 is None:
        module, what = plugins.load("model", spec.model), f"model {spec.model!r}"
    else:
        data = verified(spec.model_path, spec.model, spec.model_sha256)
        module, what = types.ModuleType(MODULE), f"model {spec.model}"
        module.__file__ = spec.model_path
        sys.modules[MODULE] = module  # as an import would: dataclasses and pickle look
        code = compile(data, spec.model_path or spec.model, "exec")
        user_code(f"{what}: running its file", exec, code, module.__dict__)
    problem = module_problem(module)
    if problem:
        raise ConfigError(f"{what} {problem}")
    return module


def dataset(spec: RunSpec) -> Dataset:
    """The run's dataset: its plugin, or its file's arrays, checked."""
    if spec.dataset_sha256 is None:
        return plugins.load("dataset", spec.dataset)()
    return NpzFile(spec.dataset, verified(spec.dataset_path, spec.dataset, spec.dataset_sha256))
