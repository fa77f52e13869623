"""What the commands share: the command line's types, the options that name a cell, and
the checks made before any work starts (names, installs, keras.json, a writable folder)."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.backends import resolve
from harness.backends.base import Backend
from harness.contract import native, onefile, plugins
from harness.contract.checks import check_images, check_keras_json
from harness.contract.recipe import ModelRecipe
from harness.contract.rules import (
    BUDGET_MINUTES,
    MARGIN,
    MAX_EPOCHS,
    MAX_ROUNDS,
    MAX_SEED,
    POSITIVE,
    SEED,
    TARGET,
    integer,
)
from harness.contract.spec import DATA_FORMATS, ConfigError, Impl, RunSpec
from harness.datasets.base import DatasetError
from harness.datasets.npz_file import NpzFile
from harness.origin import fingerprint
from harness.record import places, tuning
from harness.summary.comparisons import DEFAULT_MARGIN

# RunSpec fields that command-line options set directly (--model and --dataset through
# `subject`).
SPEC_OPTIONS = (
    "threads", "epochs", "batch_size", "train_images", "data_format", "data_dir", "init",
    "deterministic", "learning_rate", "target", "stop_at_target", "perturb_init",
)  # fmt: skip
# What an unknown --model or --dataset name is told it could also be.
OWN_FILE_HINT = {"model": "path/to/model.py", "dataset": "path/to/data.npz"}


def int_from(lo: int, hi: int | None = None):
    """An argparse type: an integer >= `lo` (and <= `hi`)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        _refuse(integer(lo, hi).problem(value))
        return value

    return parse


def _refuse(problem: str | None) -> None:
    if problem:
        raise argparse.ArgumentTypeError(problem)


positive_int = int_from(1)
epochs = int_from(1, MAX_EPOCHS)
rounds = int_from(1, MAX_ROUNDS)
non_negative_int = int_from(0)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    value = _float(text)
    _refuse(POSITIVE.problem(value))
    return value


def budget_minutes(text: str) -> float:
    """An argparse type: a time budget in minutes (`BUDGET_MINUTES`)."""
    value = _float(text)
    _refuse(BUDGET_MINUTES.problem(value))
    return value


@dataclass(frozen=True)
class AutoRounds:
    """--rounds auto[:W%]: rounds until every compared speed ratio's 95 % interval lies
    within ±`width` of its geometric mean, or the round budget ends."""

    width: float = 0.05


def rounds_option(text: str) -> int | AutoRounds:
    """--rounds: a number of rounds, `auto` (±5 %) or `auto:W%` (W between 0 and 100)."""
    if text == "auto":
        return AutoRounds()
    if text.startswith("auto:"):
        percent = _float(text.removeprefix("auto:").removesuffix("%"))
        if not 0 < percent < 100:
            raise argparse.ArgumentTypeError(
                f"auto:W% needs a width W > 0 and < 100 (per cent), got {text!r}"
            )
        return AutoRounds(percent / 100)
    if not text.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(
            f"expected a number of rounds, auto or auto:W% (e.g. auto:5%), got {text!r}"
        )
    return rounds(text)


def target(text: str) -> float:
    """An argparse type: a test accuracy to reach, as a fraction (0.988)."""
    value = _float(text)
    _refuse(TARGET.problem(value))
    return value


def margin_option(p: argparse.ArgumentParser) -> None:
    """--margin, of `run`, `report` and `compare`: within how many points of test
    accuracy two sets of runs paired by seed count as equivalent."""

    def margin(text: str) -> float:
        value = _float(text)
        _refuse(MARGIN.problem(value))
        return value

    p.add_argument(
        "--margin",
        type=margin,
        default=DEFAULT_MARGIN,
        help="test accuracies paired by seed are equivalent when the 90 %% interval of "
        f"their mean difference lies within ± this many points (default {DEFAULT_MARGIN:g})",
    )


def seeds(text: str) -> list[int]:
    try:
        found = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3, got {text!r}") from None
    if not found or any(map(SEED.problem, found)):
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
    p.add_argument(
        "--model",
        default="mnist_cnn",
        help="a model plugin's name, or a file of your own: path/to/model.py with "
        "build(input_shape, num_classes) and DEFAULTS, as a model plugin has",
    )
    p.add_argument(
        "--dataset",
        default="mnist",
        help="a dataset plugin's name, or a file of your own: path/to/data.npz with "
        "x_train, y_train, x_test, y_test as Keras's mnist.npz (uint8 images (N, H, W), "
        "integer labels)",
    )
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
        # Its reason alone: the probe's own file is a name of no use to the user.
        raise ConfigError(f"results folder {directory} is not writable ({e.strerror})") from e


