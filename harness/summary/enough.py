"""Whether interleaved rounds have measured enough (`run --rounds auto`): every speed
ratio the report compares (each row's steady step over its comparison's fastest row's,
a tuned row's over its default's, Keras 3's over its anchor's), paired by round, has a
95 % interval within ±`width` of its geometric mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.record.results import RunResult
from harness.summary.comparisons import anchors, comparisons, tuned
from harness.summary.grouping import Row, rows
from harness.summary.stats import RatioInterval


@dataclass(frozen=True)
class Ratio:
    """One compared ratio: which rows, and its interval (None before two rounds)."""

    what: str
    interval: RatioInterval | None


def narrow(interval: RatioInterval | None, width: float) -> bool:
    """Whether `interval` lies within ±width of its geometric mean."""
    return (
        interval is not None
        and interval.high <= interval.geomean * (1 + width)
        and interval.low >= interval.geomean * (1 - width)
    )


def _name(row: Row) -> str:
    tuning = f", {row.variant.tuning}" if row.variant.tuning else ""
    return f"{row.backend}{tuning}"


def ratios(runs: list[RunResult]) -> list[Ratio]:
    """Every speed ratio of `runs` that the report compares, each pair of rows once (a
    Keras 3 row over its anchor is also, where the anchor is the fastest, its comparison's
    row over the fastest)."""
    table = rows(runs)
    pairs: list[tuple[Row, Row, RatioInterval | None]] = []
    for c in comparisons(table, [], [], []):
        pairs += [
            (row, c.ranked[0], speed.interval)
            for row, speed in zip(c.ranked[1:], c.speeds[1:], strict=True)
        ]
    pairs += [(t.tuned, t.default, t.speed.interval) for t in tuned(table)]
    pairs += [(a.keras, a.anchor, a.speed.interval) for a in anchors(table, [])]
    out, seen = [], set()
    for a, b, interval in pairs:
        if (key := frozenset((a.variant, b.variant))) not in seen:
            seen.add(key)
            out.append(Ratio(f"{_name(a)} / {_name(b)}", interval))
    return out


def wide(runs: list[RunResult], width: float) -> list[Ratio]:
    """The compared ratios of `runs` whose interval is not yet within ±width."""
    return [r for r in ratios(runs) if not narrow(r.interval, width)]
