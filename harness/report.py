"""The comparison report, rebuilt from result files alone (no keras, no framework).

    python -m harness report [--results results]

writes REPORT.md, report.html, summary.csv and the plots beside the runs/ folder it
reads. It measures nothing: every figure, the efficiency yardstick included, comes from
what the runs recorded, so the same results give the same report on any machine.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

from harness import machine, plots, results, speed, stats
from harness.results import RunResult
from harness.schema import PHASES
from harness.stats import Spread
from harness.summary import (
    ALPHA,
    GROUP_FIELDS,
    VARIANT_FIELDS,
    Comparison,
    Selection,
    agreement,
    by,
    comparisons,
    determinism,
    group,
    noise,
    not_converged,
    rows,
    select,
    starting_points,
    versions,
)

CSV_FIELDS = (
    *VARIANT_FIELDS, "runs", "seeds", "test_accuracy", "test_accuracy_std", "test_loss",
    "fit_s", "wall_s", "unaccounted_s", "warmup_s", "first_epoch_s", "steady_epoch_s",
    "steady_epoch_p10_s", "steady_epoch_p90_s", "step_s", "step_p10_s", "step_p90_s",
    "train_images_per_s", "training_gflops", "peak_gflops", "share_of_peak",
    "other_cpu_share_max", "disturbed_runs", "not_converged_runs", "outliers", "commits",
    "dirty_runs",
    *(p for p in PHASES if p != "fit_s"), "predict_1_s", "predict_500_s",
    "peak_rss_mib", "versions",
)  # fmt: skip


def plural(n: int, word: str) -> str:
    """`1 epoch`, `12 epochs`."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def group_text(key: tuple) -> str:
    g = dict(zip(GROUP_FIELDS, key, strict=True))
    return (
        f"{g['profile']}: {g['model']} on {g['dataset']} ({g['train_images']:,} images, "
        f"{plural(g['epochs'], 'epoch')}, batch {g['batch_size']}), "
        f"{plural(g['threads'], 'thread')}, "
        f"init {g['init']}" + (", deterministic" if g["deterministic"] else "")
    )


def noise_sentence(a: str, b: str, test: stats.TTest) -> str:
    what = "paired t-test over" if test.kind == "paired" else "Welch t-test, at least"
    verdict = (
        f"larger than the seed-to-seed spread (p < {ALPHA})"
        if test.p < ALPHA
        else f"not larger than the seed-to-seed spread (p ≥ {ALPHA})"
    )
    return (
        f"{a} − {b}: {100 * test.mean_difference:+.3f} points of test accuracy "
        f"({what} {test.n} seeds, t = {test.t:.2f}, p = {test.p:.3f}): {verdict}."
    )


def plot_curves(runs: list[RunResult], out_dir: Path) -> list[tuple[tuple, Path]]:
    """One PNG per comparison group with two or more backends: every run's training loss
    per epoch, one colour per backend."""
    written = []
    for key, members in sorted(by(runs, group).items(), key=lambda kv: str(kv[0])):
        per_backend = by(members, lambda r: r.spec["backend"])
        if len(per_backend) < 2 or max(r.recipe["epochs"] for r in members) < 2:
            continue
        curves = {b: [r.metrics["history"]["loss"] for r in rs] for b, rs in per_backend.items()}
        path = out_dir / f"loss-curves-{plots.slug(key)}.png"
        written.append((key, plots.loss_curves(group_text(key), curves, path)))
    return written


def short_label(row: dict) -> str:
    """A row's variant in a few words (the backend apart), for narrow tables."""
    parts = [row["profile"], f"init {row['init']}", row["data_format"], f"jit={row['jit_compile']}"]
    if row["deterministic"]:
        parts.append("deterministic")
    return " · ".join(str(p) for p in parts)


