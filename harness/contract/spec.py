"""The run spec: frozen dataclasses, validated on construction, with its enums, the
labels of what a run measured, and the profiles a spec is made from.

A `RunSpec` is one cell of the run matrix. Fields left as None are filled in the
worker from the model's own recipe (`DEFAULTS` in its module) and recorded, resolved,
in the result file; the parent process never imports the model.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import NewType, TypeVar

from harness.contract.rules import (
    BOOLEAN,
    EPOCHS,
    POSITIVE,
    ROUNDS,
    SEED,
    SHA256,
    TARGET,
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


def system(
    backend: str,
    impl: Impl,
    tuned: bool = False,
    *,
    perturbed: bool = False,
    to_target: bool = False,
) -> System:
    """The label of what a run of `backend` and `impl` measured, "tuned" after it when it
    ran with tuned settings, "+1ulp" when its initial weights were perturbed
    (--perturb-init: training's own instability, never pooled with the unperturbed
    runs), "to target" when it stopped at its target (its final accuracy is that
    epoch's)."""
    label = backend if impl == Impl.KERAS else f"{backend} {impl}"
    marks = (("tuned", tuned), ("+1ulp", perturbed), ("to target", to_target))
    return System(" ".join([label, *(word for word, on in marks if on)]))


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
class Profile:
    """A named set of overrides of the model's training recipe."""

    name: str
    description: str
    epochs: int | None = None
    train_images: int | None = None
    # Train this many steps (one epoch of steps x batch images) instead of the images.
    steps: int | None = None
    # A profile that measures speed only: it evaluates the first `check_images` test
    # images (a check that the model learns, and numerics to compare) instead of the
    # whole test set, and keeps no predictions and measures no prediction latency.
    check_images: int | None = None
    # Training steps its `run`s profile afterwards, op by op (the record's `timings.ops`),
    # after one step outside the profiler; None: no op profile.
    op_steps: int | None = None

    @property
    def epoch_evaluation(self) -> bool:
        """Whether its runs predict the full test set after every epoch, on the clock
        (time to target and drift): all but a speed-only profile's."""
        return self.check_images is None


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
            "steady step times for interleaved rounds; a check on the first 1,000 test "
            "images instead of the full evaluation, no predictions, no latency; "
            "afterwards, 2 steps under the framework's profiler: which ops take the time",
            epochs=1,
            steps=30,
            check_images=1000,
            op_steps=2,
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
    # The test accuracy to reach (None: the model's own target), and whether the run ends
    # when it first reaches it (MLPerf's rule) instead of training every epoch.
    target: float | None = None
    stop_at_target: bool = False
    # One initial weight moved by one ulp (`starting_points.perturbed`): a control for
    # how fast training's own instability drives two identical starts apart.
    perturb_init: bool = False
    # False for a spec read from a record: it may come from a machine with more CPUs.
    here: dataclasses.InitVar[bool] = True

    def __post_init__(self, here: bool) -> None:
        for name in ("backend", "model", "dataset"):
            check(name, TEXT, getattr(self, name))
        get_profile(self.profile)
        check("threads", integer(1), self.threads)
        check("epochs", EPOCHS, self.epochs, given=False)
        check("round", ROUNDS, self.round, given=False)
        for name in ("batch_size", "train_images", "steps"):
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
        check("target", TARGET, self.target, given=False)
        for name in ("stop_at_target", "perturb_init"):
            check(name, BOOLEAN, getattr(self, name))
        if self.stop_at_target and not get_profile(self.profile).epoch_evaluation:
            raise ConfigError(
                f"stop_at_target needs the test set evaluated after every epoch, which the "
                f"{self.profile} profile does not do"
            )
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

    @property
    def system(self) -> System:
        """What the run measures, as its row is labelled (`system`)."""
        return system(
            self.backend,
            self.impl,
            self.tuned,
            perturbed=self.perturb_init,
            to_target=self.stop_at_target,
        )

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
