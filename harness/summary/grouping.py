"""Records grouped into rows: one per backend and variant (everything that shapes a
run but its seed), with medians and spreads over seeds and repeats; which records a
report shows (each cell's latest), and where and beside what each run ran.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.contract.spec import (
    Impl,
    Init,
    RunSpec,
    System,
    get_profile,
    own_file_label,
)
from harness.record import schema
from harness.record.results import FailedRun, Record, RunResult
from harness.record.schema import Status
from harness.summary import stats, timing_figures


@dataclass(frozen=True, order=True)
class Group:
    """A comparison group: the runs that can be compared across backends, on one machine
    (a speed ratio exists only between runs of one machine). How a backend computes (data
    format, jit_compile, tuned settings) is left out: it changes how, not what, so a
    backend's default and tuned rows are ranked together."""

    machine: str  # the fingerprint's machine id
    model: str
    dataset: str
    profile: str
    init: Init
    deterministic: bool
    threads: int
    epochs: int
    batch_size: int
    train_images: int

    @property
    def steps_only(self) -> bool:
        """Whether its profile trains a few steps for their speed alone (its accuracies
        are not compared)."""
        return bool(get_profile(self.profile).steps)


@dataclass(frozen=True, order=True)
class Variant:
    """Everything that shapes a run but its seed: one row of the main table. `backend` is
    the system the run measured (`system_of`): "torch", "torch native", "torch tuned",
    "keras2"; `tuning` its tuned settings in words ("" at the defaults)."""

    backend: System
    impl: Impl
    group: Group
    data_format: str
    jit_compile: bool
    tuning: str = ""
    # keras.json's floatx: a float16 run computes another thing, slower, not the same
    floatx: str = "float32"

    def fields(self) -> dict[str, object]:
        """Flat, in the order of VARIANT_FIELDS."""
        return {
            "backend": self.backend,
            "impl": self.impl,
            **dataclasses.asdict(self.group),
            "data_format": self.data_format,
            "jit_compile": self.jit_compile,
            "tuning": self.tuning,
            "floatx": self.floatx,
        }


VARIANT_FIELDS = (
    "backend", "impl", *(f.name for f in dataclasses.fields(Group)), "data_format",
    "jit_compile", "tuning", "floatx",
)  # fmt: skip


def system_of(r: RunResult) -> System:
    """The system a run measured: its backend, "native" after it for a run of the
    framework without Keras, "tuned" for a run with tuned settings, "+1ulp" and "to
    target" for a perturbed start and a run stopped at its target (`RunSpec.system`);
    comparisons, rows and pairs are keyed by it."""
    return r.spec.system


def tuning_text(tuning: tuple[tuple[str, str], ...] | None) -> str:
    """Tuned settings in a few words: "malloc=no mmap, format=channels_first"."""
    return ", ".join(f"{k}={v}" for k, v in tuning) if tuning else ""


def variant(r: RunResult) -> Variant:
    spec, recipe = r.spec, r.recipe
    return Variant(
        backend=system_of(r),
        impl=spec.impl,
        group=Group(
            machine=machine_of(r),
            model=own_file_label(spec.model, spec.model_sha256),
            dataset=own_file_label(spec.dataset, spec.dataset_sha256),
            profile=spec.profile,
            init=spec.init,
            deterministic=spec.deterministic,
            threads=spec.threads,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            train_images=recipe.train_images,
        ),
        data_format=recipe.data_format,
        jit_compile=recipe.jit_compile,
        tuning=tuning_text(spec.tuning),
        floatx=str((r.environment.keras_json or {}).get("floatx", "float32")),
    )


def machine_of(r: RunResult) -> str:
    """The run's machine id; for a record made before machines had fingerprints, "env-"
    and a digest of what its environment says of the machine (CPU model and count,
    platform with the kernel's build; not the host, which older records lack), which
    tells the machines of this project's older records apart as far as they can be."""
    fingerprint = r.machine.fingerprint
    if fingerprint:
        return fingerprint.machine_id
    env = r.environment
    said = json.dumps([env.cpu_model, env.cpus_total, env.platform])
    return "env-" + hashlib.sha256(said.encode()).hexdigest()[:8]


def group(r: RunResult) -> Group:
    return variant(r).group


def versions(r: RunResult) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(r.environment.libraries.items()))


def by(items: Iterable, key: Callable) -> dict:
    grouped: dict = {}
    for item in items:
        grouped.setdefault(key(item), []).append(item)
    return grouped


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _dirty(r: RunResult) -> bool:
    return r.environment.git is not None and r.environment.git.dirty


