"""The comparison report, rendered from a results folder's Summary (`harness.summary.build`,
made from its result files alone: no keras, no framework).

    python -m harness report [--results results]

writes REPORT.md, report.html, summary.csv and the plots beside the runs/ folder it was
made from. It measures and computes nothing: every figure, the efficiency yardstick
included, comes from what the runs recorded, through the Summary, so the same results
give the same report on any machine.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
from pathlib import Path

from harness.record import atomic
from harness.record.results import RunResult
from harness.record.schema import HARNESS_MASKS, LATENCY_BATCHES, PHASES
from harness.report.convergence import target_sections
from harness.report.page import GLANCE_ALT, html
from harness.report.plots import Plots, plot_all
from harness.report.tables import (
    anchor_sections,
    placement_table,
    reproducibility_sections,
    time_sections,
    tuned_sections,
)
from harness.report.text import (
    OUTLIER,
    accuracy_text,
    cell,
    commits_text,
    equivalence_sentences,
    fmt,
    group_text,
    how_text,
    literal,
    notes,
    plural,
    row_marks,
    speed_text,
    times_text,
    training_text,
    unaccounted_text,
)
from harness.summary import timing_figures
from harness.summary.build import Summary
from harness.summary.comparisons import Comparison
from harness.summary.grouping import VARIANT_FIELDS, Group, Row, by, system_of, versions
from harness.summary.stats import median_of

CSV_FIELDS = (
    *VARIANT_FIELDS, "runs", "seeds", "test_accuracy", "test_accuracy_std", "test_loss",
    "fit_s", "training_s", "wall_s", "unaccounted_s", "warmup_s", "first_epoch_s", "steady_epoch_s",
    "steady_epoch_p10_s", "steady_epoch_p90_s", "step_s", "step_p10_s", "step_p90_s",
    "train_images_per_s", "training_gflops", "peak_gflops", "share_of_peak",
    "other_cpu_share_max", "disturbed_runs", "shared_runs", "not_converged_runs", "outliers",
    "commits", "dirty_runs",
    *(p for p in PHASES if p != "fit_s"), *(f"predict_{b}_s" for b in LATENCY_BATCHES),
    "peak_rss_mib", "versions",
)  # fmt: skip


def answer(c: Comparison) -> list[str]:
    """What a comparison says, in two or three plain sentences: which backend trains
    fastest and by how much, whether the accuracies are equivalent within the margin
    (each pair of backends, paired by seed), and whether the predictions agree."""
    timed = [(row, s) for row, s in zip(c.ranked, c.speeds, strict=True) if s.ratio]
    if len(timed) > 1:
        (fastest, _), others = timed[0], timed[1:]
        said = [
            f"{literal(fastest.backend)} trains fastest "
            f"({fmt(fastest.train_images_per_s, 0)} images/s at a steady step); "
            + ", ".join(
                f"{literal(row.backend)} takes {times_text(s)} as long a step" for row, s in others
            )
            + "."
        ]
        paired = [(row, s) for row, s in others if s.interval is not None]
        if len(paired) < len(others):
            said.append("Without rounds a ratio has no interval (`run --rounds 5` gives one).")
        if paired:
            beyond = [literal(row.backend) for row, s in paired if s.beyond_noise]
            within = [literal(row.backend) for row, s in paired if not s.beyond_noise]
            if beyond:
                said.append(
                    f"Slower beyond the rounds' noise (95 % interval above 1): {', '.join(beyond)}."
                )
            if within:
                said.append(
                    f"Not told apart from {literal(fastest.backend)} by the rounds: "
                    f"{', '.join(within)}."
                )
    elif timed and len(c.ranked) > 1:
        said = [
            f"Only {literal(timed[0][0].backend)} timed its steps: there is no speed to compare."
        ]
    elif timed:
        said = [f"Only {literal(timed[0][0].backend)} ran this comparison."]
    else:
        said = []
    if c.group.steps_only:
        return [
            *said,
            f"Profile {literal(c.group.profile)} trains a few steps for their speed: its "
            "accuracies are not compared.",
        ]
    said += equivalence_sentences(c.equivalence)
    if c.agreement:
        same = [100 * p.predictions.same_class for p in c.agreement]
        said.append(
            f"With the same seed, they predict the same class for {min(same):.2f} % to "
            f"{max(same):.2f} % of the test images."
            if min(same) != max(same)
            else f"With the same seed, they predict the same class for {same[0]:.2f} % of "
            "the test images."
        )
    return said


def _answer_sections(found: list[Comparison], glances: dict[Group, Path]) -> list[str]:
    """Each comparison shown before it is told: its picture, its ranking, what the
    ranking's marks mean, then the answer in words."""
    out = ["## In short", ""]
    for c in found:
        out += [f"### {literal(group_text(c.group))}", ""]
        if c.group in glances:
            out += [
                f"![{GLANCE_ALT}: each row's steady training step over the fastest's, and its "
                f"test accuracy]({glances[c.group].name})",
                "",
            ]
        table = [
            "| Backend | Variant | Test acc. (%) | Training (s) | Steady images/s "
            "| Step × fastest [95 %] |",
            "|---|---|--:|--:|--:|--:|",
        ]
        steps_only = c.group.steps_only
        for i, (row, s) in enumerate(zip(c.ranked, c.speeds, strict=True)):
            # The fastest row is the others' yardstick: its 1.00 has no interval to lack.
            table.append(
                f"| {literal(row.backend)} | {literal(how_text(row.variant))}{row_marks(row)} "
                f"| {'–' if steps_only else accuracy_text(row)} | {training_text(row)} "
                f"| {fmt(row.train_images_per_s, 0)} | {speed_text(s) if i else fmt(s.ratio, 2)} |"
            )
        references = sorted(
            {
                a
                for row in c.ranked
                for r in row.members
                if (a := r.recipe.reference_accuracy) is not None
            }
        )
        columns = []
        if any(s.ratio for s in c.speeds):
            columns.append(
                "Step × fastest: the steady training step (after the warm-up) over the fastest "
                "row's, paired by round with its 95 % interval where the runs were made in "
                "rounds; slower beyond noise only where the interval lies above 1."
            )
        if not steps_only:
            columns.append(
                "Test acc.: mean over runs ± standard deviation."
                + (
                    f" Published for {literal(c.group.model)}: "
                    + ", ".join(f"{100 * a:.2f} %" for a in references)
                    + "."
                    if references
                    else ""
                )
            )
        out += [*table, "", *notes(table, *columns), " ".join(answer(c)), ""]
    return out


