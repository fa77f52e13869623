"""Timing figures of a report row, from the runs' raw samples: warm-up kept apart by
steps, medians and spreads, outlying samples flagged, achieved training throughput and
its share of the matrix-multiply peak that each run measured for itself.

Pure functions of result records; nothing here reads a clock (see `timing`) or measures
the machine (see `machine`).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

from harness.record.results import RunResult
from harness.record.schema import LATENCY_BATCHES, PHASES
from harness.summary.stats import Spread, spread

# Warm-up: the first step of a run always (every backend traces or compiles there), and
# each step after it while it is slower than this many times the run's median step.
# Measured on the seed model (18 runs, 2 cores): the first step took 2.0-2.1x the median
# on JAX, 3.4-3.9x tuned, 5.2-6.1x on TensorFlow and 1.06-1.13x on torch (eager); tuned
# torch (torch.compile) compiled again at its second step, 11-12x; no later step of any
# of those runs came above 1.42x.
WARMUP_FACTOR = 1.5
# A steady sample this many times its run's median is an outlier (a paused or starved
# process, not the backend): flagged and kept out of the medians. On an idle machine no
# steady step went above 1.42x its run's median and no epoch above 1.06x; a suspended
# JAX run once kept an epoch of 18x.
OUTLIER_FACTOR = 3.0


def warmup_steps(steps: list[float]) -> int:
    """How many leading steps of a run (its steps in order, every epoch) are warm-up."""
    if not steps:
        return 0
    limit = WARMUP_FACTOR * statistics.median(steps)
    n = 1
    while n < len(steps) and steps[n] > limit:
        n += 1
    return n


def _steps(r: RunResult) -> list[list[float]]:
    return r.timings.steps_s or []  # none before schema version 3


def warmup(r: RunResult) -> list[float]:
    """The run's warm-up steps (tracing, compilation)."""
    flat = list(chain.from_iterable(_steps(r)))
    return flat[: warmup_steps(flat)]


def steady_steps(r: RunResult) -> list[float]:
    """Every full-batch step after the warm-up, in every epoch: a partial last batch
    does less work (and may trace again), so it is no sample of a steady step."""
    epochs = _steps(r)
    partial = r.recipe.train_images % r.recipe.batch_size != 0
    skip = warmup_steps(list(chain.from_iterable(epochs)))
    out = []
    for steps in epochs:
        full = steps[:-1] if partial and steps else steps
        out += full[skip:]
        skip = max(0, skip - len(steps))
    return out


def step_s(r: RunResult) -> float | None:
    """The run's speed: its median steady step, outliers apart (None without steps)."""
    kept, _ = split_outliers(steady_steps(r))
    return statistics.median(kept) if kept else None


def steady_epochs(r: RunResult) -> list[float]:
    """Every epoch but the first, which carries the warm-up."""
    return r.timings.epochs_s[1:]


def split_outliers(samples: list[float]) -> tuple[list[float], list[float]]:
    """The samples within OUTLIER_FACTOR of their median, and the ones beyond it."""
    if not samples:
        return [], []
    limit = OUTLIER_FACTOR * statistics.median(samples)
    return [s for s in samples if s <= limit], [s for s in samples if s > limit]


@dataclass(frozen=True)
class Outlier:
    run_id: str
    kind: str  # "step" or "epoch"
    seconds: float
    run_median: float


def outliers(runs: list[RunResult]) -> list[Outlier]:
    out = []
    for r in runs:
        for kind, samples in (("epoch", steady_epochs(r)), ("step", steady_steps(r))):
            _, far = split_outliers(samples)
            out += [Outlier(r.run_id, kind, s, statistics.median(samples)) for s in far]
    return out


def _pooled(runs: list[RunResult], samples) -> Spread | None:
    return spread(list(chain.from_iterable(split_outliers(samples(r))[0] for r in runs)))