def plot_speed(table: list[dict], out_dir: Path) -> list[tuple[str, Path]]:
    """Training time and steady throughput per row, for the rows whose runs timed their
    fit() call and steps, and the step-time distribution per row that timed its steps
    (one epoch is enough for both)."""
    stepped = [row for row in table if row["figures"]["step_s"]]
    timed = [row for row in stepped if row["figures"]["fit_s"]]
    written = []
    if timed:
        bars = []
        for row in timed:
            fit = row["figures"]["fit_s"]
            bars.append(
                {
                    "backend": row["backend"],
                    "label": f"{row['backend']} · {short_label(row)}",
                    "median": fit.median,
                    "p10": fit.p10,
                    "p90": fit.p90,
                    "images_per_s": row["train_images_per_s"],
                }
            )
        path = plots.training_times(bars, out_dir / "training-times.png")
        written.append(("Training time (the whole fit()) and steady throughput per row", path))
    if stepped:
        steps = [
            {
                "backend": row["backend"],
                "label": f"{row['backend']} · {short_label(row)}",
                "samples": [s for r in row["members"] for s in speed.steady_steps(r)],
            }
            for row in stepped
        ]
        path = plots.step_times(steps, out_dir / "step-times.png")
        written.append(("Steady training step times per row (warm-up steps left out)", path))
    return written


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _yes_no(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "no")


def cell(text: str) -> str:
    """Free text (a failure's reason) as one Markdown table cell: its pipes escaped, its
    lines kept apart by <br>."""
    return "<br>".join(line.replace("|", "\\|") for line in text.splitlines())


def _sci(value: float | None) -> str:
    return "–" if value is None else f"{value:.2e}"


def _accuracy(row: dict) -> str:
    text = _fmt(100 * row["test_accuracy"], 2)
    if row["test_accuracy_std"] is not None:
        text += f" ± {100 * row['test_accuracy_std']:.2f}"
    return text + (NOT_CONVERGED_MARK if row["not_converged_runs"] else "")


def variant_text(row: dict) -> str:
    """A variant (a row, or `variant()`'s dict) in words, the backend apart."""
    return (
        group_text(tuple(row[k] for k in GROUP_FIELDS))
        + f", {row['data_format']}, jit_compile={row['jit_compile']}"
    )


def _time(figure: Spread | None, digits: int, scale: float = 1.0) -> str:
    """A timing's median, with NOISY_MARK when its samples spread widely."""
    if figure is None:
        return "–"
    text = f"{scale * figure.median:,.{digits}f}"
    return text + NOISY_MARK if figure.n > 1 and figure.noisy else text


def _range(figure: Spread | None, digits: int, scale: float = 1.0) -> str:
    """Median [p10–p90] (n samples)."""
    if figure is None:
        return "–"
    return (
        f"{_time(figure, digits, scale)} [{scale * figure.p10:,.{digits}f}–"
        f"{scale * figure.p90:,.{digits}f}] (n={figure.n})"
    )


NOISY_MARK = " †"


NOISY_TEXT = (
    f"{NOISY_MARK.strip()} noisy: the 10th–90th percentile range of its samples is wider "
    f"than {100 * stats.NOISY_SPREAD:.0f} % of the median."
)


CODE_MARK = " ‡"


CODE_TEXT = (
    f"Code: the commit of the runs' code; {CODE_MARK.strip()} the row pools runs of more than "
    "one commit, or of a working tree with changes (+dirty): its figures mix code versions."
)


DISTURBED_MARK = " ⚠"


DISTURBED_TEXT = (
    f"{DISTURBED_MARK.strip()} disturbed: other processes used more than "
    f"{100 * machine.DISTURBED_SHARE:.0f} % of a run's CPUs during its training (see Efficiency)."
)


NOT_CONVERGED_MARK = " ✗"


NOT_CONVERGED_TEXT = (
    f"{NOT_CONVERGED_MARK.strip()} not converged: a run's test accuracy is within chance "
    f"for its classes (no more than {stats.CHANCE_SE} standard errors above a guess), or its "
    "last epoch's training loss is above its first's; its runs are listed below the table."
)


OUTLIER_MARK = " §"


OUTLIER_TEXT = (
    f"{OUTLIER_MARK.strip()} outlying samples (a paused or starved process) were kept out of "
    "the medians; they are listed under Training."
)


