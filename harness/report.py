"""The comparison report, rebuilt from result files alone (no keras, no framework).

    python -m harness report [--results results]

writes REPORT.md and summary.csv beside the runs/ folder it reads.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable
from pathlib import Path

from harness import results
from harness.results import RunResult

VARIANT_FIELDS = (
    "model",
    "dataset",
    "profile",
    "data_format",
    "threads",
    "epochs",
    "batch_size",
    "train_images",
    "jit_compile",
)
CSV_FIELDS = (
    "backend",
    *VARIANT_FIELDS,
    "runs",
    "seeds",
    "test_accuracy",
    "test_accuracy_std",
    "test_loss",
    "first_epoch_s",
    "steady_epoch_s",
    "train_images_per_s",
    "evaluate_s",
    "peak_rss_mib",
    "versions",
)


def variant(r: RunResult) -> dict:
    return {
        "backend": r.spec["backend"],
        "model": r.spec["model"],
        "dataset": r.spec["dataset"],
        "profile": r.spec["profile"],
        "data_format": r.recipe["data_format"],
        "threads": r.spec["threads"],
        "epochs": r.recipe["epochs"],
        "batch_size": r.recipe["batch_size"],
        "train_images": r.recipe["train_images"],
        "jit_compile": r.recipe["jit_compile"],
    }


def steady_epoch_s(r: RunResult) -> float | None:
    """Median epoch time without the first epoch, which carries tracing and compilation."""
    later = r.timings["epochs_s"][1:]
    return statistics.median(later) if later else None


def versions(r: RunResult) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(r.environment["libraries"].items()))


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: list[RunResult]) -> dict:
    """One row: the runs of one backend and variant, over seeds and repeats."""
    row = variant(runs[0])
    accuracies = [r.metrics["test_accuracy"] for r in runs]
    steady = _median(steady_epoch_s(r) for r in runs)
    row.update(
        runs=len(runs),
        seeds=" ".join(str(s) for s in sorted({r.spec["seed"] for r in runs})),
        test_accuracy=statistics.mean(accuracies),
        test_accuracy_std=statistics.stdev(accuracies) if len(runs) > 1 else None,
        test_loss=statistics.mean(r.metrics["test_loss"] for r in runs),
        first_epoch_s=statistics.median(r.timings["epochs_s"][0] for r in runs),
        steady_epoch_s=steady,
        train_images_per_s=row["train_images"] / steady if steady else None,
        evaluate_s=statistics.median(r.timings["evaluate_s"] for r in runs),
        peak_rss_mib=max(r.memory["peak_rss_mib"] for r in runs),
        versions=versions(runs[-1]),
    )
    return row


def rows(runs: list[RunResult]) -> list[dict]:
    groups: dict[tuple, list[RunResult]] = {}
    for r in runs:
        groups.setdefault(tuple(variant(r).values()), []).append(r)
    return [summarize(g) for _, g in sorted(groups.items(), key=lambda kv: str(kv[0]))]


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _accuracy(row: dict) -> str:
    text = _fmt(100 * row["test_accuracy"], 2)
    if row["test_accuracy_std"] is not None:
        text += f" ± {100 * row['test_accuracy_std']:.2f}"
    return text


def _variant_text(row: dict) -> str:
    return (
        f"{row['profile']}: {row['model']} on {row['dataset']} "
        f"({row['train_images']:,} images, {row['epochs']} epochs, batch {row['batch_size']}), "
        f"{row['data_format']}, {row['threads']} threads, jit_compile={row['jit_compile']}"
    )


def markdown(table: list[dict], runs: list[RunResult], warnings: list[str], source: Path) -> str:
    out = [
        "# Keras backend comparison",
        "",
        f"Built by `python -m harness report` from {len(runs)} result files in `{source}`.",
        "",
    ]
    references = sorted({r.recipe.get("reference_accuracy") for r in runs} - {None})
    if references:
        out += [
            "Published test accuracy of the model: "
            + ", ".join(f"{100 * a:.2f} %" for a in references)
            + ".",
            "",
        ]
    if warnings:
        out += ["**Skipped files:**", "", *(f"- {w}" for w in warnings), ""]
    out += [
        "## Accuracy and time",
        "",
        "| Backend | Variant | Runs (seeds) | Test acc. (%) | Test loss | First epoch (s) "
        "| Later epochs, median (s) | Train images/s | Evaluation (s) | Peak RSS (MiB) "
        "| Versions |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in table:
        out.append(
            f"| {row['backend']} | {_variant_text(row)} | {row['runs']} ({row['seeds']}) "
            f"| {_accuracy(row)} | {_fmt(row['test_loss'], 4)} | {_fmt(row['first_epoch_s'], 1)} "
            f"| {_fmt(row['steady_epoch_s'], 1)} | {_fmt(row['train_images_per_s'], 0)} "
            f"| {_fmt(row['evaluate_s'], 2)} | {_fmt(row['peak_rss_mib'], 0)} | {row['versions']} |"
        )
    out += [
        "",
        "Accuracy is the mean over runs (± sample standard deviation when there are several).",
        "The first epoch includes tracing and compilation; 'later epochs' is the median of",
        "every other epoch, and train images/s divides the training images by it (– when a",
        "run has a single epoch). Times are medians over runs.",
        "",
        "## Environment",
        "",
    ]
    latest = {r.spec["backend"]: r for r in runs}
    for backend, r in sorted(latest.items()):
        env = r.environment
        git = env.get("git") or {}
        out += [
            f"### {backend} (run {r.run_id})",
            "",
            f"- Python {env['python']}; {versions(r)}",
            f"- CPU: {env['cpu_model']}; CPUs used: {env['cpus_used']}; "
            f"thread settings: {env['threads'] or 'defaults'}",
            f"- Variables: {env['variables'] or 'none'}",
            f"- keras.json: {env.get('keras_json')}",
            f"- Code: {git.get('commit', 'unknown')}"
            + (" (with local changes)" if git.get("dirty") else ""),
            "",
        ]
    return "\n".join(out)


def csv_text(table: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row[k] for k in CSV_FIELDS} for row in table)
    return buf.getvalue()


def write_report(results_dir: Path) -> list[Path]:
    """Write REPORT.md and summary.csv into `results_dir`; returns their paths."""
    results_dir = Path(results_dir)
    runs, warnings = results.read_all(results_dir)
    table = rows(runs)
    paths = {
        results_dir / "REPORT.md": markdown(table, runs, warnings, results.runs_dir(results_dir)),
        results_dir / "summary.csv": csv_text(table),
    }
    for path, text in paths.items():
        results.write_text_atomic(path, text)
    for w in warnings:
        print(f"warning: {w}")
    return list(paths)
