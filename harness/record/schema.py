"""The run record's sections, typed: one frozen dataclass per section, each field with
the rule its value must follow. The record itself, its top fields and its JSON edge are
in `harness.record.results`.

`store.read` upgrades a file to the current schema version, then `results.check`s it
against these rules: a record that parses but lies (a string accuracy, a NaN loss, fewer
epoch times than epochs, a file name that leaves its folder) is refused with the field
named, so that nothing after reading has to distrust a value. Every name that means a
measurement is a field of a section below, defined once; readers use attributes, never
string keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from harness.contract.rules import (
    BOOLEAN,
    SHA256,
    STRING,
    TARGET,
    TEXT,
    Rule,
    absent_or,
    integer,
    listing,
    mapping,
    nullable,
    number,
    one_of,
    shown,
)
from harness.contract.spec import DATA_FORMATS, ConfigError, RunSpec


class Status(StrEnum):
    """How a run ended: ok, or failed (then its record holds its spec and its failure)."""

    OK = "ok"
    FAILED = "failed"


STATUSES = tuple(s.value for s in Status)


def _utc(v: object, _: dict) -> bool:
    if not isinstance(v, str) or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v) is None:
        return False
    try:
        time.strptime(v, TIME_FORMAT)
    except ValueError:  # a month 13, a day 45
        return False
    return True


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME = Rule("a UTC time like 2026-12-01T20:50:00Z", _utc)
# A file beside the result: a plain name, never a path out of its folder.
FILE_NAME = Rule(
    "a file name without a folder",
    lambda v, _: isinstance(v, str) and re.fullmatch(r"[\w][\w.+-]*", v) is not None,
)
# A duration in seconds: at most a billion (31 years), so that sums of a record's times
# stay finite (a time of 1e308 made inf of every total it entered).
MAX_SECONDS = 10**9
DURATION = number(0, MAX_SECONDS)
SECONDS = nullable(DURATION)


def _epochs(record: dict) -> int:
    """The epochs a run trained: its recipe's, or as many as it took to reach its target
    where it stopped there (--stop-at-target)."""
    metrics = record.get("metrics")
    per_epoch = metrics.get("per_epoch") if isinstance(metrics, dict) else None
    if isinstance(per_epoch, dict) and per_epoch.get("stopped") is True:
        reached = per_epoch.get("reached_epoch")
        if isinstance(reached, int) and not isinstance(reached, bool):
            return reached
    return record["recipe"]["epochs"]


_PER_EPOCH = mapping(listing(number(), _epochs, "recipe.epochs"))
# Keras's history: a value per epoch of each metric, the loss among them.
HISTORY = Rule(
    f"{_PER_EPOCH.what}, with a loss",
    lambda v, r: _PER_EPOCH.test(v, r) and isinstance(v, dict) and "loss" in v,
)


def ruled(rule: Rule, default: Any = dataclasses.MISSING, **metadata: object) -> Any:
    """A field of a section and the rule its value follows in a file; a field the file
    may lack (`absent_or`) takes `default`."""
    if not rule.required and default is dataclasses.MISSING:
        default = None
    return dataclasses.field(default=default, metadata={"rule": rule, **metadata})


def nested(section: type[Section], default: Any = dataclasses.MISSING) -> Any:
    """A field that holds a section of its own, or null; one with a default may be absent."""
    rule = Rule(f"an object (a {section.__name__})", lambda v, _: isinstance(v, dict))
    rule = nullable(rule) if default is dataclasses.MISSING else absent_or(rule)
    return ruled(rule, default, section=section)


def nested_list(section: type[Section]) -> Any:
    """A field that holds a non-empty list of sections of one kind."""
    rule = Rule(
        f"a non-empty list of objects (each a {section.__name__})",
        lambda v, _: isinstance(v, list) and v != [] and all(isinstance(x, dict) for x in v),
    )
    return ruled(rule, section=section, many=True)


def nested_mapping(section: type[Section]) -> Any:
    """A field that holds an object whose values are sections of one kind, by name."""
    rule = Rule(
        f"an object whose values are each an object (a {section.__name__})",
        lambda v, _: isinstance(v, dict) and all(isinstance(x, dict) for x in v.values()),
    )
    return ruled(rule, section=section, keyed=True)


class Section:
    """A part of the record: checked against its fields' rules, built from JSON."""

    __dataclass_fields__: ClassVar[dict]

    @classmethod
    def problems(cls, data: dict, record: dict, prefix: str) -> list[str]:
        out = []
        for f in dataclasses.fields(cls):
            rule = f.metadata["rule"]
            if f.name not in data:
                if rule.required:
                    out.append(f"{prefix}{f.name} is missing")
            elif problem := rule.problem(data[f.name], record):
                out.append(f"{prefix}{f.name} {problem}")
            elif (inner := f.metadata.get("section")) and data[f.name] is not None:
                if f.metadata.get("many"):
                    for i, item in enumerate(data[f.name]):
                        out += inner.problems(item, record, f"{prefix}{f.name}[{i}].")
                elif f.metadata.get("keyed"):
                    for key, item in data[f.name].items():
                        out += inner.problems(item, record, f"{prefix}{f.name}.{key}.")
                else:
                    out += inner.problems(data[f.name], record, f"{prefix}{f.name}.")
        return out

    @classmethod
    def build(cls, data: dict) -> Any:
        """The section from checked JSON; keys it has no field for are not read."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                value, inner = data[f.name], f.metadata.get("section")
                if inner and value is not None:
                    if f.metadata.get("many"):
                        value = [inner.build(x) for x in value]
                    elif f.metadata.get("keyed"):
                        value = {key: inner.build(x) for key, x in value.items()}
                    else:
                        value = inner.build(value)
                values[f.name] = value
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class Recipe(Section):
    """The training recipe as resolved for this run: the model's defaults, the profile's
    and the command line's overrides, the data as prepared, the model as compiled."""

    epochs: int = ruled(integer(1))
    batch_size: int = ruled(integer(1))
    train_images: int = ruled(integer(1))
    test_images: int = ruled(integer(1))
    classes: int | None = ruled(nullable(integer(2)))  # null before schema version 5
    optimizer: dict = ruled(mapping())  # Keras's serialized optimizer
    loss: str = ruled(TEXT)
    data_format: str = ruled(one_of(*DATA_FORMATS))
    jit_compile: bool = ruled(BOOLEAN, None)  # known once compiled
    parameters: int = ruled(integer(1), None)  # known once built
    dataset: str | None = ruled(absent_or(TEXT))  # the data it was published for
    data_source: str | None = ruled(absent_or(STRING))  # the file it was read from, by name
    tuning: dict | None = ruled(absent_or(mapping()))  # the backend's, if tuned
    # The Keras 3 backend whose row this run anchors (explains), if it is an anchor: a
    # native implementation, or Keras 2 (from schema version 6).
    anchor_of: str | None = ruled(absent_or(TEXT))
    # The optimizer's class as it ran (Keras's, or a native implementation's framework's).
    optimizer_class: str | None = ruled(absent_or(TEXT))
    reference_accuracy: float | None = ruled(absent_or(number(0, 1)))
    forward_flops_per_image: float | None = ruled(absent_or(number(0)))
    training_flops_factor: float | None = ruled(absent_or(number(0)))


