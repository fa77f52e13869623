"""What the commands share: the command line's types, the options that name a cell, and
the checks made before any work starts (names, installs, keras.json, a writable folder)."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from harness import native, plugins
from harness.backends import resolve
from harness.backends.base import Backend
from harness.config import (
    DATA_FORMATS,
    MAX_SEED,
    ConfigError,
    Impl,
    RunSpec,
    check_images,
    check_keras_json,
)
from harness.record import fingerprint, tuning

# RunSpec fields that command-line options set directly.
SPEC_OPTIONS = (
    "model", "dataset", "threads", "epochs", "batch_size", "train_images", "data_format",
    "data_dir", "init", "deterministic", "learning_rate",
)  # fmt: skip


def int_from(lo: int):
    """An argparse type: an integer >= `lo`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        return value

    return parse


positive_int = int_from(1)
non_negative_int = int_from(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def seeds(text: str) -> list[int]:
    try:
        found = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3, got {text!r}") from None
    if not found or min(found) < 0 or max(found) > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected integers from 0 to {MAX_SEED} like 1,2,3, got {text!r}"
        )
    return found


def seed(text: str) -> int:
    found = seeds(text)
    if len(found) != 1:
        raise argparse.ArgumentTypeError(f"expected one integer, got {text!r}")
    return found[0]


def impls(text: str) -> list[Impl]:
    """An argparse type: keras, native, or both, comma-separated."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    known = [i.value for i in Impl]
    if not names or not set(names) <= set(known):
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(known)} or both, comma-separated, got {text!r}"
        )
    return [Impl(n) for n in known if n in names]


def _impls(args: argparse.Namespace) -> list[Impl]:
    return getattr(args, "impl", None) or [Impl.KERAS]


SETTINGS = ("default", "tuned")


def settings(text: str) -> list[str]:
    found = [s.strip() for s in text.split(",") if s.strip()]
    if not found or not set(found) <= set(SETTINGS):
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(SETTINGS)} or both, comma-separated, got {text!r}"
        )
    return sorted(set(found), key=SETTINGS.index)


def cell_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `parity`: what is trained, on what, how."""
    p.add_argument(
        "--backend", required=True, help="comma-separated, e.g. tf,jax,torch (tf = tensorflow)"
    )
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--threads", type=positive_int, help="CPU threads (default: all available)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--train-images", type=positive_int, help="use the first N training images")
    p.add_argument(
        "--data-format", choices=DATA_FORMATS, help="default: keras.json (channels_last)"
    )
    p.add_argument("--data-dir", help="where the dataset files are (or set HARNESS_DATA_DIR)")
    p.add_argument("--results", type=Path, default=Path("results"))


def writable(directory: Path, create: bool = True) -> None:
    """Fail now, not after an hour of training, if results cannot be written; with
    `create` False, a folder that does not exist (a typo) is refused, not made."""
    if not create and not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise ConfigError(f"results folder {directory} {what}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise ConfigError(f"results folder {directory} is not writable: {e}") from e


def backends(args: argparse.Namespace) -> list[Backend]:
    """The named backends, after the model and dataset names are checked; refused
    together with install hints if any is not installed."""
    named = [resolve(name) for name in args.backend.split(",") if name]
    plugins.check_name("model", args.model)
    plugins.check_name("dataset", args.dataset)
    if not named:
        raise ConfigError("--backend names no backend")
    if _impls(args) == [Impl.NATIVE]:  # with keras beside it, only where there is one
        for b in named:
            native.check(args.model, b.name)
    check_keras_json()
    missing = [b for b in named if not b.installed()]
    if missing:
        raise ConfigError("; ".join(b.install_hint() for b in missing))
    return named


def specs(args: argparse.Namespace, backends: list[Backend]) -> list[RunSpec]:
    """The runs asked for, their numbers checked against what the dataset and the model's
    recipe declare: more images than exist, or a batch larger than the images used, is
    refused here, before any worker starts."""
    overrides = {k: v for k, v in vars(args).items() if k in SPEC_OPTIONS and v is not None}
    natives = set(plugins.names("native"))
    found = [
        RunSpec.from_profile(b.name, args.profile, seed=seed, impl=impl, **overrides)
        for b in backends
        for impl in _impls(args)
        if impl == Impl.KERAS or native.entry_name(args.model, b.name) in natives
        for seed in args.seeds
    ]
    dataset = plugins.load("dataset", args.dataset)
    recipe = plugins.declared("model", args.model, "DEFAULTS")
    recipe_batch = recipe.get("batch_size") if isinstance(recipe, dict) else None
    first = found[0]  # the runs of one command differ in backend and seed alone
    batch = first.batch_size or (recipe_batch if isinstance(recipe_batch, int) else None)
    images = first.train_images or (first.steps * batch if first.steps and batch else None)
    check_images(
        dataset.name, dataset.train_images, images, batch,
        None if first.batch_size else args.model,
    )  # fmt: skip
    return found


def tuned_settings(backend: Backend, results_dir: Path) -> tuple[dict[str, str], str]:
    """The settings `--settings tuned` runs `backend` with on this machine, and where they
    come from: the tuning record of this machine and framework versions under
    `results_dir`/tuning (`harness tune` writes it), else the plugin's declared fallback,
    saying why."""
    machine_id = fingerprint.fingerprint().machine_id
    found, why = tuning.find(results_dir / "tuning", backend.name, machine_id, backend.versions())
    if found is not None:
        return found.chosen, f"tuning record {why}"
    return dict(backend.fallback), f"the {backend.name} plugin's fallback: {why}"
