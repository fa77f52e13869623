"""The report's time to target (MLPerf's score per row, the epoch each seed got there,
each pair of backends' ratio judged against ±10 %, the test accuracy per epoch plotted)
and how fast identical starts drift apart, beside the one-ulp control (plotted too)."""

from __future__ import annotations

from pathlib import Path

from harness.report.text import (
    difference_text,
    drift_text,
    group_text,
    literal,
    plural,
    verdict_text,
)
from harness.summary.build import Summary
from harness.summary.grouping import Group
from harness.summary.target import MLPERF_RUNS, TIME_MARGIN, TimeEquivalence


def _reached(epoch: int | None, seconds: float | None) -> str:
    return "never" if epoch is None or seconds is None else f"epoch {epoch} ({seconds:.0f} s)"


def _equivalence_sentences(pairs: list[TimeEquivalence]) -> list[str]:
    """Each pair of backends' ratio of times to target over the seeds both reached it in."""
    out = []
    for p in pairs:
        e, which = p.equivalence, literal(" / ".join(p.backends))
        if e is None:
            out.append(
                f"{which}: time to target not compared, {plural(len(p.seeds), 'seed')} "
                "reached the target on both (two are needed)."
            )
        else:
            out.append(
                f"{which}: {difference_text(e)} time to target over "
                f"{plural(e.n, 'paired seed')}: {verdict_text(e)}."
            )
    return out


def _figures(alt: str, caption: str, plots: list[tuple[Group, Path]]) -> list[str]:
    out = []
    for key, path in plots:
        out += [f"{caption}, {literal(group_text(key))}:", "", f"![{alt}]({path.name})", ""]
    return out


def target_sections(
    s: Summary, bands: list[tuple[Group, Path]], drift_plots: list[tuple[Group, Path]]
) -> list[str]:
    """Time to target per row, each pair's ratio and the test accuracy per epoch (`bands`,
    `plots.plot_bands`); drift apart per pair of runs of one seed (`drift_plots`,
    `plots.plot_drift`)."""
    out: list[str] = []
    if s.time_to_target:
        out += [
            "### Time to target",
            "",
            "| Backend | Target (%) | Time to target (s) | Reached | Each seed |",
            "|---|--:|--:|--:|---|",
        ]
        for t in s.time_to_target:
            score = t.score
            seconds = "–" if score.seconds is None else f"{score.seconds:.0f}"
            if score.why_invalid:
                seconds += f" (invalid: {score.why_invalid})"
            elif score.provisional:
                seconds += f" (provisional: {score.runs} of {MLPERF_RUNS} runs)"
            if t.unevaluated:
                seconds += (
                    f"; not scored: {plural(t.unevaluated, 'run')} without per-epoch evaluations"
                )
            target = "–" if t.target is None else f"{100 * t.target:.2f}"
            seeds = "; ".join(f"seed {x.seed}: {_reached(x.epoch, x.seconds)}" for x in t.runs)
            out.append(
                f"| {t.row.backend} | {target} | {seconds} | {score.reached} of {score.runs} "
                f"| {seeds} |"
            )
        out += [
            "",
            "Time to target as MLPerf Training scores it: the seconds from the start of "
            "`fit()` to the end of the first per-epoch evaluation of the full test set "
            "that reached the target, over the row's runs without the fastest and the "
            "slowest (a run that never reached it counts as the slowest; two make the row "
            f"invalid; MLPerf asks {MLPERF_RUNS} runs).",
            "",
        ]
        if s.time_equivalence:
            out += [
                "Each pair of backends' times to target, paired by seed over the seeds both "
                "reached it in: the geometric mean of their ratio with its 90 % interval, and "
                f"two one-sided tests against ±{100 * TIME_MARGIN:g} %.",
                "",
                *(f"- {line}" for line in _equivalence_sentences(s.time_equivalence)),
                "",
            ]
        out += _figures(
            "test accuracy per epoch",
            "Test accuracy per epoch (each row's seeds as a band from lowest to highest, "
            "their mean as a line; the target dashed)",
            bands,
        )
    if s.drift:
        out += [
            "### Drift apart",
            "",
            "| Comparison | Seed | Runs | Different classes, last epoch (%) "
            "| Weight distance (sketch), last epoch |",
            "|---|--:|---|--:|--:|",
        ]
        for d in s.drift:
            kind = " (one-ulp control)" if d.control else ""
            out.append(
                f"| {group_text(d.group)} | {d.seed} | {d.backends[0]} vs {d.backends[1]}{kind} "
                f"| {100 * d.disagreement[-1]:.2f} | {d.distance[-1]:.3g} |"
            )
        out.append("")
        for v in s.drift_verdicts:
            out += [f"{literal(group_text(v.group))}: {drift_text(v, literal)}.", ""]
        out += _figures(
            "drift apart",
            "Drift apart per epoch, each pair of runs of one seed (the one-ulp controls dashed)",
            drift_plots,
        )
    return out