@dataclass(frozen=True, kw_only=True)
class Git(Section):
    """The code a record was made by (`harness.origin.provenance`). Records before the
    fields after `dirty` named the commit of the folder the run started in."""

    commit: str = ruled(TEXT)  # the harness's: its package's build, or its checkout's HEAD
    dirty: bool = ruled(BOOLEAN)  # its files as imported differ from that commit's
    # Where the commit is known from: "build" (written into the installed package) or
    # "git" (asked in the package's own checkout).
    known_from: str | None = ruled(absent_or(one_of("build", "git")))
    code_digest: str | None = ruled(absent_or(SHA256))  # the harness's files as imported
    model_digest: str | None = ruled(absent_or(SHA256))  # the run's model plugin's files


@dataclass(frozen=True, kw_only=True)
class Environment(Section):
    """What the run ran on: interpreter, libraries, CPU, variables, code version."""

    python: str = ruled(TEXT)
    platform: str | None = ruled(absent_or(STRING))
    # With the run's wall time and the time its record was made, where and when it ran:
    # the report marks runs that shared a machine with another run (--jobs).
    host: str | None = ruled(absent_or(STRING))  # from schema version 5
    node: str | None = ruled(absent_or(TEXT))  # a Ray node's id; none before --executor ray
    cpu_model: str = ruled(STRING)
    cpus_total: int | None = ruled(absent_or(integer(1)))
    cpus_used: list[int] = ruled(listing(integer(0)))
    libraries: dict[str, str] = ruled(mapping(STRING))
    # What decides the kernels: the backend's (oneDNN, torch's CPU capability) and
    # numpy's BLAS, each in a few words.
    kernels: dict[str, str] | None = ruled(absent_or(mapping(STRING)))
    variables: dict[str, str] = ruled(mapping(STRING))
    keras_json: dict | None = ruled(absent_or(mapping()))
    git: Git | None = nested(Git, None)