def not_converged(r: RunResult) -> str | None:
    """Why a completed run did not learn, or None: its test accuracy is within chance
    for its classes (`stats.chance_accuracy`; unknown before schema version 5), or its
    last epoch's training loss is above its first's."""
    classes, accuracy = r.recipe.classes, r.metrics.test_accuracy
    if classes and accuracy <= (bar := stats.chance_accuracy(classes, r.recipe.test_images)):
        return (
            f"test accuracy {100 * accuracy:.2f} % is at chance level for {classes} classes "
            f"(at most {100 * bar:.2f} % on {r.recipe.test_images:,} test images)"
        )
    loss = r.metrics.training_loss
    if len(loss) > 1 and loss[-1] > loss[0]:
        return f"the last epoch's training loss {loss[-1]:.4g} is above the first's {loss[0]:.4g}"
    return None


def code(r: RunResult) -> str:
    """The commit a run's code came from (short), marked when its tree had changes."""
    commit = r.environment.git.commit[:7] if r.environment.git else "unknown"
    return commit + ("+dirty" if _dirty(r) else "")


@dataclass(frozen=True)
class Selection:
    """The records a report shows. By default, each cell (a RunSpec: backend, variant and
    seed as asked for) shows the results of the latest invocation that ran it, and
    `left_out` counts its older results; `superseded` are failures whose cell succeeded
    later. Records from before invocations were recorded count as one invocation."""

    runs: list[RunResult]
    failures: list[FailedRun]
    superseded: list[FailedRun]
    left_out: int


def cell(spec: RunSpec) -> RunSpec:
    """What a user asks for when they name a cell: a RunSpec but for where its files are,
    its round (the rounds of one invocation are runs of one cell) and where its tuned
    settings came from."""
    return dataclasses.replace(spec.recorded_form(), round=None, tuning_source=None, here=False)


def cell_of(r: Record) -> RunSpec:
    """The cell a record ran (`cell`)."""
    return cell(r.spec)


def select(records: list[Record], everything: bool = False) -> Selection:
    """`records` oldest first, as `store.read_all` gives them; `everything`: show
    every result, not only each cell's latest invocation. Records copied from other
    machines are not older results: where a cell's latest run succeeded, each machine
    shows its latest invocation of the cell (a failure, whose record names no machine,
    hides every older run of its cell)."""
    shown: set[str] = set()
    superseded: set[str] = set()
    for members in by(records, cell_of).values():
        # A record without an invocation (before schema version 5, or a worker started
        # by hand) counts as older than any recorded one.
        members = sorted(members, key=lambda r: (r.invocation is not None, r.created, r.run_id))
        latest: dict[str | None, str | None] = {None: members[-1].invocation}
        if isinstance(members[-1], RunResult):
            latest |= {machine_of(r): r.invocation for r in members if isinstance(r, RunResult)}
        for i, r in enumerate(members):
            machine = machine_of(r) if isinstance(r, RunResult) else None
            if r.status == Status.FAILED and any(o.status == Status.OK for o in members[i + 1 :]):
                superseded.add(r.run_id)
            elif everything or r.invocation == latest.get(machine, latest[None]):
                shown.add(r.run_id)
    return Selection(
        runs=[r for r in records if r.run_id in shown and isinstance(r, RunResult)],
        failures=[r for r in records if r.run_id in shown and isinstance(r, FailedRun)],
        superseded=[r for r in records if r.run_id in superseded and isinstance(r, FailedRun)],
        left_out=len(records) - len(shown) - len(superseded),
    )


def interval(r: RunResult) -> tuple[str, float, float] | None:
    """Where and when a run's worker lived: its machine, and its start and end in seconds
    since the epoch (the record is made at the end; its wall time reaches back to the
    start); None without a host (before schema version 5) or a wall time. The machine is
    the host, not the Ray node: two nodes on one host share its cores and memory."""
    host, wall = r.environment.host, r.timings.wall_s
    if host is None or wall is None:
        return None
    end = calendar.timegm(time.strptime(r.created, schema.TIME_FORMAT))
    return host, end - wall, end


def shared(runs: list[RunResult]) -> dict[str, list[str]]:
    """run id -> the other runs that ran on the same machine at the same time (by more
    than the second to which records are stamped): two `--jobs`, or two `run`s at once."""
    spans = {r.run_id: span for r in runs if (span := interval(r))}
    out = {}
    for a, (host, start, end) in spans.items():
        beside = [
            b
            for b, (h, s, e) in spans.items()
            if b != a and h == host and min(end, e) - max(start, s) > 1
        ]
        if beside:
            out[a] = beside
    return out