def backends(args: argparse.Namespace) -> list[Backend]:
    """The named backends, after the model and dataset names are checked; refused
    together with install hints if any is not installed."""
    named = [resolve(name) for name in args.backend.split(",") if name]
    for kind in ("model", "dataset"):
        value = getattr(args, kind)
        if onefile.names_file(kind, value):
            onefile.locate(kind, value)  # there; what it holds is checked by `subject`
            continue
        try:
            plugins.check_name(kind, value)
        except plugins.PluginError as e:
            raise plugins.PluginError(
                f"{e}; or a file of your own: --{kind} {OWN_FILE_HINT[kind]}"
            ) from None
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


@dataclass(frozen=True)
class Subject:
    """What --model and --dataset name, checked before any worker starts: the RunSpec
    fields that say it (a file of one's own by its name and digest, and where it lies),
    the model's recipe as its source declares it (None where only running it could
    tell), and the dataset's name and training images (None: unknown until loaded)."""

    fields: dict[str, str]
    recipe: ModelRecipe | None
    dataset: str
    train_images: int | None


def subject(args: argparse.Namespace) -> Subject:
    """The model and dataset `args` name, plugins or files of one's own, checked without
    running the model: a model's source must define build() and a recipe, a dataset
    file's arrays must be Keras's (a ConfigError says what is wrong, in one line)."""
    fields: dict[str, str] = {"model": args.model, "dataset": args.dataset}
    source: str | bytes | None
    if onefile.names_file("model", args.model):
        source = data = onefile.read("model", args.model)
        path = Path(args.model).expanduser()
        fields |= {"model": path.name, "model_sha256": onefile.sha256(data),
                   "model_path": str(path.resolve())}  # fmt: skip
        what, recipe = f"--model {args.model}", plugins.assigned(data, "DEFAULTS")
    else:
        source, what = plugins.source("model", args.model), f"model {args.model!r}"
        recipe = plugins.declared("model", args.model, "DEFAULTS")
    problem = onefile.source_problem(source) if source is not None else None
    if problem:
        raise ConfigError(f"{what} {problem}")
    try:
        recipe = None if recipe is None else ModelRecipe.parse(recipe)
    except ConfigError as e:
        raise ConfigError(f"{what} {e}") from None
    if onefile.names_file("dataset", args.dataset):
        data = onefile.read("dataset", args.dataset)
        path = Path(args.dataset).expanduser()
        try:
            dataset = NpzFile(path.name, data)
        except DatasetError as e:
            raise ConfigError(str(e)) from None
        fields |= {"dataset": path.name, "dataset_sha256": onefile.sha256(data),
                   "dataset_path": str(path.resolve())}  # fmt: skip
    else:
        dataset = plugins.load("dataset", args.dataset)
    return Subject(fields, recipe, dataset.name, dataset.train_images)


def specs(args: argparse.Namespace, backends: list[Backend]) -> list[RunSpec]:
    """The runs asked for, their numbers checked against what the dataset and the model's
    recipe declare: more images than exist, or a batch larger than the images used, is
    refused here, before any worker starts."""
    chosen = subject(args)
    overrides = {k: v for k, v in vars(args).items() if k in SPEC_OPTIONS and v is not None}
    overrides |= chosen.fields
    found = [
        RunSpec.from_profile(b.name, args.profile, seed=seed, impl=impl, **overrides)
        for b in backends
        for impl in _impls(args)
        if impl == Impl.KERAS or native.exists(chosen.fields["model"], b.name)
        for seed in args.seeds
    ]
    first = found[0]  # the runs of one command differ in backend and seed alone
    if chosen.recipe:
        chosen.recipe.target_of(first)
    batch = first.batch_size or (chosen.recipe.batch_size if chosen.recipe else None)
    images = first.train_images or (first.steps * batch if first.steps and batch else None)
    check_images(
        chosen.dataset, chosen.train_images, images, batch,
        None if first.batch_size else first.model,
    )  # fmt: skip
    return found


@dataclass(frozen=True)
class TunedSettings:
    """The settings `--settings tuned` runs a backend with, and where they come from:
    `recorded` where a tuning record of this machine gave them, else the plugin's
    fallback."""

    choice: dict[str, str]
    source: str
    recorded: bool


def tuned_settings(backend: Backend, results_dir: Path) -> TunedSettings:
    """The settings `--settings tuned` runs `backend` with on this machine, and where they
    come from: the tuning record of this machine and framework versions under
    `results_dir`/tuning (`harness tune` writes it), with the parity probe of the
    settings it kept, else the plugin's declared fallback, saying why."""
    machine_id = fingerprint.fingerprint().machine_id
    found, why = tuning.find(results_dir / "tuning", backend.name, machine_id, backend.versions())
    # The words go into every run's record: the results folder stands as its placeholder.
    why = places.unplaced(why, places.local_folders(results=results_dir))
    if found is not None:
        kept = found.kept
        parity = kept.parity.text() if kept and kept.parity else "none recorded"
        return TunedSettings(
            found.chosen, f"tuning record {why}; parity against the defaults: {parity}", True
        )
    return TunedSettings(
        dict(backend.fallback), f"the {backend.name} plugin's fallback: {why}", False
    )