def answer(c: Comparison) -> list[str]:
    """What a comparison says, in two or three plain sentences: which backend trains
    fastest and by how much, whether the accuracies differ by more than seed noise, and
    whether the predictions agree."""
    timed = [row for row in c.ranked if row["fit_s"] is not None]
    if len(timed) > 1:
        fastest = timed[0]
        others = ", ".join(
            f"{row['backend']} {row['fit_s'] / fastest['fit_s']:.2f}× as long" for row in timed[1:]
        )
        said = [f"{fastest['backend']} trains fastest ({fastest['fit_s']:,.0f} s); {others}."]
    elif timed:
        said = [f"Only {timed[0]['backend']} ran this comparison."]
    else:
        said = []
    tests = c.noise["tests"] if c.noise else []
    if tests:
        larger = [t for t in tests if t["test"].p < ALPHA]
        said.append(
            "Their test accuracies differ by more than seed-to-seed noise: "
            + ", ".join(f"{' − '.join(t['backends'])} (p = {t['test'].p:.3f})" for t in larger)
            + "."
            if larger
            else "Their test accuracies do not differ by more than seed-to-seed noise "
            f"(t-tests over seeds, every p ≥ {ALPHA})."
        )
    elif len(c.ranked) > 1:
        said.append(
            "One seed cannot tell whether their test accuracies differ by more than "
            "seed-to-seed noise (`--seeds 1,2,3` can)."
        )
    if c.agreement:
        same = [100 * p["same_class"] for p in c.agreement]
        said.append(
            f"With the same seed, they predict the same class for {min(same):.2f} % to "
            f"{max(same):.2f} % of the test images."
            if min(same) != max(same)
            else f"With the same seed, they predict the same class for {same[0]:.2f} % of "
            "the test images."
        )
    return said


def _answer_sections(found: list[Comparison], references: list[float]) -> list[str]:
    out = ["## In short", ""]
    for c in found:
        fastest = next((row["fit_s"] for row in c.ranked if row["fit_s"] is not None), None)
        out += [
            f"### {group_text(c.group)}",
            "",
            "| Backend | Variant | Test acc. (%) | Training (s) | Steady images/s | × fastest |",
            "|---|---|--:|--:|--:|--:|",
        ]
        for row in c.ranked:
            ratio = row["fit_s"] / fastest if fastest and row["fit_s"] is not None else None
            out.append(
                f"| {row['backend']} | {short_label(row)} | {_accuracy(row)} "
                f"| {_fmt(row['fit_s'], 1)} | {_fmt(row['train_images_per_s'], 0)} "
                f"| {_fmt(ratio, 2)} |"
            )
        out += ["", " ".join(answer(c)), ""]
    out += [
        "Ranked by training time (the whole `fit()`, median over runs); accuracy is the mean "
        "over seeds ± their standard deviation. The tables below give every figure."
        + (
            " Published test accuracy of the model: "
            + ", ".join(f"{100 * a:.2f} %" for a in references)
            + "."
            if references
            else ""
        ),
        "",
    ]
    return out