@dataclass(frozen=True)
class Placement:
    """Where one run ran, and how many other runs shared its host meanwhile."""

    host: str | None
    node: str | None  # the Ray node's id (--executor ray)
    cpus: list[int]
    start: float | None  # seconds since the epoch
    run_id: str
    beside: int


def placement(runs: list[RunResult], beside: dict[str, list[str]] | None = None) -> list[Placement]:
    """Where each run ran, by host, Ray node and CPUs, in the order they started; empty
    when all ran on one host without Ray (then there is nothing to tell). `beside`:
    `shared(runs)`, made here if not given."""
    beside = shared(runs) if beside is None else beside
    envs = [r.environment for r in runs]
    if len({e.host for e in envs}) < 2 and not any(e.node for e in envs):
        return []
    placed = [
        Placement(
            host=r.environment.host,
            node=r.environment.node,
            cpus=r.environment.cpus_used,
            start=span[1] if (span := interval(r)) else None,
            run_id=r.run_id,
            beside=len(beside.get(r.run_id, [])),
        )
        for r in runs
    ]
    return sorted(placed, key=lambda p: (p.host or "", p.node or "", p.start or 0.0))


@dataclass(frozen=True)
class Row:
    """The runs of one backend and variant, over seeds and repeats. Times are medians of
    every sample of the row's runs; `figures` keeps their spreads (`timing_figures.figures`)."""

    variant: Variant
    members: list[RunResult]
    seeds: list[int]
    test_accuracy: float  # the mean over runs
    test_accuracy_std: float | None  # sample standard deviation, with two runs or more
    test_loss: float
    train_images_per_s: float | None
    training_flops_per_image: float | None
    training_gflops: float | None
    peak_gflops: float | None
    share_of_peak: float | None
    other_cpu_share_max: float | None
    disturbed_runs: int
    not_converged_runs: int
    shared_runs: int  # that trained while another run ran on their machine
    outlying: list[timing_figures.Outlier]
    commits: list[str]  # `code()` of its runs
    dirty_runs: int
    peak_rss_mib: float
    versions: str
    figures: timing_figures.Figures
    ops: timing_figures.RowOps | None  # which ops took the time, where runs profiled them

    @property
    def backend(self) -> System:
        return self.variant.backend

    @property
    def runs(self) -> int:
        return len(self.members)

    @property
    def fit_s(self) -> float | None:
        """The training time: the whole fit() call less its per-epoch evaluations, median
        over runs."""
        return stats.median_of(self.figures.fit_s)

    @property
    def step_s(self) -> float | None:
        """The steady step, median over every steady step of the row's runs."""
        return stats.median_of(self.figures.step_s)


def summarize(runs: list[RunResult], beside: dict[str, list[str]] | None = None) -> Row:
    """One row of runs of one backend and variant; `beside`: `shared()` of every run, for
    the runs of this row that shared their machine."""
    accuracies = [r.metrics.test_accuracy for r in runs]
    figures = timing_figures.figures(runs)
    step = stats.median_of(figures.step_s)
    gflops = timing_figures.training_gflops(runs[0], step)
    peak = _median(map(timing_figures.peak_gflops, runs))
    others = [s for s in map(timing_figures.other_share, runs) if s is not None]
    return Row(
        variant=variant(runs[0]),
        members=runs,
        seeds=sorted({r.spec.seed for r in runs}),
        test_accuracy=statistics.mean(accuracies),
        test_accuracy_std=statistics.stdev(accuracies) if len(runs) > 1 else None,
        test_loss=statistics.mean(r.metrics.test_loss for r in runs),
        train_images_per_s=timing_figures.images_per_s(runs[0], step),
        training_flops_per_image=timing_figures.training_flops_per_image(runs[0]),
        training_gflops=gflops,
        peak_gflops=peak,
        share_of_peak=gflops / peak if gflops and peak else None,
        other_cpu_share_max=max(others) if others else None,
        disturbed_runs=sum(map(timing_figures.disturbed, runs)),
        not_converged_runs=sum(not_converged(r) is not None for r in runs),
        shared_runs=sum(r.run_id in (beside or {}) for r in runs),
        outlying=timing_figures.outliers(runs),
        commits=sorted({code(r) for r in runs}),
        dirty_runs=sum(map(_dirty, runs)),
        peak_rss_mib=max(r.memory.peak_rss_mib for r in runs),
        versions=versions(runs[-1]),
        figures=figures,
        ops=timing_figures.row_ops(runs),
    )


def rows(runs: list[RunResult], beside: dict[str, list[str]] | None = None) -> list[Row]:
    """One row per backend and variant, in the order of their variants."""
    beside = shared(runs) if beside is None else beside
    return [summarize(g, beside) for _, g in sorted(by(runs, variant).items())]