@dataclass(frozen=True, kw_only=True)
class OpTime(Section):
    """One op as the framework's profiler names it, and its time over the profiled steps:
    from its start to its end on the thread that ran it (the threads it spread its own
    work over not counted again; the ops it called left out where the profiler says, as
    PyTorch's self time does)."""

    name: str = ruled(TEXT)
    seconds: float = ruled(DURATION)
    calls: int = ruled(integer(0))


@dataclass(frozen=True, kw_only=True)
class Ops(Section):
    """Which ops take a step's time: the framework's own profiler over a few training
    steps after everything else the run measured (so that it disturbs no clock), from
    the trained model, one untraced step first. `op_s`: every op's time, ops that ran at
    once on two threads each counted; `top`: the ops that took the most of it, the longest first."""

    profiler: str = ruled(TEXT)  # what measured, in words
    steps: int = ruled(integer(1))
    wall_s: float = ruled(DURATION)  # the profiled steps, the profiler on
    op_s: float = ruled(DURATION)
    top: list[OpTime] = nested_list(OpTime)


# The phases of a run, in the order they happen; each is the wall time of one part of the
# worker's life, and together with `unaccounted_s` they make up its `wall_s`. `fit_s` is
# the whole fit() call: every epoch and everything Keras does around and between them.
def _phase() -> Any:
    return ruled(SECONDS, None, phase=True)


@dataclass(frozen=True, kw_only=True)
class Timings(Section):
    interpreter_s: float | None = _phase()
    import_s: float | None = _phase()
    data_load_s: float | None = _phase()
    build_s: float | None = _phase()
    init_s: float | None = _phase()
    compile_s: float | None = _phase()
    peak_s: float | None = _phase()
    fit_s: float | None = _phase()
    evaluate_s: float | None = _phase()
    predict_s: float | None = _phase()
    latency_s: float | None = _phase()
    save_s: float | None = _phase()
    # The op profile after the run (`Ops`): absent before it was recorded.
    ops_s: float | None = ruled(absent_or(DURATION), None, phase=True)
    wall_s: float | None = ruled(SECONDS)
    unaccounted_s: float | None = ruled(nullable(number(-MAX_SECONDS, MAX_SECONDS)))
    epochs_s: list[float] = ruled(listing(DURATION, _epochs, "recipe.epochs"))
    steps_s: list[list[float]] | None = ruled(
        nullable(listing(listing(DURATION), _epochs, "recipe.epochs"))
    )
    # Batch size (as text) -> seconds of each timed predict_on_batch call.
    latency_calls_s: dict[str, list[float]] | None = ruled(nullable(mapping(listing(DURATION))))
    ops: Ops | None = nested(Ops, None)


PHASES = tuple(f.name for f in dataclasses.fields(Timings) if f.metadata.get("phase"))
# The batch sizes of the prediction latency calls (keys of `latency_calls_s`, as text).
LATENCY_BATCHES = (1, 500)


