"""`python -m harness report`: REPORT.md, report.html, summary.csv and the plots rebuilt
from a results folder's records, without training."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import options
from harness.report import render


def main(args: argparse.Namespace) -> int:
    options.writable(args.results, create=False)
    for path in render.write_report(args.results, everything=args.all):
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
    p.set_defaults(func=main)
