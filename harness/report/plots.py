"""The report's figures as PNG files (matplotlib, Agg; no framework), and which figures
a set of rows calls for."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from harness.record import atomic
from harness.record.results import RunResult
from harness.report.text import group_text, how_text, short_label
from harness.summary.build import Summary
from harness.summary.comparisons import Comparison
from harness.summary.drift import Drift
from harness.summary.grouping import Group, Row, by, group, system_of
from harness.summary.target import TimeToTarget

FIGURE_DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic.atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", bbox_inches="tight")
    return path


def backend_colours(backends) -> dict[str, str]:
    """One colour per backend, the same in every figure of a report."""
    return {b: f"C{i}" for i, b in enumerate(sorted(set(backends)))}


# A plot's file name stays well within a file system's 255 bytes, however long the names
# (a model's file, a machine's id) its group holds.
SLUG_MAX = 120


def slug(parts) -> str:
    """`parts` as a file name's letters, digits and dashes; a long one cut short, with a
    digest of the whole so that two groups keep two names."""
    whole = "-".join(str(p) for p in parts)
    made = re.sub(r"[^a-z0-9]+", "-", whole.lower()).strip("-")
    if len(made) <= SLUG_MAX:
        return made
    digest = hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{made[: SLUG_MAX - 13]}-{digest}"


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


@dataclass(frozen=True)
class GlanceLine:
    """A row of a comparison at a glance."""

    backend: str  # its colour
    label: str
    ratio: float | None  # its steady step over the fastest's; None: not timed
    low: float | None  # its whiskers; None: none
    high: float | None
    accuracies: list[float]  # in %, one per run; empty where accuracy is not compared
    reference: float | None  # the model's published accuracy in %


@dataclass(frozen=True)
class Bar:
    """A row's training time (fit() less its evaluations, over its runs) and steady
    throughput."""

    backend: str
    label: str
    median: float
    p10: float
    p90: float
    images_per_s: float | None


@dataclass(frozen=True)
class StepBox:
    """A row's steady training steps, in seconds."""

    backend: str
    label: str
    samples: list[float]