# What a run of a speed-only profile (`Profile.check_images`) leaves out: the evaluation
# of the whole test set (its test loss and accuracy are of the test set's first
# `recipe.test_images` images), the test predictions (no file) and the prediction
# latency (no latency phase).
FULL_EVALUATION, PREDICTIONS, LATENCY = "full evaluation", "predictions", "latency"
SKIPPABLE = (FULL_EVALUATION, PREDICTIONS, LATENCY)


def _per_epoch(rule: Rule) -> Any:
    return ruled(listing(rule, _epochs, "trained epochs"))


@dataclass(frozen=True, kw_only=True)
class PerEpoch(Section):
    """The full test set predicted after every epoch, on the clock, as MLPerf Training
    evaluates quality: each epoch's test accuracy, the seconds its evaluation took (the
    prediction and the weights' sketch, outside the epoch and step clocks, inside fit()),
    and the seconds since fit() began at the end of that evaluation; the epoch and time
    at which the target was first reached (null: never). The predicted classes and the
    weights' sketches are the run's trajectory file (`Artifacts.trajectory`)."""

    target: float | None = ruled(nullable(TARGET))  # null: the model states none
    target_from: str | None = ruled(nullable(one_of("model", "option")))
    accuracy: list[float] = _per_epoch(number(0, 1))
    evaluate_s: list[float] = _per_epoch(DURATION)
    elapsed_s: list[float] = _per_epoch(DURATION)
    reached_epoch: int | None = ruled(nullable(integer(1)))  # from 1
    reached_s: float | None = ruled(SECONDS)
    stopped: bool = ruled(BOOLEAN)  # it ended there (--stop-at-target)


@dataclass(frozen=True, kw_only=True)
class Metrics(Section):
    history: dict[str, list[float]] = ruled(HISTORY)  # per epoch, as fit() returned it
    test_loss: float = ruled(number())
    test_accuracy: float = ruled(number(0, 1))
    # What of SKIPPABLE the run left out; none before schema version 8.
    skipped: list[str] = ruled(listing(one_of(*SKIPPABLE)))
    # Null in a run that evaluated no epoch (the speed profile) and before schema version 9.
    per_epoch: PerEpoch | None = ruled(
        nullable(Rule("an object (a PerEpoch)", lambda v, _: isinstance(v, dict))),
        None,
        section=PerEpoch,
    )

    @property
    def training_loss(self) -> list[float]:
        """The mean training loss of each epoch."""
        return self.history["loss"]


@dataclass(frozen=True, kw_only=True)
class Memory(Section):
    peak_rss_mib: float = ruled(number(0))


# The yardstick's matrices: 2 x 2048^3 = 17 GFLOP a product, long enough to time (about
# 60 ms on 2 cores), short enough to repeat.
MATMUL_N = 2048


@dataclass(frozen=True, kw_only=True)
class Matmul(Section):
    """numpy's float32 matrix multiply right before fit(), on the run's CPUs."""

    threads: int | None = ruled(absent_or(integer(1)))
    n: int | None = ruled(absent_or(integer(1)))  # the matrices' side
    gflops: list[float] | None = ruled(absent_or(listing(number(0))))
    median_gflops: float = ruled(number(0))


@dataclass(frozen=True, kw_only=True)
class DuringFit(Section):
    """Other processes' use of the run's CPUs during fit() (`harness.worker.machine.OtherLoad`)."""

    cpus: list[int] | None = ruled(absent_or(listing(integer(0))))
    interval_s: float | None = ruled(absent_or(DURATION))
    other_cpu_s: float | None = ruled(absent_or(number(-MAX_SECONDS, MAX_SECONDS)))
    other_share: float = ruled(number(0))
    loadavg_1min: list[float] | None = ruled(absent_or(listing(number(0))))


