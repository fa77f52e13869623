"""`python -m harness compare BASELINE CURRENT`: two sets of result files, side by side,
like asv compare. Each folder is a results folder (holding runs/); runs are matched by
backend and variant, and each metric is marked better, worse or unchanged."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.commands import options
from harness.contract.spec import ConfigError
from harness.record import store
from harness.report import text
from harness.summary import build as summary
from harness.summary import grouping
from harness.summary.comparisons import DEFAULT_MARGIN, accuracy_equivalence
from harness.summary.stats import Equivalence, median_of

# The exit statuses, for CI: a gate must not pass on nothing (an empty baseline, or two
# folders of different models), so that is a status of its own.
EXIT_STATUSES = {
    0: "nothing got worse",
    1: "something got worse, or a cell's latest run in CURRENT failed",
    2: "an option or a folder is wrong",
    3: "nothing to compare: no backend and variant has results in both folders",
}
NOTHING_TO_COMPARE = 3

# (name, label, kind, lower is better, its value in a row)
METRICS: tuple[tuple[str, str, str, bool, Callable[[grouping.Row], float | None]], ...] = (
    ("test_accuracy", "test accuracy", "accuracy", False, lambda row: row.test_accuracy),
    ("fit_s", "training, fit() less evaluations (s)", "time", True, lambda row: row.fit_s),
    ("step_s", "steady training step, median (s)", "time", True, lambda row: row.step_s),
    (
        "first_epoch_s", "first epoch (s)", "time", True,
        lambda row: median_of(row.figures.first_epoch_s),
    ),
    (
        "evaluate_s", "evaluation (s)", "time", True,
        lambda row: median_of(row.figures.phases.evaluate_s),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    variant: grouping.Variant
    metric: str
    baseline: float
    current: float
    verdict: str  # "better", "worse" or "unchanged"

    @property
    def ratio(self) -> float:
        return self.current / self.baseline if self.baseline else float("inf")


@dataclass(frozen=True)
class Equivalent:
    """A variant's test accuracy in CURRENT less BASELINE, paired by seed, judged within
    the margin (two or more seeds in both folders)."""

    variant: grouping.Variant
    equivalence: Equivalence


def verdict(
    kind: str, lower_is_better: bool, baseline: float, current: float,
    time_threshold: float, accuracy_points: float,
) -> str:  # fmt: skip
    """A time changes when the ratio leaves 1 +- time_threshold; an accuracy when it moves
    by more than `accuracy_points` percentage points."""
    if kind == "accuracy":
        moved = 100 * (current - baseline)
        changed = abs(moved) > accuracy_points
    else:
        moved = current - baseline
        changed = baseline > 0 and abs(current / baseline - 1) > time_threshold
    if not changed:
        return "unchanged"
    return "better" if (moved < 0) == lower_is_better else "worse"


def _rows(results_dir: Path) -> tuple[dict[grouping.Variant, grouping.Row], list[str], list[str]]:
    """The rows of a folder as its report shows them (each cell's latest results), the
    warnings of reading it, and its cells whose latest run failed: those have no row,
    and a variant that now fails must not only look absent."""
    s = summary.build(results_dir)
    failed = [
        f"{r.spec.backend} (seed {r.spec.seed}, profile {r.spec.profile}, {r.spec.model} on "
        f"{r.spec.dataset}): " + r.failure.reason.splitlines()[0]
        for r in s.shown.failures
    ]
    return {row.variant: row for row in s.rows}, s.warnings, failed


def equivalent(
    base: dict[grouping.Variant, grouping.Row],
    cur: dict[grouping.Variant, grouping.Row],
    margin: float = DEFAULT_MARGIN,
) -> list[Equivalent]:
    """Each variant of both folders with two or more seeds in both: its test accuracy in
    `cur` less `base`, paired by seed, judged within ±`margin` points."""
    out = []
    for key in sorted(set(base) & set(cur)):
        _, found = accuracy_equivalence(cur[key].members, base[key].members, margin)
        if found is not None:
            out.append(Equivalent(key, found))
    return out


def compare(
    baseline_dir: Path,
    current_dir: Path,
    time_threshold: float = 0.10,
    accuracy_points: float = 0.3,
    margin: float = DEFAULT_MARGIN,
) -> tuple[
    list[Change], list[Equivalent], list[grouping.Variant], list[grouping.Variant], list[str],
    list[str],
]:  # fmt: skip
    """Changes for variants in both folders, their test accuracies judged within
    ±`margin` points where seeds pair them, variants only in the baseline, only in the
    current folder, warnings about files that could not be read, and the current
    folder's cells whose latest run failed."""
    base, w1, _ = _rows(baseline_dir)
    cur, w2, failed = _rows(current_dir)
    changes = []
    for key in sorted(set(base) & set(cur)):
        for name, _, kind, lower, value in METRICS:
            b, c = value(base[key]), value(cur[key])
            if b is None or c is None:
                continue
            v = verdict(kind, lower, b, c, time_threshold, accuracy_points)
            changes.append(Change(key, name, b, c, v))
    only_base = sorted(set(base) - set(cur))
    only_cur = sorted(set(cur) - set(base))
    return changes, equivalent(base, cur, margin), only_base, only_cur, w1 + w2, failed


def _variant_text(v: grouping.Variant) -> str:
    return f"{v.backend}, " + text.variant_text(v)


def render(
    changes: list[Change],
    same: list[Equivalent],
    only_base: list[grouping.Variant],
    only_cur: list[grouping.Variant],
    failed: list[str],
) -> str:
    labels = {name: label for name, label, *_ in METRICS}
    out = [
        f"{'':10} {'baseline':>12} {'current':>12} {'ratio':>8}  metric, variant",
    ]
    for c in changes:
        mark = {"better": "better", "worse": "WORSE", "unchanged": ""}[c.verdict]
        out.append(
            f"{mark:10} {c.baseline:12.4g} {c.current:12.4g} {c.ratio:8.3f}  "
            f"{labels[c.metric]}, {_variant_text(c.variant)}"
        )
    out += [
        f"test accuracy, current − baseline: {text.difference_text(e.equivalence)} over "
        f"{text.plural(e.equivalence.n, 'paired seed')}: {text.verdict_text(e.equivalence)}; "
        f"{_variant_text(e.variant)}"
        for e in same
    ]
    out += [f"only in baseline: {_variant_text(k)}" for k in only_base]
    out += [f"only in current: {_variant_text(k)}" for k in only_cur]
    out += [f"FAILED in current: {f}" for f in failed]
    if changes:
        worse = sum(c.verdict == "worse" for c in changes)
        out.append(f"{len(changes)} compared: {worse} worse, "
                   f"{sum(c.verdict == 'better' for c in changes)} better")  # fmt: skip
    return "\n".join(out)


def holds(variants: list[grouping.Variant]) -> str:
    """What one side offers to compare, in a few words: its variants' backends by model
    and machine (a variant is one machine's: speed is compared on one machine only)."""
    if not variants:
        return "no successful run"
    models: dict[str, set[str]] = {}
    for v in variants:
        where = f"{v.group.model} on {v.group.dataset}, machine {v.group.machine}"
        models.setdefault(where, set()).add(v.backend)
    each = "; ".join(f"{model}: {', '.join(sorted(b))}" for model, b in sorted(models.items()))
    return f"{text.plural(len(variants), 'variant')} ({each})"


def main(args: argparse.Namespace) -> int:
    for folder in (args.baseline, args.current):
        if not store.runs_dir(folder).is_dir():
            raise ConfigError(f"{folder} is not a results folder: it has no runs/ folder")
    changes, same, only_base, only_cur, warnings, failed = compare(
        args.baseline, args.current, args.time_threshold, args.accuracy_points, args.margin
    )
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(render(changes, same, only_base, only_cur, failed))
    if failed or any(c.verdict == "worse" for c in changes):
        return 1
    if not changes:
        # A variant in both folders always has its test accuracy compared: with no
        # change, each side holds only what the other lacks (listed above).
        print(
            f"error: nothing to compare: {args.baseline} holds {holds(only_base)}, "
            f"{args.current} holds {holds(only_cur)}; no backend and variant (its model, "
            "settings and machine) is in both",
            file=sys.stderr,
        )
        return NOTHING_TO_COMPARE
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two results folders; exit 1 if anything got worse",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status:\n"
        + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_STATUSES.items()),
    )
    p.add_argument("baseline", type=Path, help="results folder (with runs/) to compare with")
    p.add_argument("current", type=Path, help="results folder (with runs/) to judge")
    p.add_argument(
        "--time-threshold",
        type=options.positive_float,
        default=0.10,
        help="a time ratio beyond 1 +- this is a change (default 0.10)",
    )
    p.add_argument(
        "--accuracy-points",
        type=options.positive_float,
        default=0.3,
        help="an accuracy move beyond this many points is a change (default 0.3)",
    )
    options.margin_option(p)
    p.set_defaults(func=main)
