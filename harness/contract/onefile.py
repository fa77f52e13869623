"""A model or a dataset of one's own in one file, used as a plugin is.

`--model path/to/model.py` is a module with the contract of a model plugin:
`build(input_shape, num_classes)` and its `DEFAULTS` recipe. `--dataset path/to/data.npz`
holds Keras's arrays (`harness.datasets.npz_file`). A record knows such a file by its
name and the SHA-256 of its bytes (the spec's `model_sha256`, `dataset_sha256`), never by
where it lay. The parent checks what it can without running the model (its source, the
arrays); the worker takes the file's bytes only if they are still those the parent saw,
so that every run of one invocation trains the same file, wherever it runs.

A model plugin goes through the same checks of `build` and `DEFAULTS`, here and in the
worker (`harness.worker.onefile`, which loads the file), so that both fail alike: in one
line, before training.
"""

from __future__ import annotations

import ast
import hashlib
import os
import types
from pathlib import Path

from harness.contract import plugins
from harness.contract.recipe import ModelRecipe
from harness.contract.spec import OWN_FILES, ConfigError


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
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        # A record knows the file by its name, and a record is UTF-8 JSON.
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise ConfigError(
            f"{option} {shown}: its name is not UTF-8 text (a byte such as 0xff, shown as "
            "\ufffd), which a record cannot hold: rename the file"
        ) from None
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