def _accuracy_sections(s: Summary) -> list[str]:
    """Accuracy and time, one table per comparison, its group said once above it."""
    out = ["## Accuracy and time", ""]
    tables = []
    for key, members in sorted(by(s.rows, lambda row: row.variant.group).items()):
        table = [
            "| Backend | Variant | Runs (seeds) | Test acc. (%) | Test loss | Training (s) "
            "| Train images/s | Unaccounted | Code | Peak RSS (MiB) | Versions |",
            "|---|---|---|--:|--:|--:|--:|--:|---|--:|---|",
        ]
        for row in members:
            table.append(
                f"| {literal(row.backend)} | {literal(how_text(row.variant))} "
                f"| {row.runs} ({' '.join(map(str, row.seeds))}) "
                f"| {accuracy_text(row)} | {fmt(row.test_loss, 4)} | {training_text(row)} "
                f"| {fmt(row.train_images_per_s, 0)}{OUTLIER.symbol if row.outlying else ''} "
                f"| {unaccounted_text(row)} | {literal(commits_text(row))} "
                f"| {fmt(row.peak_rss_mib, 0)} | {literal(row.versions)} |"
            )
        tables += table
        out += [f"{literal(group_text(key))}:", "", *table, ""]
    out += notes(
        tables,
        "Runs (seeds): the runs the row pools, and their seeds. Test acc.: mean over runs "
        "(± sample standard deviation when there are several).",
        "Training: the whole `fit()` call, every epoch and all Keras does between them, less "
        "the test-set evaluations after its epochs (median over runs). Train images/s: a "
        "full batch over the median steady step, every "
        f"step after the warm-up (the first step, and those after it while slower than "
        f"{timing_figures.WARMUP_FACTOR}× the run's median: tracing and compilation), so one "
        "epoch is enough.",
        "Unaccounted: the part of the worker's wall time, process start to result written, "
        "that no clocked phase covers (median over runs). Code: the commit of the runs' code.",
        _init_note(s.shown.runs),
    )
    return out


def _init_note(runs: list[RunResult]) -> str:
    """What init `harness` drew, said of these runs: records from before the harness drew
    the dropout masks have each backend's own."""
    drawn = {
        (r.reproducibility.dropout_masks or "").startswith(HARNESS_MASKS)
        for r in runs
        if r.spec.init == "harness" and r.spec.impl == "keras"
    }
    masks = (
        "dropout masks by the harness's counter-based generator, the same on every backend"
        if drawn <= {True}
        else "the same on every backend; the dropout masks too where Starting points says "
        "so (the harness's counter-based generator: older records have each backend's own)"
    )
    return (
        f"Init `harness`: initial weights and batch order drawn with numpy, {masks}; init "
        "`keras`: each backend's own initialisation, shuffling and masks. Profile `tuned`: "
        "each backend's fastest settings (its plugin's `tuning`), beside its defaults."
    )


def _results_sections(s: Summary, plots: Plots) -> list[str]:
    """The answer first, then accuracy and time, where the time goes, efficiency and
    reproducibility."""
    out = _answer_sections(s.comparisons, plots.glances)
    out += _accuracy_sections(s)
    if s.shared:
        out += ["Shared the machine (trained while other runs ran on it):", ""]
        out += [f"- {literal(a)}: beside {literal(', '.join(b))}" for a, b in s.shared.items()]
        out += [""]
    out += placement_table(s.placement)
    if s.not_converged:
        out += ["Not converged (kept in the tables: a result, not a crash):", ""]
        out += [f"- {literal(r.run_id)}: {cell(why)}" for r, why in s.not_converged]
        out += [""]
    out += tuned_sections(s.tuned)
    out += anchor_sections(s.anchors)
    out += time_sections(s.rows, plots.speed)
    out += reproducibility_sections(s, plots.curves)
    out += target_sections(s, plots.bands, plots.drift)
    return out


