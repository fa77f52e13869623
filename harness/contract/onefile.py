"""A model or a dataset of one's own in one file, used as a plugin is.

`--model path/to/model.py` is a module with the contract of a model plugin:
`build(input_shape, num_classes)` and its `DEFAULTS` recipe. `--dataset path/to/data.npz`
holds Keras's arrays (`harness.datasets.npz_file`). A record knows such a file by its
name and the SHA-256 of its bytes (the spec's `model_sha256`, `dataset_sha256`), never by
where it lay. The parent checks what it can without running the model (its source, the
arrays); the worker takes the file's bytes only if they are still those the parent saw,
so that every run of one invocation trains the same file, wherever it runs.

A model plugin goes through the same checks of `build` and `DEFAULTS`, here and in the
worker, so that both fail alike: in one line, before training.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
import types
from pathlib import Path

from harness import plugins
from harness.config import OWN_FILES, ConfigError, ModelRecipe, RunSpec
from harness.datasets.base import Dataset
from harness.datasets.npz_file import NpzFile

# The name a model file runs under in the worker (its own name could shadow a module:
# a file called keras.py).
MODULE = "harness_own_model"


def names_file(kind: str, value: str) -> bool:
    """Whether `--model` or `--dataset` (`kind`) `value` names a file of one's own: it
    ends in the kind's suffix or has a folder in it, as no plugin's name does."""
    return value.endswith(OWN_FILES[kind]) or "/" in value or os.sep in value


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def locate(kind: str, value: str) -> Path:
    """The file that `--model` or `--dataset` (`kind`) names, if there is one of its
    kind's suffix there; a ConfigError that says what is wrong in one line if not."""
    option, suffix = f"--{kind}", OWN_FILES[kind]
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigError(f"{option} {value} does not exist")
    if not path.is_file():
        raise ConfigError(f"{option} {value} is not a file")
    if not path.name.endswith(suffix):
        raise ConfigError(f"{option} {value}: a {kind} of one's own is a {suffix} file")
    return path


def read(kind: str, value: str) -> bytes:
    """The bytes of the file `locate` finds."""
    try:
        return locate(kind, value).read_bytes()
    except OSError as e:
        raise ConfigError(f"--{kind} {value} cannot be read: {e.strerror}") from e


def recipe_problem(recipe: object) -> str | None:
    """What keeps a model's DEFAULTS from being a recipe the worker can train with."""
    try:
        ModelRecipe.parse(recipe)
    except ConfigError as e:
        return str(e)
    return None


NO_BUILD = (
    "has no build(input_shape, num_classes): a model's module defines build() and "
    "DEFAULTS (its recipe), as models/mnist_cnn does"
)
NO_DEFAULTS = (
    "has no DEFAULTS: a model's module names its recipe (epochs, batch_size, optimizer, loss) in it"
)


def source_problem(text: str | bytes) -> str | None:
    """What keeps the Python source `text` from being a model's module, read without
    running it: not Python, no `build` or `DEFAULTS` at its top, a DEFAULTS that lacks
    part of a recipe. None when it is one, or when only running it could tell."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as e:
        line = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        return f"is not Python: {e.msg if isinstance(e, SyntaxError) else e}{line}"
    names = _top_names(tree.body)
    if names is None:  # `from x import *` may bring anything
        return None
    if "build" not in names:
        return NO_BUILD
    if "DEFAULTS" not in names:
        return NO_DEFAULTS
    recipe = plugins.assigned(text, "DEFAULTS")
    return None if recipe is None else recipe_problem(recipe)


def _top_names(body: list[ast.stmt]) -> set[str] | None:
    """The names statements at a module's top bind (in its `if` and `try` blocks too);
    None if one is a star import."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return None
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                inner = _top_names(block)
                if inner is None:
                    return None
                names |= inner
    return names


def module_problem(module: types.ModuleType) -> str | None:
    """`source_problem` of a model's module as it ran."""
    if not callable(getattr(module, "build", None)):
        return NO_BUILD
    if not hasattr(module, "DEFAULTS"):
        return NO_DEFAULTS
    return recipe_problem(module.DEFAULTS)


# --- in the worker -------------------------------------------------------------------


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
        exec(compile(data, spec.model_path or spec.model, "exec"), module.__dict__)
    problem = module_problem(module)
    if problem:
        raise ConfigError(f"{what} {problem}")
    return module


def dataset(spec: RunSpec) -> Dataset:
    """The run's dataset: its plugin, or its file's arrays, checked."""
    if spec.dataset_sha256 is None:
        return plugins.load("dataset", spec.dataset)()
    return NpzFile(spec.dataset, verified(spec.dataset_path, spec.dataset, spec.dataset_sha256))
