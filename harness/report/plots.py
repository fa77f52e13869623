"""The report's figures as PNG files (matplotlib, Agg; no framework), and which figures
a set of rows calls for."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from harness.record import results
from harness.record.results import RunResult
from harness.report.text import group_text, short_label
from harness.summary import speed
from harness.summary.grouping import Group, Row, by, group, system_of

FIGURE_DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with results.atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", bbox_inches="tight")
    return path


def backend_colours(backends) -> dict[str, str]:
    """One colour per backend, the same in every figure of a report."""
    return {b: f"C{i}" for i, b in enumerate(sorted(set(backends)))}


def slug(parts) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(str(p) for p in parts).lower()).strip("-")


def loss_curves(title: str, curves: dict[str, list[list[float]]], path: Path) -> Path:
    """Training loss per epoch; `curves` maps a backend to its runs' loss lists."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=FIGURE_DPI)
    colours = backend_colours(curves)
    for backend, runs in sorted(curves.items()):
        for i, loss in enumerate(runs):
            ax.plot(
                range(1, len(loss) + 1),
                loss,
                color=colours[backend],
                alpha=0.8,
                marker="o",
                markersize=3,
                label=backend if i == 0 else None,
            )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (log scale)")
    ax.set_title(title, fontsize=8)
    ax.legend()
    ax.grid(True, alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def training_times(bars: list[dict], path: Path) -> Path:
    """Two panels, one bar per row: training time, the whole fit() call (median,
    whiskers at the 10th and 90th percentile over runs), and steady training throughput.
    `bars` items: backend, label, median, p10, p90, images_per_s."""
    plt = _pyplot()
    height = 0.6 + 0.35 * len(bars)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, height), dpi=FIGURE_DPI, sharey=True)
    ys = range(len(bars))
    medians = [b["median"] for b in bars]
    errors = [[b["median"] - b["p10"] for b in bars], [b["p90"] - b["median"] for b in bars]]
    by_backend = backend_colours(b["backend"] for b in bars)
    colours = [by_backend[b["backend"]] for b in bars]
    left.barh(ys, medians, xerr=errors, color=colours, capsize=3)
    left.set_yticks(list(ys), [b["label"] for b in bars], fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("training, the whole fit() (s): median, 10th-90th percentile")
    right.barh(ys, [b["images_per_s"] or 0 for b in bars], color=colours)
    right.set_xlabel("training images / s (steady steps)")
    for ax in (left, right):
        ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def step_times(boxes: list[dict], path: Path) -> Path:
    """One box per row: its steady training steps in milliseconds (box: quartiles,
    whiskers: 10th and 90th percentile, outliers not drawn). `boxes` items: backend,
    label, samples (seconds)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.35 * len(boxes)), dpi=FIGURE_DPI)
    drawn = ax.boxplot(
        [[1000 * s for s in b["samples"]] for b in boxes],
        orientation="horizontal",
        whis=(10, 90),
        showfliers=False,
        tick_labels=[b["label"] for b in boxes],
        patch_artist=True,
    )
    colours = backend_colours(b["backend"] for b in boxes)
    for patch, b in zip(drawn["boxes"], boxes, strict=True):
        patch.set_facecolor(colours[b["backend"]])
        patch.set_alpha(0.6)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("training step (ms)")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_curves(runs: list[RunResult], out_dir: Path) -> list[tuple[Group, Path]]:
    """One PNG per comparison group with two or more backends: every run's training loss
    per epoch, one colour per backend."""
    written = []
    for key, members in sorted(by(runs, group).items()):
        per_backend = by(members, system_of)
        if len(per_backend) < 2 or max(r.recipe.epochs for r in members) < 2:
            continue
        curves = {b: [r.metrics.training_loss for r in rs] for b, rs in per_backend.items()}
        path = out_dir / f"loss-curves-{slug(dataclasses.astuple(key))}.png"
        written.append((key, loss_curves(group_text(key), curves, path)))
    return written


def plot_speed(table: list[Row], out_dir: Path) -> list[tuple[str, Path]]:
    """Training time and steady throughput per row, for the rows whose runs timed their
    fit() call and steps, and the step-time distribution per row that timed its steps
    (one epoch is enough for both)."""
    stepped = [row for row in table if row.figures["step_s"]]
    timed = [row for row in stepped if row.figures["fit_s"]]
    written = []
    if timed:
        bars = []
        for row in timed:
            fit = row.figures["fit_s"]
            bars.append(
                {
                    "backend": row.backend,
                    "label": f"{row.backend} · {short_label(row.variant)}",
                    "median": fit.median,
                    "p10": fit.p10,
                    "p90": fit.p90,
                    "images_per_s": row.train_images_per_s,
                }
            )
        path = training_times(bars, out_dir / "training-times.png")
        written.append(("Training time (the whole fit()) and steady throughput per row", path))
    if stepped:
        steps = [
            {
                "backend": row.backend,
                "label": f"{row.backend} · {short_label(row.variant)}",
                "samples": [s for r in row.members for s in speed.steady_steps(r)],
            }
            for row in stepped
        ]
        path = step_times(steps, out_dir / "step-times.png")
        written.append(("Steady training step times per row (warm-up steps left out)", path))
    return written