def render_markdown(s: Summary, plots: Plots) -> str:
    """The report of a results folder's summary, with its `plots` (`plot_all`)."""
    shown = s.shown
    runs, failures = shown.runs, shown.failures
    total = len(runs) + len(failures) + len(shown.superseded) + shown.left_out
    out = [
        "# Keras backend comparison",
        "",
        f"Built by `python -m harness report` from "
        f"{plural(total, 'result file')} in {literal(s.source)}"
        + (f", {plural(len(failures), 'failed run')} among them." if failures else "."),
        "",
    ]
    if shown.left_out:
        out += [
            "Each cell (backend, variant and seed, as asked for) shows the results of the "
            f"latest `run` that ran it: {plural(shown.left_out, 'older result')} left out "
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
        out += _results_sections(s, plots)
    if failures:
        out += [
            "## Failed runs",
            "",
            "Failed runs count in no table above.",
            "",
            "| Run | Backend | Seed | Profile | Exit status | Reason |",
            "|---|---|--:|---|--:|---|",
        ]
        for f in failures:
            out.append(
                f"| {literal(f.run_id)} | {literal(f.spec.backend)} | {f.spec.seed} "
                f"| {literal(f.spec.profile)} "
                f"| {f.failure.exit_code} | {cell(f.failure.reason)} |"
            )
        out += [""]
    if shown.superseded:
        out += [
            "## Superseded failures",
            "",
            "These runs failed, and their cell succeeded in a later run.",
            "",
            *(f"- {literal(r.run_id)}: {cell(r.failure.reason)}" for r in shown.superseded),
            "",
        ]
    if s.warnings:
        out += ["## Skipped or incomplete", "", *(f"- {cell(w)}" for w in s.warnings), ""]
    out += ["## Environment", ""] if runs else []
    latest = {system_of(r): r for r in runs}
    for backend, r in sorted(latest.items()):
        env = r.environment
        out += [
            f"### {literal(backend)} (run {literal(r.run_id)})",
            "",
            f"- Python {literal(env.python)}; {literal(versions(r))}",
            f"- CPU: {literal(env.cpu_model)}; CPUs used: {env.cpus_used}; "
            f"settings: {literal(r.backend_settings or 'defaults')}",
            f"- Variables: {literal(env.variables or 'none')}",
            f"- keras.json: {literal(env.keras_json)}",
            f"- Code: {literal(env.git.commit) if env.git else 'unknown'}"
            + (" (with local changes)" if env.git and env.git.dirty else ""),
            "",
        ]
    return "\n".join(out)


def csv_values(row: Row) -> dict[str, object]:
    """A row's CSV line, by CSV_FIELDS."""
    steady, step = row.figures.steady_epoch_s, row.figures.step_s
    values = {
        **row.variant.fields(),
        **{name: median_of(f) for name, f in row.figures.named().items()},
        "runs": row.runs,
        "seeds": " ".join(map(str, row.seeds)),
        "commits": " ".join(row.commits),
        "outliers": len(row.outlying),
        "steady_epoch_p10_s": steady.p10 if steady else None,
        "steady_epoch_p90_s": steady.p90 if steady else None,
        "step_p10_s": step.p10 if step else None,
        "step_p90_s": step.p90 if step else None,
        **{name: getattr(row, name) for name in _ROW_FIGURES},
    }
    return {name: values[name] for name in CSV_FIELDS}


# The fields of a row that are a figure each (a number or a text), as they are.
_ROW_FIGURES = tuple(
    f.name
    for f in dataclasses.fields(Row)
    if f.name not in ("variant", "members", "seeds", "outlying", "commits", "figures")
)


def csv_text(table: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(map(csv_values, table))
    return buf.getvalue()


def utf8(text: str) -> str:
    """`text` as UTF-8 can hold it. A name that is not UTF-8 (a folder's, or a file's
    in a record: a byte such as 0xff, which Python keeps as a lone surrogate) is shown
    with U+FFFD in its place."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def write_report(s: Summary, results_dir: Path) -> list[Path]:
    """Write the report of `s` (REPORT.md, report.html, summary.csv and the plots) into
    `results_dir`, all of them or (interrupted, or failing) none; returns their paths."""
    results_dir = Path(results_dir)
    with atomic.published_together(results_dir) as staging:
        plots = plot_all(s, staging)
        text = render_markdown(s, plots)
        texts = {
            "REPORT.md": text,
            "report.html": html(text, staging),
            "summary.csv": csv_text(s.rows),
        }
        for name, content in texts.items():
            atomic.write_text_atomic(staging / name, utf8(content))
        names = [path.name for path in plots.paths]
    for w in s.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return [results_dir / name for name in (*texts, *names)]