@dataclass(frozen=True)
class Phases:
    """Each phase of a row's runs (the record's `Timings`, in the order they happen) as
    the spread of its samples over the runs."""

    interpreter_s: Spread | None
    import_s: Spread | None
    data_load_s: Spread | None
    build_s: Spread | None
    init_s: Spread | None
    compile_s: Spread | None
    peak_s: Spread | None
    fit_s: Spread | None  # the whole fit() call
    evaluate_s: Spread | None
    predict_s: Spread | None
    latency_s: Spread | None
    save_s: Spread | None
    ops_s: Spread | None

    def named(self) -> dict[str, Spread | None]:
        """Every phase by its name, in the order they happen."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Figures:
    """A row's timings, each the spread of its samples pooled over the row's runs (steady
    samples without their run's outliers); None where no run recorded it."""

    phases: Phases
    wall_s: Spread | None  # the worker, process start to result written
    unaccounted_s: Spread | None  # what no phase covers
    first_epoch_s: Spread | None
    warmup_s: Spread | None  # a run's warm-up steps, summed
    steady_epoch_s: Spread | None
    step_s: Spread | None  # steady steps
    latency_s: dict[int, Spread | None]  # a predict_on_batch call, by batch size
    run_step_s: list[float]  # each run's own steady step (`step_s`), of those that have one
    steady_steps: list[float]  # every steady step of the runs, outliers included
    training_s: Spread | None  # fit() less its per-epoch evaluations (`training_s`)

    @property
    def fit_s(self) -> Spread | None:
        """Training: the whole fit() call, less the test-set evaluations after its epochs."""
        return self.training_s

    def named(self) -> dict[str, Spread | None]:
        """Every figure by the name of its summary.csv column."""
        return {
            **self.phases.named(),
            # fit_s above is the phase, the whole fit() call; training_s is what the report
            # calls Training, less the per-epoch evaluations fit() held.
            "training_s": self.training_s,
            "wall_s": self.wall_s,
            "unaccounted_s": self.unaccounted_s,
            "first_epoch_s": self.first_epoch_s,
            "warmup_s": self.warmup_s,
            "steady_epoch_s": self.steady_epoch_s,
            "step_s": self.step_s,
            **{f"predict_{b}_s": s for b, s in self.latency_s.items()},
        }


def figures(runs: list[RunResult]) -> Figures:
    """Each timing of a row of runs as a spread of its samples, pooled over the runs;
    steady samples without their run's outliers."""

    def each(value: Callable[[RunResult], float | None]) -> Spread | None:
        return spread([v for r in runs if (v := value(r)) is not None])

    def latency(batch: int) -> Spread | None:
        calls = ((r.timings.latency_calls_s or {}).get(str(batch), []) for r in runs)
        return spread(list(chain.from_iterable(calls)))

    return Figures(
        phases=Phases(**{p: each(attrgetter(f"timings.{p}")) for p in PHASES}),
        wall_s=each(lambda r: r.timings.wall_s),
        unaccounted_s=each(lambda r: r.timings.unaccounted_s),
        first_epoch_s=spread([r.timings.epochs_s[0] for r in runs]),
        warmup_s=spread([sum(w) for w in map(warmup, runs) if w]),
        steady_epoch_s=_pooled(runs, steady_epochs),
        step_s=_pooled(runs, steady_steps),
        latency_s={b: latency(b) for b in LATENCY_BATCHES},
        run_step_s=[s for r in runs if (s := step_s(r))],
        steady_steps=[s for r in runs for s in steady_steps(r)],
        training_s=each(training_s),
    )


def training_s(r: RunResult) -> float | None:
    """Training: the whole fit() call, less the evaluations of the test set after each
    epoch (time to target's), which fit() holds and the record keeps apart."""
    fit, per_epoch = r.timings.fit_s, r.metrics.per_epoch
    return fit if fit is None or per_epoch is None else fit - sum(per_epoch.evaluate_s)


def training_flops_per_image(r: RunResult) -> float | None:
    """Forward FLOPs per image times the recorded training factor (None if not recorded)."""
    forward, factor = r.recipe.forward_flops_per_image, r.recipe.training_flops_factor
    return forward * factor if forward and factor else None


def images_per_s(r: RunResult, step_s: float | None) -> float | None:
    """Steady training throughput: a full batch per median steady step."""
    return r.recipe.batch_size / step_s if step_s else None


def training_gflops(r: RunResult, step_s: float | None) -> float | None:
    """Achieved training GFLOP/s at a steady step of `step_s` seconds."""
    flops, rate = training_flops_per_image(r), images_per_s(r, step_s)
    return flops * rate / 1e9 if flops and rate else None


def peak_gflops(r: RunResult) -> float | None:
    """The matmul yardstick the run measured on its own CPUs (None before version 4)."""
    matmul = r.machine.matmul
    return matmul.median_gflops if matmul else None


def other_share(r: RunResult) -> float | None:
    """Other processes' share of the run's CPUs during fit() (None before version 4)."""
    during = r.machine.during_fit
    return during.other_share if during else None


# Other processes' share of the run's CPUs above which a run is marked disturbed.
DISTURBED_SHARE = 0.10


def disturbed(r: RunResult) -> bool:
    share = other_share(r)
    return share is not None and share > DISTURBED_SHARE


# The ops a report names per row: the ones that took the most of its profiled time.
SHOWN_OPS = 5


@dataclass(frozen=True)
class OpShare:
    name: str  # as the profiler names it
    share: float  # of the op time of the row's profiled steps


@dataclass(frozen=True)
class RowOps:
    """Which ops took a row's time: its runs' op profiles (`timings.ops`) pooled, each
    op's seconds over every profiled step's op time (an op counts in the runs that kept
    it among their longest). Ops that ran at once on two threads each count: op time can
    pass the wall time."""

    profiler: str  # of its latest run
    runs: int  # that profiled their ops
    steps: int  # profiled, over those runs
    step_s: Spread  # a profiled step's wall time, the profiler on, by run
    op_step_s: float  # the op time of a profiled step
    top: list[OpShare]  # the SHOWN_OPS longest, the longest first


def row_ops(runs: list[RunResult]) -> RowOps | None:
    """The op profiles of `runs`, pooled; None where none of them profiled its ops."""
    profiles = [r.timings.ops for r in runs if r.timings.ops is not None]
    by_run = spread([p.wall_s / p.steps for p in profiles])
    if by_run is None:
        return None
    total = sum(p.op_s for p in profiles)
    steps = sum(p.steps for p in profiles)
    seconds: dict[str, float] = {}
    for p in profiles:
        for op in p.top:
            seconds[op.name] = seconds.get(op.name, 0.0) + op.seconds
    longest = sorted(seconds.items(), key=lambda op: op[1], reverse=True)[:SHOWN_OPS]
    return RowOps(
        profiler=profiles[-1].profiler,
        runs=len(profiles),
        steps=steps,
        step_s=by_run,
        op_step_s=total / steps,
        top=[OpShare(name, t / total if total else 0.0) for name, t in longest],
    )
