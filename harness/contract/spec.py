"""Run configuration: frozen dataclasses, validated on construction.

A `RunSpec` is one cell of the run matrix. Fields left as None are filled in the
worker from the model's own recipe (`DEFAULTS` in its module) and recorded, resolved,
in the result file; the parent process never imports the model.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, NewType, TypeVar

from harness.rules import (
    BOOLEAN,
    POSITIVE,
    SEED,
    SHA256,
    TEXT,
    Rule,
    integer,
    one_of,
)

DATA_FORMATS = ("channels_last", "channels_first")


class Init(StrEnum):
    """Where a run's initial weights, batch order and dropout masks come from."""

    HARNESS = "harness"  # drawn by the harness, identical on every backend
    KERAS = "keras"  # each backend's own initializers, shuffling and masks (different per backend)


class Impl(StrEnum):
    """What trains the model: Keras (the model plugin), or the same model written in the
    backend's framework alone (its plugin under keras_harness.natives), an anchor row
    that says how much of a backend's time is Keras's."""

    KERAS = "keras"
    NATIVE = "native"


# What a run measured, in a word or two, the label of its row in every table and of its
# probe in parity: its backend plugin's name, and "native" after it when it ran the
# framework without Keras ("torch", "torch native", "keras2"). Not the KERAS_BACKEND
# value: the keras2 row runs Keras with KERAS_BACKEND=tensorflow. Made by `system` alone.
System = NewType("System", str)


def system(backend: str, impl: Impl, tuned: bool = False) -> System:
    """The label of what a run of `backend` and `impl` measured, "tuned" after it when it
    ran with tuned settings."""
    label = backend if impl == Impl.KERAS else f"{backend} {impl}"
    return System(f"{label} tuned" if tuned else label)


# A model or a dataset of one's own, given as one file instead of a plugin's name: the
# RunSpec field that names it, and the suffix of its file.
OWN_FILES = {"model": ".py", "dataset": ".npz"}


def own_file_label(name: str, sha256: str | None) -> str:
    """A model or dataset as tables name it: a plugin by its name, a file of one's own by
    its name and the start of its digest (two versions of my_model.py are two models)."""
    return f"{name} ({sha256[:8]})" if sha256 else name


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the value."""


def available_cpus() -> list[int]:
    """The CPUs this process may run on (honours taskset/cgroup affinity)."""
    return sorted(os.sched_getaffinity(0))


Choice = TypeVar("Choice", bound=StrEnum)


def _member(kind: type[Choice], name: str, value: object) -> Choice:
    """The member of `kind` that `value` names (a member equals its name as text)."""
    for member in kind:
        if value == member:
            return member
    raise ConfigError(f"{name} must be one of {', '.join(kind)}, got {value!r}")


def check(name: str, rule: Rule, value: object, *, given: bool = True) -> None:
    """Refuse `value` of `name` if it breaks `rule`, in the rule's words; with `given`
    False, None passes (an override left unset)."""
    if (given or value is not None) and (problem := rule.problem(value)):
        raise ConfigError(f"{name} {problem}")


@dataclass(frozen=True)
class ModelRecipe:
    """A model's own recipe, its module's DEFAULTS: a dict literal as the plugin writes it
    (so that the parent reads it from the source, without importing the model), typed
    here once, for the parent's checks and the worker's training alike."""

    epochs: int
    batch_size: int
    optimizer: dict[str, Any]  # Keras's serialised optimizer (JSON): class_name and config
    loss: str
    dataset: str | None = None  # the dataset it was published for
    reference_accuracy: float | None = None  # its published test accuracy

    REQUIRED: ClassVar[tuple[str, ...]] = ("epochs", "batch_size", "optimizer", "loss")

    @classmethod
    def parse(cls, defaults: object) -> ModelRecipe:
        """The recipe a model's DEFAULTS declares; a ConfigError that says what keeps it
        from being one, in words that follow "the model ..."."""
        if not isinstance(defaults, dict):
            raise ConfigError(
                f"has a DEFAULTS that is not a dict (its recipe), but {type(defaults).__name__}"
            )
        missing = [key for key in cls.REQUIRED if key not in defaults]
        if missing:
            raise ConfigError(
                f"has a DEFAULTS without {', '.join(missing)}: a recipe names "
                f"{', '.join(cls.REQUIRED)}, as models/mnist_cnn's does"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(map(str, set(defaults) - known))
        if unknown:
            raise ConfigError(
                f"has a DEFAULTS with {', '.join(unknown)}, which a recipe does not name "
                f"(it names {', '.join(sorted(known))})"
            )
        recipe = cls(**defaults)
        for name in ("epochs", "batch_size"):
            try:
                check(name, integer(1), getattr(recipe, name))
            except ConfigError as e:
                raise ConfigError(f"has a DEFAULTS whose {e}") from None
        if not isinstance(recipe.optimizer, dict) or "class_name" not in recipe.optimizer:
            raise ConfigError(
                "has a DEFAULTS whose optimizer is not a serialised Keras optimizer (a dict "
                f"with class_name and config), but {recipe.optimizer!r}"
            )
        if not isinstance(recipe.loss, str):
            raise ConfigError(f"has a DEFAULTS whose loss is not a name, but {recipe.loss!r}")
        return recipe


@dataclass(frozen=True)
class Profile:
    """A named set of overrides of the model's training recipe."""

    name: str
    description: str
    epochs: int | None = None
    train_images: int | None = None
    # Train this many steps (one epoch of steps x batch images) instead of the images.
    steps: int | None = None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("seed", "the model's published recipe, unchanged"),
        Profile(
            "quick",
            "smoke run: the same recipe for 1 epoch on the first 6,000 training images",
            epochs=1,
            train_images=6000,
        ),
        # Speed needs steady steps, not twelve epochs: 30 steps (the first ones are the
        # warm-up) keep every row and five rounds of them within about an hour here.
        Profile(
            "speed",
            "the published recipe for 30 steps (one epoch of 15,000 images at batch 500): "
            "steady step times for interleaved rounds; its accuracy is not compared",
            epochs=1,
            steps=30,
        ),
    )
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"unknown profile {name!r}; known profiles: {', '.join(sorted(PROFILES))}"
        ) from None


