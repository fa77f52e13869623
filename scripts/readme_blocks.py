"""The quotes of committed results in README and the documentation's pages, made from
those results, so that the words and the results cannot drift apart.

Each quoted block sits between `<!-- name -->` and `<!-- /name -->` in README.md or a page
under docs/ (a block may stand in more than one):

    python scripts/readme_blocks.py --check   # exit 1, printing each block a page lacks
    python scripts/readme_blocks.py --write   # rewrite those blocks in their pages in place

Run `--write` after committing results, and commit the pages with them;
tests/test_readme.py fails while a page holds anything else. The records are read through
harness.record and harness.summary, as the report reads them; nothing here imports keras.
Results that must not be quoted (a dirty tree's, unreadable records), a mark of a block
this script does not make and a block that no page holds stop it with exit status 2.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness of this checkout, not an installed copy

from harness.commands.options import AutoRounds  # noqa: E402
from harness.contract.spec import Impl, RunSpec, System, system  # noqa: E402
from harness.record import atomic, overhead, results, store, tuning  # noqa: E402
from harness.report.text import (  # noqa: E402
    NOISY,
    UNPAIRED,
    difference_text,
    drift_text,
    listed,
    plural,
    speed_text,
    verdict_text,
    width_text,
)
from harness.summary import build, comparisons, enough, grouping, stats, timing_figures  # noqa: E402
from harness.summary.target import MLPERF_RUNS  # noqa: E402

PAGES_ROOT = ROOT  # where README.md and docs/ are; a test points it at a copy
BACKEND_ORDER = ("tensorflow", "torch", "jax")
NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX"}


class Unquotable(Exception):
    """Committed results that must not be quoted as they are, or pages that quote
    what this script does not make."""


def need(ok: bool, why: str) -> None:
    if not ok:
        raise Unquotable(why)


def ok_runs(folder: Path) -> list[results.RunResult]:
    found, warnings = store.read_all(folder)
    need(warnings == [], f"{folder}: " + "; ".join(warnings))
    return [r for r in found if isinstance(r, results.RunResult)]


def _commits(runs: list[results.RunResult]) -> str:
    git = [r.environment.git for r in runs]
    need(not any(g.dirty for g in git), "committed results must come from a clean tree")
    return ", ".join(sorted({g.commit[:7] for g in git}))


def keras_3(runs: list[results.RunResult]) -> list[results.RunResult]:
    return [r for r in runs if r.spec.impl == "keras" and r.spec.backend in BACKEND_ORDER]


def reference_table(folder: Path) -> str:
    """The full-recipe runs of a folder: accuracy evidence, and the times of those runs
    (speed ratios come from the speed campaign's rounds alone)."""
    runs = keras_3(ok_runs(folder))
    table = sorted(
        grouping.rows(runs),
        key=lambda row: (BACKEND_ORDER.index(row.members[0].spec.backend), row.variant.tuning),
    )
    out = [
        f"From the runs in `{folder.relative_to(ROOT)}` (commit {_commits(runs)}; "
        f"{_machine(runs)}, one run at a time), medians from its report:",
        "",
        "| backend | settings | test accuracy | whole run | training, fit() "
        "| unaccounted | warm-up | steady step | images/s | GFLOP/s | matmul peak | share "
        "| others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in table:
        wall = _median(row.figures.wall_s)
        out.append(
            f"| {NAMES[row.members[0].spec.backend]} "
            f"| {'tuned' if row.members[0].spec.tuned else 'default'} "
            f"| {100 * row.test_accuracy:.2f} % | {wall:,.0f} s | {row.fit_s:,.0f} s "
            f"| {100 * _median(row.figures.unaccounted_s) / wall:.2f} % "
            f"| {_median(row.figures.warmup_s):,.1f} s | {1000 * row.step_s:,.0f} ms "
            f"| {row.train_images_per_s:,.0f} | {row.training_gflops:.0f} "
            f"| {row.peak_gflops:.0f} | {100 * row.share_of_peak:.0f} % "
            f"| {100 * row.other_cpu_share_max:.1f} % |"
        )
    return "\n".join(out) + "\n"


def _span(values: list[float], digits: int, unit: str = "") -> str:
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}{unit}"


def _median_s(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s"


def _stopped(r: overhead.OverheadRecord) -> str:
    aim = f"±{100 * r.band:.0f} %"
    return {"within": f"within {aim}", "outside": f"outside {aim}"}.get(
        r.stopped or "", f"limit {r.max_rounds}"
    )


def overhead_table(folder: Path) -> str:
    """The overhead benchmark's records (benchmarks/harness_overhead.py), one a backend."""
    try:
        records = overhead.read_all(folder)
    except results.ResultError as e:
        raise Unquotable(str(e)) from e
    need(bool(records), f"{folder} holds no record")
    records.sort(key=lambda r: BACKEND_ORDER.index(r.backend))
    need(
        all(r.git is not None and not r.git.dirty for r in records),
        "committed results must come from a clean tree",
    )
    commits = ", ".join(sorted({r.git.commit[:7] for r in records}))
    machines = sorted({r.machine.machine_id for r in records if r.machine})
    machines += ["not recorded"] if any(r.machine is None for r in records) else []
    out = [
        f"From `{folder.relative_to(ROOT)}` (commit {commits}; machine "
        f"{', '.join(machines)}): fit() harness / plain is the geometric mean of the "
        "rounds' ratios with its 95 % interval, and by which went first; the rounds with "
        "why they stopped where rounds were added until the interval was settled (within "
        "or outside the aim, or the round limit); times are medians over the rounds:",
        "",
        "| backend | images × epochs | rounds | plain script fed | harness profile "
        "| fit() harness / plain [95 % interval] | … harness second, first "
        "| fit() plain [min–max] | fit() harness [min–max] | whole process plain, harness |",
        "|---|--:|--:|---|---|--:|--:|--:|--:|--:|",
    ]
    for r in records:
        ratio = stats.ratio_interval([x.fit_ratio for x in r.rounds])
        need(ratio is not None, f"{r.backend}: one round gives no interval")
        if r.fit_ratio is not None:
            stored = (r.fit_ratio.geomean, r.fit_ratio.low, r.fit_ratio.high)
            need(
                all(map(math.isclose, stored, (ratio.geomean, ratio.low, ratio.high))),
                f"{r.backend}'s fit() ratio is not the one its rounds give",
            )
        by_order = [[x.fit_ratio for x in r.rounds if x.first == first] for first in overhead.KINDS]
        need(all(by_order), f"{r.backend}: not every process went first in a round")
        plain = [x.plain.fit_s for x in r.rounds]
        harness = [x.harness.fit_s for x in r.rounds]
        out.append(
            f"| {NAMES[r.backend]} | {r.images:,} × {r.epochs} | {len(r.rounds)}"
            + (f" ({_stopped(r)})" if r.stopped else "")
            + " "
            f"| {r.plain_feed} | {r.profile} "
            f"| {ratio.geomean:.3f} [{ratio.low:.3f}–{ratio.high:.3f}] "
            f"| {statistics.geometric_mean(by_order[0]):.3f}, "
            f"{statistics.geometric_mean(by_order[1]):.3f} "
            f"| {_median_s(plain)} [{_span(plain, 1, ' s')}] "
            f"| {_median_s(harness)} [{_span(harness, 1, ' s')}] "
            f"| {_median_s([x.plain.process_s for x in r.rounds])}, "
            f"{_median_s([x.harness.process_s for x in r.rounds])} |"
        )
    return "\n".join(out) + "\n"


def agreement(runs: list[results.RunResult], folder: Path) -> list[comparisons.Agreement]:
    """The predictions' agreement of `runs`, from their arrays in `folder`."""
    arrays = build.load_arrays(folder, comparisons.arrays_needed(runs))
    return comparisons.agreement(runs, arrays, [])


def anchors(folder: Path) -> list[comparisons.Anchor]:
    runs = ok_runs(folder)
    return comparisons.anchors(grouping.rows(runs), agreement(runs, folder))


def anchors_block(folder: Path) -> str:
    """Keras 3 against each anchor row of a full-recipe folder: Keras 2, and each framework
    without Keras, by accuracy and agreement (their speed comes from the campaign)."""
    found = sorted(anchors(folder), key=lambda a: (BACKEND_ORDER.index(a.keras.backend), a.kind))
    out = [
        f"From the seed-profile runs in `{folder.relative_to(ROOT)}` (Keras 3 at commit "
        f"{_commits([r for a in found for r in a.keras.members])}, the anchors at commit "
        f"{_commits([r for a in found for r in a.anchor.members])}; "
        f"{_machine([r for a in found for r in (*a.keras.members, *a.anchor.members)])}):",
        "",
        "| backend | anchor | Keras 3 test acc. | anchor test acc. | same class |",
        "|---|---|--:|--:|--:|",
    ]
    for a in found:
        out.append(
            f"| {NAMES[a.keras.backend]} | {a.anchor.backend} "
            f"| {100 * a.keras.test_accuracy:.2f} % | {100 * a.anchor.test_accuracy:.2f} % "
            f"| {100 * min(a.same_class):.2f} % |"
        )
    return "\n".join(out) + "\n"


ANCHOR_FOLDERS = (
    "results/reference/full",
    "results/reference/anchor-torch",
    "results/reference/anchor-jax",
)


def ray_block(folder: Path) -> str:
    """Where the Ray reference ran and how long it took, from its records."""
    runs = ok_runs(folder)
    placed = grouping.placement(runs)
    start = min(p.start for p in placed)
    end = max(grouping.interval(r)[2] for r in runs)
    nodes = grouping.by(placed, lambda p: p.node)
    return (
        f"From `{folder.relative_to(ROOT)}` (commit {_commits(runs)}): {len(runs)} runs on "
        f"{len(nodes)} nodes ({', '.join(str(len(v)) for v in nodes.values())} runs), "
        f"{sum(p.beside > 0 for p in placed)} of them beside another on the host, "
        f"{(end - start) / 60:.1f} minutes from the first run's start to the last result.\n"
    )


def _median(figure: stats.Spread | None) -> float:
    """A figure's median, which a quoted figure must have."""
    if figure is None:
        raise Unquotable("a quoted figure that no run recorded")
    return figure.median


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def _machine(runs: list[results.RunResult]) -> str:
    """The CPUs the runs used and the machine(s) they ran on, by id (`env-…` for a record
    made before machines had fingerprints)."""
    [cpu] = {r.environment.cpu_model.replace("(R)", "") for r in runs}
    [threads] = {r.spec.threads for r in runs}
    ids = sorted({grouping.machine_of(r) for r in runs})
    return f"{threads} threads of an {cpu}, machine{'s' if len(ids) > 1 else ''} {', '.join(ids)}"


def main_job_block(folder: Path) -> str:
    """What the main job (`tox -e tf,jax,torch`: the seed profile, each backend at its
    defaults) took per backend and in all, from the committed full reference."""
    runs = [r for r in keras_3(ok_runs(folder)) if not r.spec.tuned]
    table = sorted(grouping.rows(runs), key=lambda row: BACKEND_ORDER.index(row.backend))
    need([row.backend for row in table] == list(BACKEND_ORDER), f"{folder}: not one row a backend")
    need(not any(row.shared_runs for row in table), f"{folder}: runs shared the machine")
    each = ", ".join(f"{NAMES[row.backend]} {_minutes(row.fit_s)}" for row in table)
    return (
        f"From `{folder.relative_to(ROOT)}` (commit {_commits(runs)}; {_machine(runs)}, "
        f"one run at a time): training, the whole `fit()`, took {each}, "
        f"{_minutes(sum(row.fit_s for row in table))} in all; the three runs, process start "
        f"to result written, {_minutes(sum(_median(row.figures.wall_s) for row in table))}.\n"
    )


def quick_block(folder: Path) -> str:
    """What the quick profile's one epoch took and reached, from its committed runs."""
    runs = [
        r
        for r in keras_3(ok_runs(folder))
        if r.spec.profile == "quick" and not r.spec.deterministic
    ]
    table = sorted(grouping.rows(runs), key=lambda row: BACKEND_ORDER.index(row.backend))
    need([row.backend for row in table] == list(BACKEND_ORDER), f"{folder}: not one row a backend")
    epochs = ", ".join(
        f"{NAMES[row.backend]} {_median(row.figures.first_epoch_s):.0f} s" for row in table
    )
    accuracy = [row.test_accuracy for row in table]
    return (
        f"From the quick-profile runs in `{folder.relative_to(ROOT)}` (commit "
        f"{_commits(runs)}; {_machine(runs)}): the profile's one epoch took {epochs}, "
        f"and reached {_span([100 * a for a in accuracy], 1, ' %')} test accuracy.\n"
    )


def _spans(runs: list[results.RunResult], folder: Path) -> list[tuple[float, float]]:
    """When each of `runs` started and ended, in seconds since the epoch, by start."""
    spans = sorted((span[1], span[2]) for r in runs if (span := grouping.interval(r)))
    need(len(spans) == len(runs), f"{folder}: a run without its host or wall time")
    return spans


def window(runs: list[results.RunResult], folder: Path) -> tuple[float, float]:
    """When the first of `runs` started and the last ended, in seconds since the epoch."""
    spans = _spans(runs, folder)
    return spans[0][0], max(end for _, end in spans)


GAP_S = 600  # a pause between two runs longer than this starts another window


def windows_text(runs: list[results.RunResult], folder: Path) -> str:
    """When the runs ran, in UTC, one span per stretch of runs without a longer pause than
    GAP_S between them: "2026-12-07 12:31–13:10 and 14:36–17:13 UTC"."""
    spans = _spans(runs, folder)
    stretches = [list(spans[0])]
    for start, end in spans[1:]:
        if start - stretches[-1][1] > GAP_S:
            stretches.append([start, end])
        else:
            stretches[-1][1] = max(stretches[-1][1], end)
    said, day = [], ""
    for start, end in stretches:
        first, last = (time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) for t in (start, end))
        said.append(first.removeprefix(f"{day} ") + "–" + last.removeprefix(f"{first[:10]} "))
        day = last[:10]
    return listed(said) + " UTC"


SPEED = "results/speed"
AUTO_WIDTH = AutoRounds().width  # the width `--rounds auto` aims at


def one_machine_one_commit(
    runs: list[results.RunResult], rows: list[grouping.Row], folder: Path
) -> None:
    """That a campaign's runs may be quoted together: one machine, one clean commit, no
    run disturbed by other work or sharing the machine with another run."""
    need(len({grouping.machine_of(r) for r in runs}) == 1, f"{folder}: more than one machine")
    need(len({r.environment.git.commit for r in runs}) == 1, f"{folder}: more than one commit")
    _commits(runs)
    need(
        not any(row.disturbed_runs or row.shared_runs for row in rows),
        f"{folder}: a run was disturbed or shared the machine",
    )


@dataclass(frozen=True)
class Campaign:
    """The speed campaign: one invocation of the speed profile in interleaved rounds,
    every row on one machine, from one clean commit, nothing disturbed or shared."""

    folder: Path
    runs: list[results.RunResult]
    rows: dict[System, grouping.Row]

    def row(self, backend: str, impl: Impl = Impl.KERAS, tuned: bool = False) -> grouping.Row:
        label = system(backend, impl, tuned)
        need(label in self.rows, f"{self.folder}: the campaign has no row {label!r}")
        return self.rows[label]

    def speed(self, a: grouping.Row, b: grouping.Row) -> comparisons.Speed:
        """`a`'s steady step over `b`'s, paired by round, with its 95 % interval."""
        found = comparisons.speed_of(a, b)
        need(found.interval is not None, f"{a.backend} / {b.backend}: fewer than two rounds")
        return found

    @property
    def window(self) -> tuple[float, float]:
        return window(self.runs, self.folder)

    @property
    def rounds_s(self) -> float:
        """Its rounds' time, first start to last end, in seconds."""
        start, end = self.window
        return end - start

    def header(self) -> str:
        """Where and when, from the records: the commit, the machine, the window."""
        first = self.runs[0]
        fingerprint = first.machine.fingerprint
        need(fingerprint is not None, f"{self.folder}: a run without the machine's fingerprint")
        start, end = self.window
        rounds = len({r.spec.round for r in self.runs})
        return (
            f"From the speed campaign in `{self.folder.relative_to(ROOT)}` (commit "
            f"{_commits(self.runs)}; {_machine(self.runs)}: "
            f"{', '.join(fingerprint.isa) or 'no AVX2'}, {fingerprint.memory_gib:.0f} GiB; "
            f"{len(self.runs)} runs in {rounds} interleaved rounds, "
            f"{windows_text(self.runs, self.folder)}, {_minutes(end - start)})"
        )


@functools.cache
def campaign(folder: Path) -> Campaign:
    """The campaign in `folder`, read and checked once for every block that quotes it."""
    found, warnings = store.read_all(folder)
    need(warnings == [], f"{folder}: " + "; ".join(warnings))
    speed = [r for r in found if r.spec.profile == "speed"]
    need(bool(speed), f"{folder} holds no run of the speed profile")
    runs = [r for r in speed if isinstance(r, results.RunResult)]
    need(len(runs) == len(speed), f"{folder}: a run of the campaign failed")
    need(len({r.invocation for r in runs}) == 1, f"{folder}: more than one invocation")
    rows = grouping.rows(runs)
    one_machine_one_commit(runs, rows, folder)
    return Campaign(folder, runs, {row.backend: row for row in rows})


def _ratio(s: comparisons.Speed) -> str:
    """A paired ratio with its interval, as the report writes it, and whether the
    interval excludes 1."""
    assert s.interval is not None and s.ratio is not None
    verdict = "" if s.interval.excludes_one else " (within the noise)"
    return speed_text(s) + verdict


def _row_name(row: grouping.Row) -> str:
    spec = row.members[0].spec
    if spec.backend == "keras2":
        return "Keras 2 on TensorFlow"
    name = NAMES[spec.backend]
    what = f"{name} without Keras" if spec.impl == Impl.NATIVE else f"Keras 3 on {name}"
    return f"{what}, tuned" if spec.tuned else what


def _noisy(row: grouping.Row) -> str:
    """The report's mark of a row whose steps spread widely."""
    step = row.figures.step_s
    return NOISY.symbol if step is not None and step.noisy else ""


def campaign_block(folder: Path) -> str:
    """Every row of the campaign in the report's order (`comparisons.rank`: the fastest
    by its step paired by round, then each by its step over the fastest's): its steady
    step and images/s, with the report's marks, and its step over Keras 3 on TensorFlow
    at the defaults', paired by round."""
    c = campaign(folder)
    base = c.row("tensorflow")
    table, _ = comparisons.rank(list(c.rows.values()))
    out = [
        c.header() + ": the rows in the report's order, fastest first (its step paired by "
        "round); each row's median steady step over all its rounds' steps, and its step "
        "over Keras 3 on TensorFlow's at the defaults, the geometric mean of the ratios "
        "paired by round with its 95 % interval:",
        "",
        "| row | settings | steady step | images/s | step / Keras 3 on TensorFlow [95 %] |",
        "|---|---|--:|--:|--:|",
    ]
    for row in table:
        settings = row.variant.tuning or "defaults"
        ratio = "1" if row is base else _ratio(c.speed(row, base))
        out.append(
            f"| {_row_name(row)} | {settings} | {1000 * row.step_s:,.0f} ms{_noisy(row)} "
            f"| {row.train_images_per_s:,.0f}{_noisy(row)} | {ratio} |"
        )
    if any(_noisy(row) for row in table):
        out += ["", f"{NOISY.symbol.strip()} {NOISY.note}"]
    return "\n".join(out + ["", enough_sentence(c)]) + "\n"


def tuning_records(
    folder: Path, runs: list[results.RunResult]
) -> dict[str, tuple[Path, tuning.TuningRecord]]:
    """The tuning record in `folder`/tuning of each backend that `runs` ran, made on their
    machine by a whole `tune` from a clean tree."""
    machine = grouping.machine_of(runs[0])
    out = {}
    for b in (b for b in BACKEND_ORDER if b in {r.spec.backend for r in runs}):
        file = tuning.path(folder / "tuning", b, machine)
        need(file.is_file(), f"no tuning record {file.relative_to(ROOT)}")
        try:
            record = tuning.read(file)
        except results.ResultError as e:
            raise Unquotable(str(e)) from e
        need(record.code is not None and not record.code.dirty, f"{file}: not a clean tree")
        need(not record.interrupted, f"{file}: an interrupted tune")
        out[b] = file, record
    return out


def kept_settings(
    file: Path, record: tuning.TuningRecord, runs: list[results.RunResult]
) -> dict[str, str]:
    """The settings `tune` kept in `record` (those it chose other than the defaults),
    checked to be what each of `runs` ran."""
    changed = {k: v for k, v in record.chosen.items() if record.default.get(k) != v}
    for r in runs:
        # What the run changed, by the record's knobs: a knob it names that the record
        # does not (one an older harness had) ran at the record's default.
        ran = {k: v for k, v in r.spec.tuning or () if record.default.get(k, v) != v}
        need(ran == changed, f"{r.spec.backend}'s tuned run did not run {file.name}'s settings")
    return changed


def parity_text(record: tuning.TuningRecord, changed: dict[str, str]) -> str:
    """How the kept settings' outputs and losses agreed with the defaults' in tune's probe."""
    kept = record.kept
    if not changed:
        return "–"
    if kept and kept.parity:
        return kept.parity.text()
    return "not recorded (a tuning record before version 2)"


def enough_sentence(c: Campaign) -> str:
    """Whether the campaign's rounds measured every ratio the report compares to ±5 %
    (`--rounds auto`'s aim, `summary.enough`)."""
    rounds = len({r.spec.round for r in c.runs})
    wide = enough.wide(c.runs, AUTO_WIDTH)
    aim = f"±{100 * AUTO_WIDTH:g} %"
    if wide:
        said = (
            f"{plural(len(wide), 'compared ratio')} of {len(enough.ratios(c.runs))} not "
            f"within {aim} of it: " + "; ".join(f"{r.what} {width_text(r.interval)}" for r in wide)
        )
    else:
        said = f"every compared ratio's 95 % interval within {aim} of it"
    return f"After {rounds} rounds, {said}."


def why_slower_block(folder: Path) -> str:
    """Each backend's gap to TensorFlow split into Keras's part and the framework's, at
    the defaults: every factor a paired ratio of the campaign's rounds."""
    c = campaign(folder)
    keras_tf, native_tf = c.row("tensorflow"), c.row("tensorflow", Impl.NATIVE)
    out = [
        c.header() + ", at the defaults; each figure is one steady step over another, "
        "the geometric mean of the ratios paired by round with its 95 % interval (above 1: "
        "the first is slower):",
        "",
        "| backend | Keras 3 on it / on TensorFlow | Keras's part: Keras 3 / the framework "
        "alone | the framework's part: alone / TensorFlow alone |",
        "|---|--:|--:|--:|",
    ]
    for b in BACKEND_ORDER:
        keras, native = c.row(b), c.row(b, Impl.NATIVE)
        gap = "1" if b == "tensorflow" else _ratio(c.speed(keras, keras_tf))
        framework = "1" if b == "tensorflow" else _ratio(c.speed(native, native_tf))
        out.append(f"| {NAMES[b]} | {gap} | {_ratio(c.speed(keras, native))} | {framework} |")
    keras2 = c.row("keras2")
    out += [
        "",
        f"Keras 3 / Keras 2 on TensorFlow: {_ratio(c.speed(keras_tf, keras2))}.",
        "",
        "Where each row's steps went, by op: each run's op profile (the framework's own "
        "profiler over 2 steps after its measurement, [Speed](speed.md#which-ops-take-the-"
        "time)), pooled over the row's rounds: the op time the profiler saw in a step, "
        "beside the profiled step's wall time, and the 3 ops that took the most of it:",
        "",
        "| row | profiled step | op time a step | its 3 longest ops (share of op time) |",
        "|---|--:|--:|---|",
    ]
    for b in BACKEND_ORDER:
        for row in (c.row(b), c.row(b, tuned=True), c.row(b, Impl.NATIVE)):
            longest = longest_ops(row)  # refuses a row without an op profile
            assert row.ops is not None
            out.append(
                f"| {_row_name(row)} | {1000 * row.ops.step_s.median:,.0f} ms "
                f"| {1000 * row.ops.op_step_s:,.0f} ms | {longest} |"
            )
    for b in BACKEND_ORDER[1:]:
        out += ["", _aim_sentence(c, b)]
    return "\n".join(out) + "\n"


# Tuned Keras 3 on PyTorch and on JAX within this factor of Keras 3 on TensorFlow at its
# defaults: the project's aim (issue 34).
AIM = 1.5


def aim_verdict(interval: stats.RatioInterval) -> str:
    """Where a ratio's 95 % interval lies against AIM."""
    if interval.low > AIM:
        return f"above the {AIM:g}× aim beyond the noise"
    if interval.high < AIM:
        return f"within the {AIM:g}× aim beyond the noise"
    return f"not told apart from the {AIM:g}× aim"


def longest_ops(row: grouping.Row, shown: int = 3) -> str:
    need(row.ops is not None, f"{_row_name(row)}: no op profile in its runs")
    assert row.ops is not None
    return "; ".join(f"`{op.name}` {100 * op.share:.0f} %" for op in row.ops.top[:shown])


def _aim_sentence(c: Campaign, backend: str) -> str:
    """Whether tuned Keras 3 on `backend` is within AIM of Keras 3 on TensorFlow at its
    defaults, and where its time goes: the framework, Keras's part, its longest op."""
    tuned, keras_tf = c.row(backend, tuned=True), c.row("tensorflow")
    gap = c.speed(tuned, keras_tf)
    assert gap.interval is not None
    verdict = aim_verdict(gap.interval)
    native = c.row(backend, Impl.NATIVE)
    framework = c.speed(native, c.row("tensorflow", Impl.NATIVE))
    ops = tuned.ops
    assert ops is not None
    longest = ops.top[0]
    name = NAMES[backend]
    return (
        f"Tuned Keras 3 on {name}, its step over Keras 3 on TensorFlow's at the defaults: "
        f"{_ratio(gap)}, {verdict}. Where it goes: {name} without Keras over TensorFlow "
        f"without Keras, {_ratio(framework)}; Keras 3 on {name} over {name} without Keras, "
        f"both at the defaults, {_ratio(c.speed(c.row(backend), native))}; tuned, its "
        f"profiler saw {1000 * ops.op_step_s:,.0f} ms of op time in a "
        f"{1000 * ops.step_s.median:,.0f} ms step, its longest op `{longest.name}` "
        f"({100 * longest.share:.0f} % of it)."
    )


def tuned_block(folder: Path) -> str:
    """Per backend: what `harness tune` chose on the campaign's machine and how long it
    took (the tuning records), and what the tuned row bought in the campaign."""
    c = campaign(folder)
    keras_tf = c.row("tensorflow")
    records = tuning_records(c.folder, c.runs)
    made = sorted({record.created[:10] for _, record in records.values()})
    out = [
        c.header() + "; the settings from `harness tune` on the same machine, "
        f"`{(folder / 'tuning').relative_to(ROOT)}` (made {listed(made)}); steps over "
        "steps paired by round, with their 95 % intervals:",
        "",
        "| backend | tuned settings | parity against the defaults | `tune` took "
        "| candidates kept / tried | not tried | tuned / default step "
        "| tuned / Keras 3 on TensorFlow, default |",
        "|---|---|---|--:|--:|---|--:|--:|",
    ]
    for b, (file, record) in records.items():
        default, tuned = c.row(b), c.row(b, tuned=True)
        changed = kept_settings(file, record, tuned.members)
        # Tried: probed or timed (a parity failure is tried and not timed); the budget
        # may have left a candidate with its first-pass round only.
        tried = [t for t in record.trials if t.verdict != tuning.NOT_TRIED]
        untried = [t for t in record.trials if t.verdict == tuning.NOT_TRIED]
        out.append(
            f"| {NAMES[b]} | {grouping.tuning_text(tuple(changed.items())) or 'the defaults'} "
            f"| {parity_text(record, changed)} | {record.spent_s / 60:.1f} min "
            f"| {sum(t.kept for t in tried)} / {len(tried)} "
            f"| {', '.join(f'{t.knob}={t.value}' for t in untried) or 'none'} "
            f"| {_ratio(c.speed(tuned, default))} | {_ratio(c.speed(tuned, keras_tf))} |"
        )
    tuned_s = sum(record.spent_s for _, record in records.values())
    out += [
        "",
        f"`harness tune` took {_minutes(tuned_s)} for the three backends and the campaign's "
        f"rounds {_minutes(c.rounds_s)}: {_minutes(tuned_s + c.rounds_s)} in all.",
    ]
    return "\n".join(out) + "\n"


def profile_block(folder: Path) -> str:
    """The speed profile's steady step against a full run's, on the same machine in the
    same window: the full seed-profile run made right after the campaign."""
    c = campaign(folder)
    full = [
        r
        for r in ok_runs(folder)
        if r.spec.profile == "seed" and r.spec.backend == "tensorflow" and not r.spec.tuned
    ]
    need(len(full) == 1, f"{folder}: not one full TensorFlow run beside the campaign")
    [run] = full
    need(
        grouping.machine_of(run) == grouping.machine_of(c.runs[0]),
        f"{folder}: the full run ran on another machine",
    )
    row = c.row("tensorflow")
    steps = [timing_figures.step_s(r) for r in row.members]
    full_step = timing_figures.step_s(run)
    return (
        f"{c.header()}: TensorFlow's steady step at the defaults took "
        f"{1000 * row.step_s:.0f} ms{_noisy(row)} in the speed profile (as in the "
        f"campaign's table: the median of its {len(steps)} rounds' steps; each round's "
        f"median {_span([1000 * s for s in steps], 0, ' ms')}), and {1000 * full_step:.0f} ms "
        f"in the full seed-profile run made right after the campaign "
        f"({run.environment.git.commit[:7]}, the same machine): the speed profile's step is "
        f"{row.step_s / full_step:.2f}×{UNPAIRED.symbol} the full run's "
        f"({UNPAIRED.symbol.strip()} {UNPAIRED.note.split(' (')[0]}).\n"
    )


REPRO = "results/repro"
MLPERF_REACHED = 4  # of MLPERF_RUNS: the reference's runs that must reach a target


@dataclass(frozen=True)
class SeedCampaign:
    """The seed campaign: Keras 3 on each backend over seeds, from identical initial
    weights, batches and dropout masks, with a one-ulp control; one machine, one clean
    commit, one run at a time."""

    folder: Path
    summary: build.Summary
    names: dict[System, str]  # each row's label in the report, as the pages name it


def _campaign_name(spec: RunSpec) -> str:
    name = NAMES[spec.backend]
    return f"{name} +1ulp" if spec.perturb_init else name


@functools.cache
def seed_campaign(folder: Path) -> SeedCampaign:
    """The seed campaign in `folder`, read and checked once for every block that quotes it."""
    s = build.build(folder)
    runs = s.shown.runs
    need(bool(runs), f"{folder} holds no run")
    need(s.warnings == [] and not s.shown.failures, f"{folder}: a warning or a failed run")
    one_machine_one_commit(runs, s.rows, folder)
    need(
        all(r.spec.profile == "seed" and r.spec.impl == Impl.KERAS for r in runs)
        and all(p.identical and p.masks_identical for p in s.starting_points),
        f"{folder}: not Keras 3's seed profile from identical starts and masks",
    )
    names = {row.backend: _campaign_name(row.members[0].spec) for row in s.rows}
    return SeedCampaign(folder, s, names)


def reference_text(s: build.Summary, kept: dict[str, dict[str, str]]) -> str:
    """Whether the reference of the target, Keras 3 on TensorFlow at its defaults, reached
    it in at least MLPerf's four runs of five (`kept`: what `tune` kept per backend)."""
    if kept.get("tensorflow"):
        return "the campaign ran TensorFlow with tuned settings, not the reference's defaults"
    reference = [
        t
        for t in s.time_to_target
        if (spec := t.row.members[0].spec).backend == "tensorflow"
        and spec.impl == Impl.KERAS
        and not (spec.perturb_init or spec.stop_at_target)
    ]
    if len(reference) != 1:
        return "the campaign has no run of the reference, Keras 3 on TensorFlow"
    n, reached = reference[0].score.runs, reference[0].score.reached
    asks = f"MLPerf asks at least {MLPERF_REACHED} of {MLPERF_RUNS}"
    if n >= MLPERF_RUNS:
        high = reached * MLPERF_RUNS < MLPERF_REACHED * n  # four in five, of any number
        holds = f"{asks}: the target {'is too high' if high else 'holds'}"
    elif n - reached > MLPERF_RUNS - MLPERF_REACHED:  # too many missed already
        holds = f"{asks}: the target is too high"
    else:
        holds = f"{asks}, and {plural(n, 'seed')} cannot tell yet"
    return (
        f"the reference, Keras 3 on TensorFlow at its defaults, reached it in {reached} of "
        f"{plural(n, 'seed')}; {holds}"
    )


def repro_block(folder: Path) -> str:
    """What the seed campaign answers: each backend's test accuracy over seeds, each pair's
    equivalence within the margin, time to target as MLPerf scores it, whether the
    reference reaches the target as MLPerf asks of one, and how fast the backends drift
    apart beside training's own instability."""
    c = seed_campaign(folder)
    s, runs = c.summary, c.summary.shown.runs
    seeds = sorted({r.spec.seed for r in runs})
    [epochs] = {r.recipe.epochs for r in runs}
    need(all(r.spec.tuned for r in runs), f"{folder}: a run without the tuned settings")
    records = tuning_records(folder, runs)
    kept = {
        b: kept_settings(file, record, [r for r in runs if r.spec.backend == b])
        for b, (file, record) in records.items()
    }
    settings = [
        f"{NAMES[b]} {grouping.tuning_text(tuple(changed.items()))} (parity against the "
        f"defaults: {parity_text(records[b][1], changed)})"
        if changed
        else f"{NAMES[b]} its defaults (`tune` kept nothing)"
        for b, changed in kept.items()
    ]
    out = [
        f"From the seed campaign in `{folder.relative_to(ROOT)}` (commit {_commits(runs)}; "
        f"{_machine(runs)}; Keras 3 on each backend, {epochs} epochs, "
        f"{'seed' if len(seeds) == 1 else 'seeds'} {listed([str(x) for x in seeds])}, "
        "identical initial weights, batches and dropout masks on every backend; "
        f"{len(runs)} runs one at a time, {windows_text(runs, folder)}). Each backend ran "
        "the settings `harness tune` kept on the machine, kept only where its parity probe "
        f"agreed with the defaults: {'; '.join(settings)}.",
        "",
    ]
    published = " and ".join(f"{100 * a:.2f} %" for a in s.references)
    each = [
        f"{c.names[row.backend]} {100 * row.test_accuracy:.2f} %"
        + ("" if row.test_accuracy_std is None else f" ± {100 * row.test_accuracy_std:.2f}")
        for row in s.rows
        if not row.members[0].spec.perturb_init
    ]
    over = "" if len(seeds) == 1 else ", mean ± standard deviation over seeds"
    out.append(f"- Test accuracy{over} (published: {published}): " + listed(each))
    for p in s.equivalence:
        a, b = (c.names[x] for x in p.backends)
        if p.equivalence is None:
            out.append(
                f"- {a} − {b}: whether they are equivalent within ±{p.margin:g} points of "
                f"test accuracy needs two or more paired seeds ({len(p.seeds)} so far)"
            )
        else:
            out.append(
                f"- {a} − {b}: {difference_text(p.equivalence)} of test accuracy over "
                f"{p.equivalence.n} paired seeds: {verdict_text(p.equivalence)}"
            )
    [target] = {t.target for t in s.time_to_target}
    need(target is not None, f"{folder}: runs of different targets")
    assert target is not None
    for t in s.time_to_target:
        score = t.score
        figure = "invalid" if score.seconds is None else f"{score.seconds:.0f} s"
        when = ", ".join(
            "never" if x.epoch is None else f"{x.epoch} ({x.seconds:.0f} s)" for x in t.runs
        )
        out.append(
            f"- {c.names[t.row.backend]}: time to {100 * target:.2f} % test accuracy "
            f"{figure} as MLPerf scores {plural(score.runs, 'run')}"
            f"{'' if score.runs >= MLPERF_RUNS else f' (MLPerf asks {MLPERF_RUNS})'}; "
            f"reached in {score.reached} of {plural(score.runs, 'seed')}, at "
            f"{'epoch' if len(t.runs) == 1 else 'epochs'} {when}"
        )
    out.append(f"- The target, {100 * target:.2f} %: " + reference_text(s, kept))
    for e in s.time_equivalence:
        a, b = (c.names[x] for x in e.backends)
        if e.equivalence is None:
            out.append(f"- {a} / {b}: time to target not compared (fewer than two seeds)")
        else:
            out.append(
                f"- {a} / {b}: {difference_text(e.equivalence)} time to target over "
                f"{e.equivalence.n} paired seeds: {verdict_text(e.equivalence)}"
            )
    for v in s.drift_verdicts:
        out.append(f"- Drift apart, {drift_text(v, lambda label: c.names[label])}")
    return "\n".join(out) + "\n"


# The blocks: what makes each, from which folder. The pages say where each stands.
BLOCKS: dict[str, tuple[Callable[[Path], str], str]] = {
    "main-job": (main_job_block, "results/reference/full"),
    "quick": (quick_block, "results/reference"),
    "reference-ray": (ray_block, "results/reference/ray"),
    "reference-full": (reference_table, "results/reference/full"),
    "anchors": (anchors_block, "results/reference/full"),
    "anchors-torch": (anchors_block, "results/reference/anchor-torch"),
    "anchors-jax": (anchors_block, "results/reference/anchor-jax"),
    "repro": (repro_block, REPRO),
    "overhead": (overhead_table, "results/overhead"),
    "speed-campaign": (campaign_block, SPEED),
    "speed-why": (why_slower_block, SPEED),
    "speed-tuned": (tuned_block, SPEED),
    "speed-profile": (profile_block, SPEED),
}


def make(name: str) -> str:
    """The block `name` as the committed results make it now."""
    generate, folder = BLOCKS[name]
    return generate(ROOT / folder)


def pages() -> dict[Path, str]:
    """README and every page of the documentation, by path, with their text."""
    found = [PAGES_ROOT / "README.md", *sorted((PAGES_ROOT / "docs").rglob("*.md"))]
    return {page: page.read_text(encoding="utf-8") for page in found}


MARK = re.compile(r"^<!-- ([a-z][a-z0-9-]*) -->$", re.MULTILINE)


def placed(texts: dict[Path, str]) -> dict[str, list[Path]]:
    """Block name -> the pages that hold it; a mark of a block this script does not make,
    or a block that no page holds, is an error."""
    where: dict[str, list[Path]] = {name: [] for name in BLOCKS}
    for page, text in texts.items():
        for name in MARK.findall(text):
            need(
                name in BLOCKS,
                f"{_label(page)} has a block {name!r} that this script does not make",
            )
            where[name].append(page)
    missing = [name for name, found in where.items() if not found]
    need(not missing, f"no page holds the block(s) {', '.join(missing)}")
    return where


def _label(page: Path) -> str:
    return str(page.relative_to(PAGES_ROOT))


def _marks(name: str) -> tuple[str, str]:
    return f"<!-- {name} -->\n", f"<!-- /{name} -->"


def block(text: str, name: str) -> str:
    """What a page's `text` holds between the marks of block `name`."""
    start, end = _marks(name)
    need(start in text and end in text, f"no block {name!r} with both its marks")
    return text.split(start, 1)[1].split(end, 1)[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--check", action="store_true", help="exit 1 if a page differs")
    what.add_argument("--write", action="store_true", help="rewrite the pages' blocks")
    args = p.parse_args(argv)
    texts = pages()
    try:
        made = {name: make(name) for name in BLOCKS}
        stale = [
            (page, name)
            for name, found in placed(texts).items()
            for page in found
            if block(texts[page], name) != made[name]
        ]
    except Unquotable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for page, name in stale:
        start, end = _marks(name)
        if args.write:
            old = start + block(texts[page], name) + end
            texts[page] = texts[page].replace(old, start + made[name] + end, 1)
            print(f"{_label(page)}: block {name!r} rewritten")
        else:
            print(f"{_label(page)}'s block {name!r} should read:\n{start}{made[name]}{end}\n")
    if args.write:
        for page in dict.fromkeys(page for page, _ in stale):
            atomic.write_text_atomic(page, texts[page])
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
