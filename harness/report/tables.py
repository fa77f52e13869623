"""The report's detailed tables: where the runs ran, where the time goes (every phase of
the run, the training, the efficiency), reproducibility (starting points, run to run, across
backends, equivalence within a margin, against seed-to-seed noise), and parity."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from harness.record.parity_record import ParityRecord
from harness.record.schema import LATENCY_BATCHES, MATMUL_N, PHASES
from harness.report.text import (
    DISTURBED,
    PHASE_LABELS,
    accuracy_text,
    cell,
    fmt,
    group_text,
    literal,
    median_text,
    noise_sentence,
    notes,
    range_text,
    sci,
    short_label,
    signed,
    speed_text,
    unaccounted_text,
    verdict_text,
    yes_no,
)
from harness.summary import timing_figures
from harness.summary.build import Summary
from harness.summary.comparisons import Anchor, StartingPoint, Tuned
from harness.summary.grouping import Group, Placement, Row, by


def placement_table(placed: list[Placement]) -> list[str]:
    """Where the runs ran (`grouping.placement`), when there is something to tell."""
    if not placed:
        return []
    out = [
        "Where the runs ran: host, Ray node (`--executor ray`), the CPUs each run was "
        "pinned to, when it started, and how many other runs trained on its host "
        "meanwhile.",
        "",
        "| Host | Ray node | CPUs | Started (UTC) | Run | Beside |",
        "|---|---|---|---|---|--:|",
    ]
    for p in placed:
        start = "–" if p.start is None else time.strftime("%H:%M:%S", time.gmtime(p.start))
        out.append(
            f"| {literal(p.host or '–')} | {literal((p.node or '–')[:12])} "
            f"| {','.join(map(str, p.cpus))} | {start} | {literal(p.run_id)} | {p.beside} |"
        )
    return [*out, ""]


def time_sections(table: list[Row], speed_plots: list[tuple[str, Path]]) -> list[str]:
    out = [
        "## Where the time goes",
        "",
        "### The whole run",
        "",
        "Each phase of the worker process, in order, in seconds (median over the row's",
        "runs); together with the unaccounted time they make its wall time, process start",
        "to result written. Matmul peak: the efficiency yardstick, measured right before",
        "training; Latency: the prediction-latency measurement below; Saving: predictions,",
        "final weights and the record's facts; Op profile: a few steps more under the",
        "framework's profiler, last (Which ops, below).",
        "",
    ]
    phases = [
        "| Backend | Variant | Runs | Wall | "
        + " | ".join(PHASE_LABELS[p] for p in PHASES)
        + " | Unaccounted |",
        "|---|---|--:|--:|" + "--:|" * len(PHASES) + "--:|",
    ]
    for row in table:
        f = row.figures
        phases.append(
            f"| {literal(row.backend)} | {literal(short_label(row.variant))} | {row.runs} "
            f"| {median_text(f.wall_s, 1)} | "
            + " | ".join(median_text(s, 2) for s in f.phases.named().values())
            + f" | {unaccounted_text(row)} |"
        )
    out += [
        *phases,
        "",
        *notes(phases),
        "### Training",
        "",
        "Steps are timed after the backend has finished them (Keras hands the step's loss",
        "to the harness's callback as a Python float; on JAX in a helper thread, while the",
        "next step is dispatched) and include fetching their batch. Warm-up: the run's",
        "first steps that trace and compile (see above), kept apart; steady steps are the",
        "others with a full batch. A steady epoch is any epoch but the first. Prediction",
        f"latency: `predict_on_batch` on {' and on '.join(map(str, LATENCY_BATCHES))} test "
        "images, after an untimed first call.",
        "",
    ]
    training = [
        "| Backend | Variant | Runs | Training (s) | Warm-up steps (s) | First epoch (s) "
        "| Steady epoch (s) [p10–p90] | Steady step (ms) [p10–p90] "
        + "".join(f"| Predict ×{b} (ms) " for b in LATENCY_BATCHES)
        + "|",
        "|---|---|--:|--:|--:|--:|--:|--:" + "|--:" * len(LATENCY_BATCHES) + "|",
    ]
    for row in table:
        f = row.figures
        training.append(
            f"| {literal(row.backend)} | {literal(short_label(row.variant))} | {row.runs} "
            f"| {median_text(f.fit_s, 1)} | {median_text(f.warmup_s, 2)} "
            f"| {median_text(f.first_epoch_s, 1)} | {range_text(f.steady_epoch_s, 2)} "
            f"| {range_text(f.step_s, 1, 1000)} "
            + "".join(
                f"| {median_text(f.latency_s[b], 1 if b > 1 else 2, 1000)} "
                for b in LATENCY_BATCHES
            )
            + "|"
        )
    out += [*training, "", *notes(training)]
    far = [o for row in table for o in row.outlying]
    if far:
        out += [
            "Outlying samples, kept out of the medians above (more than "
            f"{timing_figures.OUTLIER_FACTOR:g}× their run's median):",
            "",
            *(
                f"- run {literal(o.run_id)}: a steady {o.kind} of {o.seconds:,.3f} s "
                f"(the run's median {o.run_median:,.3f} s)"
                for o in far
            ),
            "",
        ]
    for title, path in speed_plots:
        out += [f"{title}:", "", f"![{title}]({path.name})", ""]
    out += ops_section(table)
    out += [
        "## Efficiency",
        "",
        "Training FLOPs per image: the model's forward FLOPs (from its layers' shapes) "
        "times the recorded training factor (backward ≈ 2× forward). Achieved GFLOP/s: those "
        "FLOPs at the steady throughput. Matmul peak: the float32 matrix multiply "
        f"({MATMUL_N}×{MATMUL_N}, numpy's BLAS) that each run measured on "
        "its own CPUs with its own thread budget right before training (median over the "
        "row's runs); the share is of that peak. Others' CPU: the share of the run's CPUs "
        "that other processes used during `fit()` (their busy time in /proc/stat less the "
        "worker's own CPU time), the largest of the row's runs.",
        "",
    ]
    efficiency = [
        "| Backend | Variant | Training MFLOP/image | Train images/s | Achieved GFLOP/s "
        "| Matmul peak (GFLOP/s) | Share of peak | Others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in table:
        flops = row.training_flops_per_image
        share, others = row.share_of_peak, row.other_cpu_share_max
        disturbed = DISTURBED.symbol if row.disturbed_runs else ""
        efficiency.append(
            f"| {literal(row.backend)} | {literal(short_label(row.variant))} "
            f"| {fmt(None if flops is None else flops / 1e6, 1)} "
            f"| {fmt(row.train_images_per_s, 0)} | {fmt(row.training_gflops, 1)} "
            f"| {fmt(row.peak_gflops, 0)} "
            f"| {'–' if share is None else f'{100 * share:.0f} %'} "
            f"| {'–' if others is None else f'{100 * others:.0f} %'}{disturbed} |"
        )
    return [*out, *efficiency, "", *notes(efficiency)]


def ops_section(table: list[Row]) -> list[str]:
    """Which ops took the time, per row whose runs profiled theirs (the speed profile)."""
    profiled = [(row, row.ops) for row in table if row.ops is not None]
    if not profiled:
        return []
    lines = [
        "| Backend | Variant | Runs | Profiler | Step, profiled (ms) | Op time a step (ms) "
        f"| The {timing_figures.SHOWN_OPS} longest ops (share of op time) |",
        "|---|---|--:|---|--:|--:|---|",
    ]
    for row, o in profiled:
        longest = "; ".join(f"{op.name} {100 * op.share:.0f} %" for op in o.top)
        lines.append(
            f"| {literal(row.backend)} | {literal(short_label(row.variant))} | {o.runs} "
            f"| {literal(o.profiler)} | {median_text(o.step_s, 1, 1000)} "
            f"| {fmt(1000 * o.op_step_s, 1)} | {literal(longest)} |"
        )
    return [
        "### Which ops",
        "",
        "After everything else it measured, each run of a profile that asks (the speed "
        "profile) trained a few steps more under its framework's own profiler, one step "
        "outside it first: each op's time over those steps, from its start to its end on "
        "the thread that ran it (on PyTorch without the ops it called), by the profiler's "
        "name for it. Step, profiled: a profiled step's wall time with the profiler on "
        "(median over runs), about as long as the clocked steps above or longer; op time a "
        "step: every op's time, ops that ran at once each counted, so that it can pass the "
        "wall time, or fall well short of it where work runs outside the ops the profiler "
        "sees (Python, or an op that hands its work on, as XLA's oneDNN custom calls do); "
        "the longest ops' shares are of that op time, pooled over the row's runs.",
        "",
        *lines,
        "",
        *notes(lines),
    ]


def masks_cell(p: StartingPoint) -> str:
    if p.masks_identical:
        return f"identical ({literal(p.masks_generator)})"
    return f"not identical: {literal(', '.join(p.own_masks))} drew their own"


def reproducibility_sections(s: Summary, curve_plots: list[tuple[Group, Path]]) -> list[str]:
    out = ["## Reproducibility", ""]
    if s.starting_points:
        out += [
            "### Starting points",
            "",
            "Digests of the initial weights and of the batch order (first 12 hex digits), and "
            "the dropout masks: identical where the harness's counter-based generator drew "
            "them on every backend (`--init harness`), else each backend's own.",
            "",
            *per_group(
                s.starting_points,
                lambda p: p.group,
                [
                    "| Seed | Backend: weights / batches | Same on every backend | Dropout masks |",
                    "|--:|---|---|---|",
                ],
                lambda p: (
                    f"| {p.seed} | "
                    + "; ".join(
                        literal(f"{b}: {w[:12]} / {(o or '–')[:12]}")
                        for b, (w, o) in p.digests.items()
                    )
                    + f" | {'yes' if p.identical else 'no'} | {masks_cell(p)} |"
                ),
            ),
        ]
    out += ["### Run to run, same backend and seed", ""]
    if s.repeats:
        out += per_group(
            s.repeats,
            lambda d: d.group,
            [
                "| Backend | Seed | Runs | Determinism controls | Bitwise identical "
                "| Max abs. diff. of final weights | Max abs. diff. of test predictions |",
                "|---|--:|--:|---|---|--:|--:|",
            ],
            lambda d: (
                f"| {literal(d.backend)} | {d.seed} | {d.runs} | {literal(d.settings)} "
                f"| {yes_no(d.bitwise)} "
                f"| {sci(d.weights_max_abs)} | {sci(d.predictions_max_abs)} |"
            ),
        )
    else:
        out += ["No backend has two runs of the same cell (`--rounds 2` makes them).", ""]
    out += ["### Across backends", ""]
    if s.agreement:
        out += [
            "Test-set predictions of the same seed on two backends.",
            "",
            *per_group(
                s.agreement,
                lambda p: p.group,
                [
                    "| Seed | Backends | Same predicted class (%) | Max abs. diff. of "
                    "probabilities | Mean abs. diff. | Test acc. difference (points) |",
                    "|--:|---|--:|--:|--:|--:|",
                ],
                lambda p: (
                    f"| {p.seed} | {literal(p.backends[0])} vs {literal(p.backends[1])} "
                    f"| {100 * p.predictions.same_class:.2f} "
                    f"| {sci(p.predictions.max_abs_diff)} | {sci(p.predictions.mean_abs_diff)} "
                    f"| {100 * p.accuracy_diff:+.2f} |"
                ),
            ),
        ]
    else:
        out += [
            "No two backends have runs of the same comparison and seed with predictions.",
            "",
        ]
    for key, path in curve_plots:
        out += [
            f"Training loss per epoch, {literal(group_text(key))}:",
            "",
            f"![loss curves]({path.name})",
            "",
        ]
    out += equivalence_section(s)
    out += ["### Backend differences against seed-to-seed noise", ""]
    if not s.noise:
        out += ["Needs two or more seeds per backend (`--seeds 1,2,3`).", ""]
    for n in s.noise:
        out += [f"{literal(group_text(n.group))}:", ""]
        for b, spread in n.backends.items():
            out.append(
                f"- {literal(b)}: test accuracy {100 * spread.mean:.2f} % ± "
                f"{fmt(None if spread.std is None else 100 * spread.std, 2)} over seeds "
                f"{', '.join(map(str, spread.seeds))}"
            )
        out += [
            f"- {noise_sentence(literal(t.backends[0]), literal(t.backends[1]), t.test)}"
            for t in n.tests
        ]
        out += [""]
    return out


def equivalence_section(s: Summary) -> list[str]:
    """Each pair of backends' test accuracies, paired by seed, judged within the margin: a
    table per comparison where some pair shares two or more seeds, a line where none
    does."""
    out = ["### Equivalence of test accuracies", ""]
    if not s.equivalence:
        return out + [
            "No comparison of two or more backends compares test accuracies (a profile of a "
            "few steps does not).",
            "",
        ]
    out += [
        f"Each pair of backends within ±{s.margin:g} points of test accuracy (`--margin`): "
        "the mean over the seeds both ran of the first's accuracy less the second's, with "
        "its 90 % interval. Two one-sided tests: equivalent where that interval lies "
        "inside the margin; different where the 95 % interval excludes no difference and "
        "equivalence is not shown; otherwise undecided, with the number of paired seeds "
        "whose interval, at the spread observed, would fit inside the margin.",
        "",
    ]
    header = [
        "| Backends | Seeds | Mean difference (points) | 90 % interval | Verdict |",
        "|---|---|--:|---|---|",
    ]
    for key, pairs in by(s.equivalence, lambda p: p.group).items():
        if all(p.equivalence is None for p in pairs):
            out += [
                f"{literal(group_text(key))}: no two backends share two or more seeds "
                "(`--seeds 1,2,3,4,5`).",
                "",
            ]
            continue
        out += [f"{literal(group_text(key))}:", "", *header]
        for p in pairs:
            e = p.equivalence
            out.append(
                f"| {literal(' − '.join(p.backends))} | {' '.join(map(str, p.seeds)) or '–'} "
                + (
                    "| – | – | needs ≥ 2 paired seeds |"
                    if e is None
                    else f"| {signed(e.mean)} | {signed(e.low)} to {signed(e.high)} | "
                    f"{verdict_text(e)} |"
                )
            )
        out.append("")
    return out


def parity_text(record: ParityRecord) -> str:
    """The parity comparison as a Markdown table."""
    tol = record.tolerances
    out = [
        f"Parity: the untrained model's test-set outputs and {record.steps} training steps "
        "from the same weights and batches, dropout off. Tolerances: forward "
        f"{tol.forward_max_abs:.0e} (absolute), loss {tol.loss_rel:.0e} (relative).",
        "",
        "| Backends | Forward max abs. diff. | Loss rel. diff., max | First step beyond "
        "tolerance | Within tolerance |",
        "|---|--:|--:|--:|---|",
    ]
    for p in record.pairs:
        out.append(
            f"| {' vs '.join(p.backends)} | {sci(p.forward_max_abs)} "
            f"| {sci(p.loss_rel_max)} | {p.first_step_beyond or '–'} "
            f"| {'yes' if p.within_tolerance else 'no'} |"
        )
    return "\n".join(out)


def tuned_sections(found: list[Tuned]) -> list[str]:
    """Each backend's tuned settings: what they are, where they came from, and the tuned
    row's steady step over the default row's."""
    if not found:
        return []
    out = [
        "## Tuned settings",
        "",
        "Each tuned row beside its backend's default row of the same comparison: its "
        "settings (`harness tune` chose them on this machine, and From gives the largest "
        "difference of their parity probe from the defaults' with its tolerance; or the "
        "plugin's fallback where no tuning record fit), and its steady step over the "
        "default's, below 1 "
        "where tuning pays: the geometric mean of the ratios paired by round with its "
        "95 % interval, where the runs were made in rounds.",
        "",
        *per_group(
            found,
            lambda t: t.tuned.variant.group,
            [
                "| Backend | Settings | From | Tuned / default step [95 %] |",
                "|---|---|---|--:|",
            ],
            lambda t: (
                f"| {literal(t.default.backend)} | {cell(t.settings) or 'the defaults'} "
                f"| {cell(t.source)} | {speed_text(t.speed)} |"
            ),
        ),
    ]
    return [*out, *notes(out)]


def anchor_sections(found: list[Anchor]) -> list[str]:
    """One section per backend that has anchor rows: Keras 3's training time over the
    anchor's, each with its accuracy and the agreement of their predictions."""
    if not found:
        return []
    out = [
        "## Anchors: how much of the time is Keras's",
        "",
        "Each Keras 3 row beside its anchors, the same model from the same initial weights "
        "and batches: the backend's framework without Keras (native), and Keras 2 on "
        "TensorFlow. Keras 3 / anchor: Keras 3's steady training step over the anchor's, "
        "above 1 where Keras 3 is slower: the geometric mean of the ratios paired by round "
        "with its 95 % interval, where the runs were made in rounds. Same class: the share "
        "of test images both give the same class, over seeds.",
        "",
    ]
    for backend, members in by(found, lambda a: a.keras.backend).items():
        out += [
            f"### {literal(backend)}",
            "",
            *per_group(
                members,
                lambda a: a.keras.variant.group,
                [
                    "| Anchor | Rounds | Keras 3 step (ms) | Anchor step (ms) "
                    "| Keras 3 / anchor [95 %] | Keras 3 test acc. (%) | Anchor test acc. (%) "
                    "| Same class (%) |",
                    "|---|--:|--:|--:|--:|--:|--:|--:|",
                ],
                lambda a: (
                    f"| {literal(a.anchor.backend)} "
                    f"| {a.speed.interval.n if a.speed.interval else '–'} "
                    f"| {median_text(a.keras.figures.step_s, 1, 1000)} "
                    f"| {median_text(a.anchor.figures.step_s, 1, 1000)} "
                    f"| {speed_text(a.speed)} | {accuracy_text(a.keras)} "
                    f"| {accuracy_text(a.anchor)} | {_share_range(a.same_class)} |"
                ),
            ),
        ]
    return [*out, *notes(out)]


def per_group(items: list, group_of: Callable, header: list[str], line: Callable) -> list[str]:
    """A table per comparison group of `items`, in their order, with the group said once
    above it instead of in every line: `header` its first two lines, `line(item)` a line."""
    out = []
    for key, members in by(items, group_of).items():
        out += [f"{literal(group_text(key))}:", "", *header, *map(line, members), ""]
    return out


def _share_range(shares: list[float]) -> str:
    if not shares:
        return "–"
    lo, hi = min(shares), max(shares)
    return f"{100 * lo:.2f}" if lo == hi else f"{100 * lo:.2f}–{100 * hi:.2f}"