@dataclass(frozen=True)
class RunSpec:
    """One run: a backend, a model, a dataset and everything that shapes the run."""

    backend: str
    model: str = "mnist_cnn"
    dataset: str = "mnist"
    profile: str = "seed"
    seed: int = 1
    threads: int = field(default_factory=lambda: len(available_cpus()))
    epochs: int | None = None
    batch_size: int | None = None
    train_images: int | None = None
    data_format: str | None = None
    data_dir: str | None = None
    learning_rate: float | None = None
    init: Init = Init.HARNESS
    deterministic: bool = False
    impl: Impl = Impl.KERAS
    steps: int | None = None  # one epoch of steps x batch images (the speed profile)
    # Its round in an invocation of interleaved rounds (`run --rounds`), from 1; None in
    # records made before rounds.
    round: int | None = None
    # Tuned settings: a value of each knob of the backend's tuning space, as (knob,
    # value) pairs, and where they came from (a tuning record, the plugin's fallback, a
    # `tune` candidate); None: the defaults.
    tuning: tuple[tuple[str, str], ...] | None = None
    tuning_source: str | None = None
    # A model or dataset of one's own, given as one file (--model my_model.py, --dataset
    # digits.npz): `model` or `dataset` is then the file's name and this the SHA-256 of
    # its bytes, by which a record knows it (None: a plugin, known by its name).
    model_sha256: str | None = None
    dataset_sha256: str | None = None
    # Where those files lie for this run's worker: paths of the machine that runs it,
    # never recorded (`recorded_form`), as `data_dir` is not.
    model_path: str | None = None
    dataset_path: str | None = None
    # False for a spec read from a record: it may come from a machine with more CPUs.
    here: dataclasses.InitVar[bool] = True

    def __post_init__(self, here: bool) -> None:
        for name in ("backend", "model", "dataset"):
            check(name, TEXT, getattr(self, name))
        get_profile(self.profile)
        check("threads", integer(1), self.threads)
        for name in ("epochs", "batch_size", "train_images", "steps", "round"):
            check(name, integer(1), getattr(self, name), given=False)
        if self.steps is not None and self.train_images is not None:
            raise ConfigError("steps and train_images both size the epoch: give one of them")
        check("seed", SEED, self.seed)
        check("data_format", one_of(*DATA_FORMATS), self.data_format, given=False)
        check("learning_rate", POSITIVE, self.learning_rate, given=False)
        # Frozen: the names read from JSON or the command line become their members here.
        object.__setattr__(self, "init", _member(Init, "init", self.init))
        object.__setattr__(self, "impl", _member(Impl, "impl", self.impl))
        if self.impl == Impl.NATIVE and self.init != Init.HARNESS:
            raise ConfigError(
                "impl native starts from the harness's initial weights and batch order only: "
                f"init must be harness, got {self.init.value!r}"
            )
        if self.tuning is not None:
            pairs = [tuple(p) for p in self.tuning] if isinstance(self.tuning, list | tuple) else []
            if len(pairs) != len(self.tuning) or not all(
                len(p) == 2 and all(isinstance(v, str) and v for v in p) for p in pairs
            ):
                raise ConfigError(f"tuning must be (knob, value) pairs, got {self.tuning!r}")
            object.__setattr__(self, "tuning", tuple(sorted(pairs)))
        if self.impl == Impl.NATIVE and self.tuning is not None:
            raise ConfigError(
                "impl native runs the framework's plain code: it has no tuned settings"
            )
        for kind, suffix in OWN_FILES.items():
            name, sha256 = getattr(self, kind), getattr(self, f"{kind}_sha256")
            if sha256 is None:
                if getattr(self, f"{kind}_path") is not None:
                    raise ConfigError(
                        f"{kind}_path is for a {kind} given as a file: it needs {kind}_sha256"
                    )
                continue
            check(f"{kind}_sha256", SHA256, sha256)
            if Path(name).name != name or not name.endswith(suffix):
                raise ConfigError(
                    f"{kind} must be a {suffix} file's name without a folder, got {name!r}"
                )
        check("deterministic", BOOLEAN, self.deterministic)
        cpus = len(available_cpus())
        if here and self.threads > cpus:
            raise ConfigError(f"threads must be <= {cpus} (the CPUs available), got {self.threads}")

    @classmethod
    def from_profile(cls, backend: str, profile: str = "seed", **overrides) -> RunSpec:
        """A spec whose unset epochs and epoch size (train_images or steps) come from the
        profile."""
        p = get_profile(profile)
        if overrides.get("epochs") is None:
            overrides["epochs"] = p.epochs
        if overrides.get("train_images") is None and overrides.get("steps") is None:
            overrides["train_images"], overrides["steps"] = p.train_images, p.steps
        return cls(backend=backend, profile=profile, **overrides)

    @property
    def tuned(self) -> bool:
        return self.tuning is not None

    def recorded_form(self) -> RunSpec:
        """The spec as a record keeps it: without the places on this machine it names
        (the data folder, the paths of one's own files), which say nothing of the run."""
        return dataclasses.replace(
            self, data_dir=None, model_path=None, dataset_path=None, here=False
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown RunSpec fields: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def recorded(cls, data: dict) -> RunSpec:
        """The spec a result file holds, checked as any other but for the CPUs."""
        return cls(**data, here=False)


def check_images(
    dataset: str,
    available: int | None,
    train_images: int | None,
    batch_size: int | None,
    recipe_of: str | None = None,
) -> None:
    """Refuse more training images than `dataset` holds (`available`; None: unknown) and
    a batch larger than the images used; `recipe_of`: the model whose recipe the batch
    size comes from, when no option set it. The parent checks what its plugins declare,
    the worker what it loaded."""
    if train_images and available and train_images > available:
        raise ConfigError(
            f"train_images must be <= {available} (the {dataset} training set), got {train_images}"
        )
    used = train_images or available
    if not (used and batch_size and batch_size > used):
        return
    if recipe_of:
        raise ConfigError(
            f"train_images must be >= {batch_size} (one batch of {recipe_of}'s recipe; "
            f"--batch-size takes a smaller one), got {used}"
        )
    raise ConfigError(f"batch_size must be <= {used} (the training images used), got {batch_size}")


def check_data_dir(data_dir: str | None) -> None:
    """Refuse a --data-dir that is not a folder: looking on in the Keras cache and then
    downloading would hide a typo (or, on a Ray node, a folder that node lacks)."""
    if data_dir and not Path(data_dir).expanduser().is_dir():
        what = "is not a folder" if Path(data_dir).expanduser().exists() else "does not exist"
        raise ConfigError(f"--data-dir {data_dir} {what}")


def keras_home() -> Path:
    """Keras's own rule: $KERAS_HOME, else ~/.keras (/tmp/.keras if home is read-only)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


# keras.json settings that Keras refuses while it is imported, and the values it takes.
KERAS_JSON_CHOICES = {
    "floatx": ("float16", "float32", "float64"),
    "image_data_format": DATA_FORMATS,
}


def check_keras_json() -> None:
    """Refuse, before any worker starts, a keras.json that would make Keras fail while it
    is imported in the worker (with a traceback, whatever --data-format says). A file that
    is not JSON is ignored by Keras, and so it is here."""
    path = keras_home() / "keras.json"
    if not path.exists():
        return
    if not path.is_file():
        raise ConfigError(f"{path} is not a file: Keras reads its settings from it; remove it")
    try:
        config = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path} cannot be read: {e.strerror}") from e
    except ValueError:
        return
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(config).__name__}")
    for key, allowed in KERAS_JSON_CHOICES.items():
        if key in config and config[key] not in allowed:
            raise ConfigError(
                f"{path}: {key} must be one of {', '.join(allowed)}, got {config[key]!r}"
            )
    if "epsilon" in config and not isinstance(config["epsilon"], float):
        raise ConfigError(f"{path}: epsilon must be a float, got {config['epsilon']!r}")