@dataclass(frozen=True, kw_only=True)
class Fingerprint(Section):
    """The machine as its kernel reports it, and what decides which kernels run on it: a
    speed ratio exists only between runs of one `machine_id` (absent before it was
    recorded: such runs are of an unknown machine)."""

    machine_id: str = ruled(TEXT)  # a digest of every other field and the environment's
    vendor: str = ruled(STRING)  # GenuineIntel, AuthenticAMD
    family: int | None = ruled(nullable(integer(0)))
    model: int | None = ruled(nullable(integer(0)))
    stepping: int | None = ruled(nullable(integer(0)))
    # The instruction sets present among those that pick kernels (AVX2, AVX-512, AMX).
    isa: list[str] = ruled(listing(TEXT))
    memory_gib: float = ruled(number(0))
    kernel: str = ruled(STRING)  # the kernel's release: a VM's build shows in it
    vm: bool = ruled(BOOLEAN)  # the CPU says it runs under a hypervisor


def machine_id_of(
    fingerprint: dict, cpu_model: str, cpus_total: int | None, platform: str, host: str
) -> str:
    """The id of the machine a `Fingerprint` (as a dict; its own id left out) describes,
    with its CPU model, CPU count, platform and host name as a record's environment holds
    them: two runs share it only on one kind of machine, kernel build and host. A record
    is checked against it on read (`results.check`): a field added to `Fingerprint` must
    stay out of the digest of records made before it, or they no longer read."""
    known = {k: v for k, v in fingerprint.items() if k != "machine_id"}
    identity = [known, cpu_model, cpus_total, platform, host]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]


@dataclass(frozen=True, kw_only=True)
class Machine(Section):
    """The machine as the worker measured it (null before schema version 4)."""

    matmul: Matmul | None = nested(Matmul)
    during_fit: DuringFit | None = nested(DuringFit)
    fingerprint: Fingerprint | None = nested(Fingerprint, None)


@dataclass(frozen=True, kw_only=True)
class Reproducibility(Section):
    """Digests of the initial weights, the batch order and the final weights."""

    initial_weights_digest: str | None = ruled(nullable(TEXT))
    batch_order_digest: str | None = ruled(nullable(TEXT))
    final_weights_digest: str | None = ruled(nullable(TEXT))
    dropout_masks: str | None = ruled(absent_or(STRING))


# Reproducibility.dropout_masks: the masks of Keras's own Dropout, each backend's draw;
# of a run whose masks the harness drew (the generator's name and version follow); of a
# native implementation.
BACKEND_MASKS = "drawn by the backend's own RNG (differ between backends)"
HARNESS_MASKS = "drawn by the harness's counter-based generator, identical on every backend:"
NATIVE_MASKS = "drawn by the framework's own dropout (the native implementation's)"

DIGESTS = ("initial_weights_digest", "batch_order_digest", "final_weights_digest")


@dataclass(frozen=True, kw_only=True)
class Artifacts(Section):
    """Files beside the result: its test predictions, its final weights, and its
    trajectory: each epoch's predicted test classes and weights' sketch (.npz)."""

    predictions: str | None = ruled(absent_or(FILE_NAME))
    final_weights: str | None = ruled(absent_or(FILE_NAME))
    trajectory: str | None = ruled(absent_or(FILE_NAME))

    def names(self) -> list[str]:
        return [n for n in (self.predictions, self.final_weights, self.trajectory) if n is not None]


@dataclass(frozen=True, kw_only=True)
class Failure(Section):
    reason: str = ruled(TEXT)  # whole, with every line
    exit_code: int | None = ruled(nullable(integer()))
    output_tail: list[str] = ruled(listing(STRING))


def spec_problems(data: object) -> list[str]:
    """What is wrong with a recorded spec: every field present, and valid as a RunSpec
    (of any machine: its thread count is not checked against this one's CPUs)."""
    if not isinstance(data, dict):
        return [f"spec must be an object, got {shown(data)}"]
    fields = dataclasses.fields(RunSpec)
    # An override an older schema lacks (learning_rate) was not given.
    required = [f.name for f in fields if f.default is not None]
    missing = [f"spec.{name} is missing" for name in required if name not in data]
    if missing:
        return missing
    try:
        RunSpec.recorded({f.name: data[f.name] for f in fields if f.name in data})
    except ConfigError as e:
        return [f"spec: {e}"]
    return []