def _results_sections(
    runs: list[RunResult],
    results_dir: Path,
    warnings: list[str],
    curve_plots: list[tuple[tuple, Path]],
    speed_plots: list[tuple[str, Path]],
    table: list[dict],
) -> list[str]:
    """The answer first, then accuracy and time, where the time goes, efficiency and
    reproducibility."""
    pairs, spread = agreement(runs, results_dir, warnings), noise(runs)
    references = sorted({r.recipe.get("reference_accuracy") for r in runs} - {None})
    out = _answer_sections(comparisons(table, pairs, spread), references)
    out += [
        "## Accuracy and time",
        "",
        "| Backend | Variant | Runs (seeds) | Test acc. (%) | Test loss | Training (s) "
        "| Train images/s | Unaccounted | Code | Peak RSS (MiB) | Versions |",
        "|---|---|---|--:|--:|--:|--:|--:|---|--:|---|",
    ]
    for row in table:
        disturbed = DISTURBED_MARK if row["disturbed_runs"] else ""
        out.append(
            f"| {row['backend']} | {variant_text(row)} | {row['runs']} ({row['seeds']}) "
            f"| {_accuracy(row)} | {_fmt(row['test_loss'], 4)} "
            f"| {_time(row['figures']['fit_s'], 1)}{disturbed} "
            f"| {_fmt(row['train_images_per_s'], 0)}{OUTLIER_MARK if row['outliers'] else ''} "
            f"| {_unaccounted(row)} | {_code(row)} | {_fmt(row['peak_rss_mib'], 0)} "
            f"| {row['versions']} |"
        )
    out += [
        "",
        "Runs (seeds): how many runs the row pools, and their seeds. Accuracy is the mean",
        "over runs (± sample standard deviation when there are several).",
        "Training is the whole `fit()` call, every epoch and all Keras does between them",
        "(median over runs). Train images/s: a full batch over the median steady step, every",
        "step after the warm-up (the first step, and the steps after it while slower than",
        f"{speed.WARMUP_FACTOR}× the run's median: tracing and compilation), so one epoch is",
        "enough. Unaccounted: the part of the worker's wall time, process start to result",
        "written, that no clocked phase covers (median over runs).",
        NOISY_TEXT,
        CODE_TEXT,
        DISTURBED_TEXT,
        NOT_CONVERGED_TEXT,
        OUTLIER_TEXT,
        "Init `harness`: initial weights and batch order drawn with numpy, the same on every",
        "backend; init `keras`: each backend's own initialisation and shuffling. Profile",
        "`tuned`: each backend's fastest settings (its plugin's `tuning`), beside its defaults.",
        "",
    ]
    unlearned = [(r, why) for r in runs if (why := not_converged(r))]
    if unlearned:
        out += ["Not converged (kept in the tables: a result, not a crash):", ""]
        out += [f"- {r.run_id}: {cell(why)}" for r, why in unlearned]
        out += [""]
    out += _time_sections(table, speed_plots)
    out += _reproducibility_sections(runs, results_dir, warnings, curve_plots, pairs, spread)
    return out


def render_markdown(
    shown: Selection,
    results_dir: Path,
    warnings: list[str],
    curve_plots: list[tuple[tuple, Path]],
    speed_plots: list[tuple[str, Path]],
    table: list[dict],
) -> str:
    """The report of the `shown` records; `table` holds the rows of its completed runs."""
    runs, failures = shown.runs, shown.failures
    total = len(runs) + len(failures) + len(shown.superseded) + shown.left_out
    out = [
        "# Keras backend comparison",
        "",
        f"Built by `python -m harness report` from "
        f"{plural(total, 'result file')} in `{results.runs_dir(results_dir)}`"
        + (f", {len(failures)} of them failed runs." if failures else "."),
        "",
    ]
    if shown.left_out:
        out += [
            "Each cell (backend, variant and seed) shows the results of the latest `run` "
            f"that ran it: {plural(shown.left_out, 'older result')} left out "
            "(`python -m harness report --all` shows every result).",
            "",
        ]
    if not runs:
        out += [
            "No run has succeeded yet"
            + (": every run shown failed (see Failed runs)." if failures else "."),
            "",
        ]
    else:
        out += _results_sections(runs, results_dir, warnings, curve_plots, speed_plots, table)
    if failures:
        out += [
            "## Failed runs",
            "",
            "Failed runs count in no table above.",
            "",
            "| Run | Backend | Seed | Profile | Exit status | Reason |",
            "|---|---|--:|---|--:|---|",
        ]
        for r in failures:
            out.append(
                f"| {r.run_id} | {r.spec['backend']} | {r.spec['seed']} | {r.spec['profile']} "
                f"| {r.failure['exit_code']} | {cell(r.failure['reason'])} |"
            )
        out += [""]
    if shown.superseded:
        out += [
            "## Superseded failures",
            "",
            "These runs failed, and their cell succeeded in a later run.",
            "",
            *(f"- {r.run_id}: {cell(r.failure['reason'])}" for r in shown.superseded),
            "",
        ]
    if warnings:
        out += ["## Skipped or incomplete", "", *(f"- {w}" for w in warnings), ""]
    out += ["## Environment", ""] if runs else []
    latest = {r.spec["backend"]: r for r in runs}
    for backend, r in sorted(latest.items()):
        env = r.environment
        git = env.get("git") or {}
        out += [
            f"### {backend} (run {r.run_id})",
            "",
            f"- Python {env['python']}; {versions(r)}",
            f"- CPU: {env['cpu_model']}; CPUs used: {env['cpus_used']}; "
            f"settings: {env['threads'] or 'defaults'}",
            f"- Variables: {env['variables'] or 'none'}",
            f"- keras.json: {env.get('keras_json')}",
            f"- Code: {git.get('commit', 'unknown')}"
            + (" (with local changes)" if git.get("dirty") else ""),
            "",
        ]
    return "\n".join(out)


