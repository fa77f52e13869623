"""The backend interface. Subclasses import their framework inside methods only, and
those methods run in the worker process, never in the parent."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.contract.handover import thread_env


@dataclass(frozen=True)
class Setting:
    """What one value of a tuning knob sets. Nothing here changes the model: the same
    weights, batches and recipe, computed another way."""

    env: dict[str, str] = field(default_factory=dict)  # set before the framework loads
    data_format: str | None = None  # None: the user's (keras.json) image data format
    jit_compile: bool | None = None  # None: the backend's default
    code: tuple[str, ...] = ()  # the harness's own op replacements it installs, by name
    threads: float | None = None  # the share of the run's CPUs it uses (None: all)


def threads_of(share: float | None, threads: int) -> int:
    """How many of a run's `threads` CPUs a setting's `share` uses (at least one)."""
    return threads if share is None else max(1, int(threads * share))


@dataclass(frozen=True)
class Knob:
    """One thing `harness tune` may change: its values by label, the default first, and
    what it changes, in words."""

    name: str
    values: dict[str, Setting]
    what: str

    @property
    def default(self) -> str:
        return next(iter(self.values))


# The allocator, on every backend: glibc maps and zeroes every buffer above its mmap
# threshold and gives it back when freed; this model's activations are 43-74 MB a batch.
MALLOC = Knob(
    "malloc",
    {
        "glibc": Setting(),
        "no mmap": Setting(env={"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "4294967295"}),
    },
    "glibc's malloc without mmap for large buffers, freed memory kept: no fresh zeroed "
    "pages every step",
)
# Transparent huge pages, where the kernel leaves it to each process (its mode
# "madvise"): glibc's malloc (2.35 and later) then asks for them for its heap and its
# large buffers. Fewer page faults and TLB misses on 43-74 MB of activations a batch.
THP_TUNABLE = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
THP = Knob(
    "thp",
    {"off": Setting(), "on": Setting(env=THP_TUNABLE)},
    "glibc's malloc on transparent huge pages (where the kernel lets a process ask)",
)
# The thread count: half the run's CPUs for the framework's threads (the worker pins
# itself to them, and every framework sizes its pools from that) against all of them.
# Where two CPUs share a core, or the input pipeline and Python compete with the math
# for the CPUs, fewer threads can be faster.
THREADS = Knob(
    "threads",
    {"all": Setting(), "half": Setting(threads=0.5)},
    "half of the run's CPUs for the framework's threads",
)
THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def thp_unusable(setting: Setting) -> str | None:
    """Why `setting`'s huge pages cannot be asked for here: the kernel's mode decides
    for every process ("always", "never"), or glibc is older than its tunable."""
    try:
        mode = THP_MODE.read_text().split("[")[1].split("]")[0]
    except (OSError, IndexError):
        return "this kernel has no transparent huge pages"
    if mode != "madvise":
        return f"the kernel's transparent huge pages are {mode!r} for every process"
    if "GLIBC_TUNABLES" in setting.env:
        glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        version = tuple(int(p) for p in glibc.removeprefix("glibc ").split(".")[:2] if p.isdigit())
        if version < (2, 35):
            return f"glibc.malloc.hugetlb needs glibc 2.35 or later, this is {glibc or 'not glibc'}"
    return None


@dataclass(frozen=True)
class Tuning:
    """Settings a run applies: a value of each knob of its backend's tuning space
    (`choice`), merged, and where the choice came from (a tuning record, or the
    plugin's fallback)."""

    choice: dict[str, str]
    source: str
    env: dict[str, str] = field(default_factory=dict)
    data_format: str | None = None
    jit_compile: bool | None = None
    code: tuple[str, ...] = ()
    threads: float | None = None

    def to_dict(self) -> dict:
        return {
            "choice": self.choice,
            "source": self.source,
            "env": self.env,
            "data_format": self.data_format,
            "jit_compile": self.jit_compile,
            "code": list(self.code),
            "threads": self.threads,
        }


@dataclass(frozen=True)
class OpTimes:
    """What a framework's profiler measured over some training steps: each op's seconds
    (from start to end on the thread that ran it; without the ops it called where the
    profiler tells them apart) and calls, by the profiler's name for it; `profiler`:
    which profiler, and what it names an op."""

    profiler: str
    ops: dict[str, tuple[float, int]]


def add_op(ops: dict[str, tuple[float, int]], name: str, seconds: float) -> None:
    """Count one call of `name` that took `seconds` into `ops`."""
    total, calls = ops.get(name, (0.0, 0))
    ops[name] = total + seconds, calls + 1


class Feed:
    """The harness's batch order for one fit() call over every epoch: `data` is what
    fit() is given (with steps_per_epoch, so that Keras keeps one iterator for the whole
    call), `served()` the index batches Keras took from it, by position in `batches`.

    This one is a Python generator, which Keras reads on any backend; it records each
    batch when Keras takes it. Keras's first look at the data (the batches it peeks at to
    learn their shapes) replays the generator's first batches, so every position is
    served once, in order."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> None:
        self._served: dict[int, np.ndarray] = {}

        def generate() -> Any:
            for position, idx in enumerate(batches):
                self._served[position] = idx
                yield x[idx], y[idx]

        self.data: Any = generate()

    def served(self) -> dict[int, np.ndarray]:
        return self._served


class Backend:
    name: ClassVar[str]  # the KERAS_BACKEND value, also the registry key
    aliases: ClassVar[tuple[str, ...]] = ()
    module: ClassVar[str]  # the import that proves the framework is installed
    extra: ClassVar[str]  # the pyproject extra that installs it
    tox_env: ClassVar[str]  # the tox env / nox session that runs it
    distributions: ClassVar[tuple[str, ...]]  # its packages, for versions without importing
    # What `harness tune` may change, in the order it tries the knobs (the likeliest gain
    # first, so that a budget cuts the least promising), and the choice `--settings
    # tuned` falls back to where no tuning record fits the machine.
    tuning_space: ClassVar[tuple[Knob, ...]] = (MALLOC, THP, THREADS)
    fallback: ClassVar[dict[str, str]] = {}
    # True if an op returns before its work is done (JAX's asynchronous dispatch): a
    # step then ends in Keras's helper thread, when its logs are Python floats, not when
    # the train function returns (harness/worker/trainers.py).
    asynchronous: ClassVar[bool] = False
    # An anchor row's Keras 3 counterpart: the backend whose figures it explains
    # (`keras2`: tensorflow); parity compares the two. None for a Keras 3 backend.
    anchor_of: ClassVar[str | None] = None
    # What compile() is given unless the tuning says: Keras 3's "auto" (XLA on JAX only).
    jit_compile_default: ClassVar[bool | str] = "auto"

    @property
    def keras_backend(self) -> str:
        """The KERAS_BACKEND value its worker runs Keras with (and Keras reports)."""
        return self.name

    def keras(self) -> Any:
        """The Keras the worker trains with, imported after `configure()` and before
        the model plugin: Keras 3 here; see `keras2` for Keras 2."""
        import keras

        return keras

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

    def install_command(self) -> str:
        """How to install it beside the harness, outside tox."""
        return f"pip install 'keras-backend-harness[{self.extra}]'"

    def install_hint(self) -> str:
        return (
            f"the {self.name} backend needs the {self.module!r} package: run it in its own "
            f"environment with `tox -e {self.tox_env}`, or `{self.install_command()}`"
        )

    def tuning(self, choice: dict[str, str], source: str) -> Tuning:
        """The settings of `choice` (knob -> value label; a knob it does not name keeps its
        default), merged; an unknown knob or value is refused, naming those there are."""
        knobs = {k.name: k for k in self.tuning_space}
        unknown = sorted(set(choice) - set(knobs))
        if unknown:
            raise ValueError(
                f"the {self.name} backend has no tuning knob {', '.join(unknown)}; its knobs: "
                f"{', '.join(knobs) or 'none'}"
            )
        merged = Setting()
        full = {}
        for name, knob in knobs.items():
            label = choice.get(name, knob.default)
            if label not in knob.values:
                raise ValueError(
                    f"{self.name} knob {name} has no value {label!r}; its values: "
                    f"{', '.join(knob.values)}"
                )
            full[name] = label
            s = knob.values[label]
            merged = Setting(
                env={**merged.env, **s.env},
                data_format=s.data_format or merged.data_format,
                jit_compile=s.jit_compile if s.jit_compile is not None else merged.jit_compile,
                code=(*merged.code, *s.code),
                threads=s.threads or merged.threads,
            )
        return Tuning(
            full, source, merged.env, merged.data_format, merged.jit_compile, merged.code,
            merged.threads,
        )  # fmt: skip

    def env(self, threads: int, tuning: Tuning | None = None) -> dict[str, str]:
        """Environment for the worker, set before keras (and the framework) is imported."""
        threads = threads_of(tuning.threads if tuning else None, threads)
        return {
            "KERAS_BACKEND": self.keras_backend,
            # Thread pools of the math libraries are sized when they load; the worker
            # also pins itself to `threads` CPUs, which every framework honours.
            **thread_env(threads),
            **self.framework_env(threads),
            **(tuning.env if tuning else {}),
        }

    def framework_env(self, threads: int) -> dict[str, str]:
        """The framework's own variables for a run of `threads` threads."""
        return {}

    def configure(
        self, threads: int, deterministic: bool, tuning: Tuning | None
    ) -> dict[str, object]:
        """Import the framework, apply the thread budget and, if asked, its determinism
        controls and the code-level part of its tuning; returns what was set, for the
        record."""
        raise NotImplementedError

    def unusable(self, setting: Setting, threads: int) -> str | None:
        """Why `setting` cannot run with the installed framework, or is the default's
        with `threads` threads (checked by `tune` in the parent, without importing the
        framework), or None."""
        if setting.threads is not None and threads_of(setting.threads, threads) == threads:
            return f"the same as the default in a run of {threads} thread{'s' * (threads > 1)}"
        if {"GLIBC_TUNABLES", "THP_MEM_ALLOC_ENABLE"} & setting.env.keys():
            return thp_unusable(setting)
        return None

    def kernels(self) -> dict[str, str]:
        """What decides which kernels the framework runs here, in a few words each (read
        in the worker, after `configure`)."""
        return {}

    def after_training(self) -> dict[str, object]:
        """Settings known only once the run has trained (how often tuned code ran), for
        the record beside what `configure` returned."""
        return {}

    def profile_ops(self, steps: Callable[[], None], folder: Path) -> OpTimes | None:
        """Run `steps` (training steps) under the framework's own profiler, its files in
        `folder` (deleted afterwards), and return each op's time; None where the plugin
        reads no profiler."""
        return None

    def feed(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> Feed:
        """`batches` (index arrays into x and y) as this backend's fit() reads them
        fastest: as fast as a plain fit() on arrays."""
        return Feed(x, y, batches)