def glance(lines: list[GlanceLine], colours: dict[str, str], path: Path) -> Path:
    """One comparison at a glance, a line per row, fastest first. Left, where rows were
    timed, its training speed: the steady step over the fastest row's (bar), whiskers at
    its 95 % interval from rounds or, without rounds, at the range of the row's runs.
    Right, where accuracy is compared: the test accuracy of each run (circles) and their
    mean ± standard deviation."""
    plt = _pyplot()
    timed = any(line.ratio is not None for line in lines)
    compared = any(line.accuracies for line in lines)
    widths = [3] * timed + [2] * compared
    # Sized to be shown at its own size beside the ranking's table (report.html).
    fig, axes = plt.subplots(
        1,
        len(widths),
        figsize=(6.6 if len(widths) == 2 else 4.2, 0.9 + 0.36 * len(lines)),
        dpi=FIGURE_DPI,
        sharey=True,
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    panels = list(axes[0])
    ys = list(range(len(lines)))
    panels[0].set_yticks(ys, [line.label for line in lines], fontsize=9)
    panels[0].set_ylim(len(lines) - 0.5, -0.5)  # the fastest on top, no line at an edge
    if timed:
        _speed_panel(panels.pop(0), lines, colours)
    if compared:
        _accuracy_panel(panels.pop(0), lines, colours)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def _speed_panel(ax, lines: list[GlanceLine], colours: dict[str, str]) -> None:
    for y, line in enumerate(lines):
        if line.ratio is None:
            ax.text(
                0.02,
                y,
                "not timed",
                va="center",
                fontsize=8,
                color="#666",
                transform=ax.get_yaxis_transform(),
            )
            continue
        ax.barh(y, line.ratio, color=colours[line.backend], height=0.6)
        end = line.ratio
        if line.low is not None and line.high is not None:
            below, above = line.ratio - line.low, line.high - line.ratio
            ax.errorbar(line.ratio, y, xerr=[[below], [above]], color="#222", capsize=4)
            end = line.high
        ax.annotate(
            f"{line.ratio:.2f}×",
            (end, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, 1.15 * max(line.high or line.ratio or 1.0 for line in lines))
    ax.set_xlabel(
        "steady step × the fastest's (shorter is faster)\n"
        "whiskers: 95 % interval (rounds), or the runs' range",
        fontsize=8,
    )
    ax.grid(True, axis="x", alpha=0.3)


def _accuracy_panel(ax, lines: list[GlanceLine], colours: dict[str, str]) -> None:
    from matplotlib.ticker import MaxNLocator

    for y, line in enumerate(lines):
        runs = line.accuracies
        if not runs:
            continue
        colour = colours[line.backend]
        ax.scatter(runs, [y] * len(runs), s=14, facecolors="none", edgecolors=colour)
        std = statistics.stdev(runs) if len(runs) > 1 else 0.0
        ax.errorbar(
            statistics.mean(runs), y, xerr=std, fmt="D", color=colour, markersize=5, capsize=4
        )
    shown = [a for line in lines for a in line.accuracies]
    low, high = min(shown), max(shown)
    # The published accuracy is drawn only near the runs': a shorter recipe than the
    # published one (the quick profile) would squash its runs into a point far beside it.
    reference = next((line.reference for line in lines if line.reference), None)
    if reference is not None and low - 1 <= reference <= high + 1:
        ax.axvline(reference, color="#888", linestyle="--", linewidth=1)
        ax.annotate(
            "published",
            (reference, 0),
            xycoords=("data", "axes fraction"),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=7,
            color="#666",
        )
        low, high = min(low, reference), max(high, reference)
    pad = max(0.05, 0.15 * (high - low))
    ax.set_xlim(low - pad, high + pad)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # a narrow panel: few, legible ticks
    ax.set_xlabel("test accuracy (%)\n◆ mean ± s.d.  ○ each run", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)


def training_times(bars: list[Bar], path: Path) -> Path:
    """Two panels, one bar per row: training time, fit() less its evaluations (median,
    whiskers at the 10th and 90th percentile over runs), and steady training throughput.
    """
    plt = _pyplot()
    height = 0.6 + 0.35 * len(bars)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, height), dpi=FIGURE_DPI, sharey=True)
    ys = range(len(bars))
    medians = [b.median for b in bars]
    errors = [[b.median - b.p10 for b in bars], [b.p90 - b.median for b in bars]]
    by_backend = backend_colours(b.backend for b in bars)
    colours = [by_backend[b.backend] for b in bars]
    left.barh(ys, medians, xerr=errors, color=colours, capsize=3)
    left.set_yticks(list(ys), [b.label for b in bars], fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("training, fit() less its evaluations (s): median, 10th-90th pct.")
    right.barh(ys, [b.images_per_s or 0 for b in bars], color=colours)
    right.set_xlabel("training images / s (steady steps)")
    for ax in (left, right):
        ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def step_times(boxes: list[StepBox], path: Path) -> Path:
    """One box per row: its steady training steps in milliseconds (box: quartiles,
    whiskers: 10th and 90th percentile, outliers not drawn)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.35 * len(boxes)), dpi=FIGURE_DPI)
    drawn = ax.boxplot(
        [[1000 * s for s in b.samples] for b in boxes],
        orientation="horizontal",
        whis=(10, 90),
        showfliers=False,
        tick_labels=[b.label for b in boxes],
        patch_artist=True,
    )
    colours = backend_colours(b.backend for b in boxes)
    for patch, b in zip(drawn["boxes"], boxes, strict=True):
        patch.set_facecolor(colours[b.backend])
        patch.set_alpha(0.6)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("training step (ms)")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="x", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def plot_glances(
    found: list[Comparison], colours: dict[str, str], out_dir: Path
) -> list[tuple[Group, Path]]:
    """One PNG per comparison (`glance`), its rows as ranked; `colours`: `backend_colours`
    of every row of the report, so that a backend has one colour in every picture."""
    written = []
    for c in found:
        steps_only = c.group.steps_only
        fastest = c.ranked[0].step_s
        names = [row.backend for row in c.ranked]
        lines = []
        for row, s in zip(c.ranked, c.speeds, strict=True):
            low = high = None
            if s.interval is not None:
                low, high = s.interval.low, s.interval.high
            elif s.ratio is not None and fastest and row.runs > 1:
                ratios = [step / fastest for step in row.figures.run_step_s]
                low, high = min(ratios), max(ratios)
            references = {a for r in row.members if (a := r.recipe.reference_accuracy) is not None}
            lines.append(
                GlanceLine(
                    backend=row.backend,
                    # The backend alone where it names one row; the table beside says more.
                    label=row.backend
                    if names.count(row.backend) == 1
                    else f"{row.backend} · {how_text(row.variant)}",
                    ratio=s.ratio,
                    low=low,
                    high=high,
                    accuracies=[]
                    if steps_only
                    else [100 * r.metrics.test_accuracy for r in row.members],
                    reference=100 * min(references) if references else None,
                )
            )
        if not any(line.ratio is not None or line.accuracies for line in lines):
            continue  # neither timed nor compared: nothing to show
        path = out_dir / f"glance-{slug(dataclasses.astuple(c.group))}.png"
        written.append((c.group, glance(lines, colours, path)))
    return written


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
    stepped = [row for row in table if row.figures.step_s]
    bars = [
        Bar(
            backend=row.backend,
            label=f"{row.backend} · {short_label(row.variant)}",
            median=fit.median,
            p10=fit.p10,
            p90=fit.p90,
            images_per_s=row.train_images_per_s,
        )
        for row in stepped
        if (fit := row.figures.fit_s)
    ]
    written = []
    if bars:
        path = training_times(bars, out_dir / "training-times.png")
        written.append(
            (
                "Training time (fit() less its evaluations) and steady throughput per row",
                path,
            )
        )
    if stepped:
        steps = [
            StepBox(
                backend=row.backend,
                label=f"{row.backend} · {short_label(row.variant)}",
                samples=row.figures.steady_steps,
            )
            for row in stepped
        ]
        path = step_times(steps, out_dir / "step-times.png")
        written.append(("Steady training step times per row (warm-up steps left out)", path))
    return written


def accuracy_bands(found: list[TimeToTarget], colours: dict[str, str], path: Path) -> Path:
    """Test accuracy after each epoch, one band per row (lowest to highest of its seeds)
    around its mean, and the target as a horizontal line. Untitled: the report's caption
    names its comparison."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=FIGURE_DPI)
    names = [t.row.backend for t in found]
    for t in found:
        label = str(t.row.backend)
        if names.count(t.row.backend) > 1:
            label += f" · {how_text(t.row.variant)}"
        epochs = range(1, len(t.band.mean) + 1)
        colour = colours[t.row.backend]
        low, high = [100 * a for a in t.band.low], [100 * a for a in t.band.high]
        ax.fill_between(epochs, low, high, color=colour, alpha=0.25, linewidth=0)
        mean = [100 * a for a in t.band.mean]
        ax.plot(epochs, mean, color=colour, marker="o", markersize=3, label=label)
    for target in sorted({t.target for t in found if t.target is not None}):
        ax.axhline(100 * target, color="#888", linestyle="--", linewidth=1)
        ax.annotate(
            f"target {100 * target:.2f} %",
            (0, 100 * target),
            xycoords=("axes fraction", "data"),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=7,
            color="#666",
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)\nline: mean, band: lowest to highest seed")
    ax.legend()
    ax.grid(True, alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return path


def drift_curves(found: list[Drift], path: Path) -> Path:
    """Two panels, a line per pair of runs of one seed: the share of test images given
    different classes per epoch, and the distance of the weights' sketches; one colour per
    pair of backends, the one-ulp controls dashed. Untitled: the report's caption names
    its comparison group."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=FIGURE_DPI)
    pairs = sorted({d.backends for d in found})
    for d in found:
        colour = f"C{pairs.index(d.backends)}"
        style = "--" if d.control else "-"
        label = " vs ".join(d.backends) + (" (one-ulp control)" if d.control else "")
        first = next(x for x in found if x.backends == d.backends) is d
        for ax, curve in ((left, [100 * x for x in d.disagreement]), (right, d.distance)):
            ax.plot(
                range(1, len(curve) + 1),
                curve,
                color=colour,
                linestyle=style,
                marker="o",
                markersize=3,
                alpha=0.8,
                label=label if first else None,
            )
    left.set_ylabel("test images given different classes (%)")
    right.set_ylabel("weight distance (sketch)")
    from matplotlib.ticker import MaxNLocator

    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return path


def plot_bands(
    found: list[Comparison], targets: list[TimeToTarget], colours: dict[str, str], out_dir: Path
) -> list[tuple[Group, Path]]:
    """One PNG per comparison whose rows evaluated two epochs or more (`accuracy_bands`),
    its rows as ranked."""
    written = []
    for c in found:
        bands = [t for row in c.ranked for t in targets if t.row == row]
        if not bands or max(len(t.band.mean) for t in bands) < 2:
            continue
        path = out_dir / f"accuracy-per-epoch-{slug(dataclasses.astuple(c.group))}.png"
        written.append((c.group, accuracy_bands(bands, colours, path)))
    return written


def plot_drift(found: list[Drift], out_dir: Path) -> list[tuple[Group, Path]]:
    """One PNG per comparison group with pairs of runs of one seed (`drift_curves`)."""
    written = []
    for key, members in sorted(by(found, lambda d: d.group).items()):
        path = out_dir / f"drift-{slug(dataclasses.astuple(key))}.png"
        written.append((key, drift_curves(members, path)))
    return written


@dataclass(frozen=True)
class Plots:
    """A report's pictures: a glance per comparison, the loss curves per comparison
    group, the speed figures with their captions, the test accuracy per epoch per
    comparison and the drift apart per comparison group."""

    glances: dict[Group, Path]
    curves: list[tuple[Group, Path]]
    speed: list[tuple[str, Path]]
    bands: list[tuple[Group, Path]]
    drift: list[tuple[Group, Path]]

    @property
    def paths(self) -> list[Path]:
        """In the order the report shows them."""
        return [
            *self.glances.values(),
            *(path for _, path in self.speed),
            *(path for _, path in self.curves),
            *(path for _, path in self.bands),
            *(path for _, path in self.drift),
        ]


def plot_all(s: Summary, out_dir: Path) -> Plots:
    """Every picture of the report of `s`, written into `out_dir`."""
    colours = backend_colours(row.backend for row in s.rows)
    return Plots(
        glances=dict(plot_glances(s.comparisons, colours, out_dir)),
        curves=plot_curves(s.shown.runs, out_dir),
        speed=plot_speed(s.rows, out_dir),
        bands=plot_bands(s.comparisons, s.time_to_target, colours, out_dir),
        drift=plot_drift(s.drift, out_dir),
    )