def _unaccounted(row: dict) -> str:
    wall, left = row["wall_s"], row["unaccounted_s"]
    if wall is None or left is None:
        return "–"
    return f"{100 * left / wall:.1f} % ({left:.2f} s)"


def _code(row: dict) -> str:
    mixed = len(row["commits"].split()) > 1 or row["dirty_runs"]
    return row["commits"] + (CODE_MARK if mixed else "")


PHASE_LABELS = {
    "interpreter_s": "Interpreter", "import_s": "Import", "data_load_s": "Data load",
    "build_s": "Build", "init_s": "Initial weights", "compile_s": "Compile",
    "peak_s": "Matmul peak", "fit_s": "fit()", "evaluate_s": "Evaluation",
    "predict_s": "Prediction", "latency_s": "Latency", "save_s": "Saving",
}  # fmt: skip


def _time_sections(table: list[dict], speed_plots: list[tuple[str, Path]]) -> list[str]:
    out = [
        "## Where the time goes",
        "",
        "### The whole run",
        "",
        "Each phase of the worker process, in order, in seconds (median over the row's",
        "runs); together with the unaccounted time they make its wall time, process start",
        "to result written. Matmul peak: the efficiency yardstick, measured right before",
        "training; Latency: the prediction-latency measurement below; Saving: predictions,",
        "final weights and the record's facts.",
        "",
        "| Backend | Variant | Runs | Wall | "
        + " | ".join(PHASE_LABELS[p] for p in PHASES)
        + " | Unaccounted |",
        "|---|---|--:|--:|" + "--:|" * len(PHASES) + "--:|",
    ]
    for row in table:
        f = row["figures"]
        out.append(
            f"| {row['backend']} | {short_label(row)} | {row['runs']} | {_time(f['wall_s'], 1)} | "
            + " | ".join(_time(f[p], 2) for p in PHASES)
            + f" | {_unaccounted(row)} |"
        )
    out += [
        "",
        "### Training",
        "",
        "Steps are timed after the backend has finished them (Keras hands the step's loss",
        "to the harness's callback as a Python float; on JAX in a helper thread, while the",
        "next step is dispatched) and include fetching their batch. Warm-up: the run's",
        "first steps that trace and compile (see above), kept apart; steady steps are the",
        "others with a full batch. A steady epoch is any epoch but the first. Prediction",
        "latency: `predict_on_batch` on 1 and on 500 test images, after an untimed first call.",
        "",
        "| Backend | Variant | Runs | Training (s) | Warm-up steps (s) | First epoch (s) "
        "| Steady epoch (s) [p10–p90] | Steady step (ms) [p10–p90] "
        "| Predict ×1 (ms) | Predict ×500 (ms) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in table:
        f = row["figures"]
        out.append(
            f"| {row['backend']} | {short_label(row)} | {row['runs']} "
            f"| {_time(f['fit_s'], 1)} | {_time(f['warmup_s'], 2)} "
            f"| {_time(f['first_epoch_s'], 1)} | {_range(f['steady_epoch_s'], 2)} "
            f"| {_range(f['step_s'], 1, 1000)} "
            f"| {_time(f['predict_1_s'], 2, 1000)} | {_time(f['predict_500_s'], 1, 1000)} |"
        )
    out += ["", NOISY_TEXT, ""]
    far = [o for row in table for o in row["outlying"]]
    if far:
        out += [
            "Outlying samples, kept out of the medians above (more than "
            f"{speed.OUTLIER_FACTOR:g}× their run's median):",
            "",
            *(
                f"- run {o.run_id}: a steady {o.kind} of {o.seconds:,.3f} s "
                f"(the run's median {o.run_median:,.3f} s)"
                for o in far
            ),
            "",
        ]
    for title, path in speed_plots:
        out += [f"{title}:", "", f"![{title}]({path.name})", ""]
    out += [
        "## Efficiency",
        "",
        "Training FLOPs per image: the model's forward FLOPs (from its layers' shapes) "
        "times the recorded training factor (backward ≈ 2× forward). Achieved GFLOP/s: those "
        "FLOPs at the steady throughput. Matmul peak: the float32 matrix multiply "
        f"({machine.MATMUL_N}×{machine.MATMUL_N}, numpy's BLAS) that each run measured on "
        "its own CPUs with its own thread budget right before training (median over the "
        "row's runs); the share is of that peak. Others' CPU: the share of the run's CPUs "
        "that other processes used during `fit()` (their busy time in /proc/stat less the "
        "worker's own CPU time), the largest of the row's runs.",
        "",
        "| Backend | Variant | Training MFLOP/image | Train images/s | Achieved GFLOP/s "
        "| Matmul peak (GFLOP/s) | Share of peak | Others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for row in table:
        flops = row["training_flops_per_image"]
        share, others = row["share_of_peak"], row["other_cpu_share_max"]
        disturbed = DISTURBED_MARK if row["disturbed_runs"] else ""
        out.append(
            f"| {row['backend']} | {short_label(row)} "
            f"| {_fmt(None if flops is None else flops / 1e6, 1)} "
            f"| {_fmt(row['train_images_per_s'], 0)} | {_fmt(row['training_gflops'], 1)} "
            f"| {_fmt(row['peak_gflops'], 0)} "
            f"| {'–' if share is None else f'{100 * share:.0f} %'} "
            f"| {'–' if others is None else f'{100 * others:.0f} %'}{disturbed} |"
        )
    out += [""]
    return out


def _reproducibility_sections(
    runs: list[RunResult],
    results_dir: Path,
    warnings: list[str],
    curve_plots: list[tuple[tuple, Path]],
    pairs: list[dict],
    spread: list[dict],
) -> list[str]:
    out = ["## Reproducibility", ""]
    points = starting_points(runs)
    if points:
        out += [
            "### Starting points",
            "",
            "Digests of the initial weights and of the batch order (first 12 hex digits).",
            "",
            "| Comparison | Seed | Backend: weights / batches | Same on every backend |",
            "|---|--:|---|---|",
        ]
        for p in points:
            digests = "; ".join(
                f"{b}: {w[:12]} / {(o or '–')[:12]}" for b, (w, o) in p["digests"].items()
            )
            out.append(
                f"| {group_text(p['group'])} | {p['seed']} | {digests} "
                f"| {'yes' if p['identical'] else 'no'} |"
            )
        out += [""]
    repeats = determinism(runs, results_dir, warnings)
    out += ["### Run to run, same backend and seed", ""]
    if repeats:
        out += [
            "| Backend | Comparison | Seed | Runs | Determinism controls | Bitwise identical "
            "| Max abs. diff. of final weights | Max abs. diff. of test predictions |",
            "|---|---|--:|--:|---|---|--:|--:|",
        ]
        for d in repeats:
            out.append(
                f"| {d['backend']} | {group_text(d['group'])} | {d['seed']} | {d['runs']} "
                f"| {d['settings']} | {_yes_no(d['bitwise'])} "
                f"| {_sci(d['weights_max_abs'])} | {_sci(d['predictions_max_abs'])} |"
            )
    else:
        out += ["No backend has two runs of the same cell (`--repeat 2` makes them)."]
    out += [""]
    out += ["### Across backends", ""]
    if pairs:
        out += [
            "Test-set predictions of the same seed on two backends.",
            "",
            "| Comparison | Seed | Backends | Same predicted class (%) "
            "| Max abs. diff. of probabilities | Mean abs. diff. | Test acc. difference (points) |",
            "|---|--:|---|--:|--:|--:|--:|",
        ]
        for p in pairs:
            out.append(
                f"| {group_text(p['group'])} | {p['seed']} | {p['backends'][0]} vs "
                f"{p['backends'][1]} | {100 * p['same_class']:.2f} | {_sci(p['max_abs_diff'])} "
                f"| {_sci(p['mean_abs_diff'])} | {100 * p['accuracy_diff']:+.2f} |"
            )
    else:
        out += ["No two backends have runs of the same comparison and seed with predictions."]
    out += [""]
    for key, path in curve_plots:
        out += [
            f"Training loss per epoch, {group_text(key)}:",
            "",
            f"![loss curves]({path.name})",
            "",
        ]
    out += ["### Backend differences against seed-to-seed noise", ""]
    if not spread:
        out += ["Needs two or more seeds per backend (`--seeds 1,2,3`).", ""]
    for n in spread:
        out += [f"{group_text(n['group'])}:", ""]
        for b, s in n["backends"].items():
            out.append(
                f"- {b}: test accuracy {100 * s['mean']:.2f} % ± "
                f"{_fmt(None if s['std'] is None else 100 * s['std'], 2)} over seeds "
                f"{', '.join(map(str, s['seeds']))}"
            )
        out += [f"- {noise_sentence(*t['backends'], t['test'])}" for t in n["tests"]]
        out += [""]
    return out


def parity_text(record: dict) -> str:
    """The parity comparison as a Markdown table."""
    tol = record["tolerances"]
    out = [
        f"Parity: the untrained model's test-set outputs and {record['steps']} training steps "
        "from the same weights and batches, dropout off. Tolerances: forward "
        f"{tol['forward_max_abs']:.0e} (absolute), loss {tol['loss_rel']:.0e} (relative).",
        "",
        "| Backends | Forward max abs. diff. | Loss rel. diff., max | First step beyond "
        "tolerance | Within tolerance |",
        "|---|--:|--:|--:|---|",
    ]
    for p in record["pairs"]:
        out.append(
            f"| {' vs '.join(p['backends'])} | {_sci(p['forward_max_abs'])} "
            f"| {_sci(p['loss_rel_max'])} | {p['first_step_beyond'] or '–'} "
            f"| {'yes' if p['within_tolerance'] else 'no'} |"
        )
    return "\n".join(out)


def csv_text(table: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row[k] for k in CSV_FIELDS} for row in table)
    return buf.getvalue()


HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def html(markdown_text: str, results_dir: Path) -> str:
    """REPORT.md as one self-contained page: its plots embedded as data URIs."""
    import base64

    import markdown

    def embed(match: re.Match) -> str:
        data = base64.b64encode((results_dir / match.group(2)).read_bytes()).decode()
        return f"![{match.group(1)}](data:image/png;base64,{data})"

    embedded = re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", embed, markdown_text)
    body = markdown.markdown(embedded, extensions=["tables"])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Keras backend comparison</title><style>{HTML_STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(results_dir: Path, everything: bool = False) -> list[Path]:
    """Write REPORT.md, report.html, summary.csv and the plots into `results_dir`;
    returns their paths. `everything`: every result, not only each cell's latest."""
    results_dir = Path(results_dir)
    records, warnings = results.read_all(results_dir)
    shown = select(records, everything)
    curve_plots = plot_curves(shown.runs, results_dir)
    table = rows(shown.runs)
    speed_plots = plot_speed(table, results_dir)
    text = render_markdown(shown, results_dir, warnings, curve_plots, speed_plots, table)
    texts = {
        results_dir / "REPORT.md": text,
        results_dir / "report.html": html(text, results_dir),
        results_dir / "summary.csv": csv_text(table),
    }
    for path, text in texts.items():
        results.write_text_atomic(path, text)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return [*texts, *(path for _, path in curve_plots), *(path for _, path in speed_plots)]
