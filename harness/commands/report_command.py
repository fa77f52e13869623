"""`python -m harness report`: REPORT.md, report.html, summary.csv and the plots rebuilt
from a results folder's records, without training."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.commands import interrupts, options
from harness.report import render
from harness.summary import build as summary
from harness.summary.comparisons import DEFAULT_MARGIN


def write(
    results_dir: Path, everything: bool = False, margin: float = DEFAULT_MARGIN
) -> list[Path]:
    """The report of `results_dir`'s records (`everything`: every result, not only each
    cell's latest; `margin`: of equivalence, in points), summarised, then rendered into
    the folder; its files' paths."""
    return render.write_report(summary.build(results_dir, everything, margin), results_dir)


def current(results_dir: Path) -> tuple[int, int] | None:
    """Which REPORT.md the folder holds now (a new report is a new file), or None."""
    try:
        st = os.stat(Path(results_dir) / "REPORT.md")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def interrupted(
    e: KeyboardInterrupt, results_dir: Path, before: tuple[int, int] | None, kept: str = ""
) -> int:
    """The end of a command stopped while it wrote the report, which is written whole or
    not at all (`before`: the report it had, by `current`); `kept`: what else it left,
    said first."""
    left = (
        "the new report was written whole first"
        if current(results_dir) != before
        else "no file of the report was changed"
    )
    return interrupts.said(e, f"while writing the report; {kept}{left} in {results_dir}")


def main(args: argparse.Namespace) -> int:
    options.writable(args.results, create=False)
    before = current(args.results)
    try:
        paths = write(args.results, everything=args.all, margin=args.margin)
    except KeyboardInterrupt as e:
        return interrupted(e, args.results, before)
    for path in paths:
        print(f"report: {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild REPORT.md and summary.csv from result files")
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument(
        "--all",
        action="store_true",
        help="every result; by default each cell shows the results of the latest run of it",
    )
    options.margin_option(p)
    p.set_defaults(func=main)
