"""Time to target, scored as MLPerf Training scores a system: each run's seconds from the
start of fit() to the end of the first evaluation that reached the target accuracy; over
a row's runs, the fastest and the slowest dropped and the rest averaged. A run that never
reached the target counts as the slowest (so it is the one dropped); two such runs make
the score invalid. MLPerf asks five runs for image classification: with fewer, the score
is provisional. Also each row's test accuracy per epoch over its runs (the band a report
plots), and each pair of backends' times to target, paired by seed, judged equivalent or
not within ±10 % (`stats.equivalence_of_ratios`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from harness.contract.spec import System
from harness.record.results import RunResult
from harness.record.schema import PerEpoch
from harness.summary import stats
from harness.summary.comparisons import backend_runs
from harness.summary.grouping import Group, Row, by

# MLPerf Training's number of runs for image classification.
MLPERF_RUNS = 5


@dataclass(frozen=True)
class Score:
    """MLPerf's score of some runs' times to target (None: never reached)."""

    times: list[float | None]
    seconds: float | None  # None when invalid
    why_invalid: str | None

    @property
    def runs(self) -> int:
        return len(self.times)

    @property
    def provisional(self) -> bool:
        """Fewer runs than MLPerf asks for."""
        return self.runs < MLPERF_RUNS

    @property
    def reached(self) -> int:
        return sum(t is not None for t in self.times)


def mlperf_score(times: list[float | None]) -> Score:
    """The mean of `times` without the fastest and the slowest, a run that never reached
    the target (None) counting as the slowest; invalid with two such runs, and with fewer
    than three runs where one never reached it (it cannot be dropped). With one or two
    runs (nothing to drop) the mean of them."""
    never = sum(t is None for t in times)
    if not times:
        return Score(times, None, "no run evaluated its epochs")
    if never >= 2:
        return Score(times, None, f"{never} of {len(times)} runs never reached the target")
    ordered = sorted(math.inf if t is None else t for t in times)
    if len(ordered) >= 3:
        return Score(times, statistics.mean(ordered[1:-1]), None)
    if never:
        return Score(times, None, "a run never reached the target, and too few runs drop it")
    return Score(times, statistics.mean(ordered), None)


@dataclass(frozen=True)
class Reached:
    """One run's way to its target."""

    seed: int
    epoch: int | None  # the first epoch that reached it, from 1 (None: never)
    seconds: float | None  # since fit() began, at the end of that epoch's evaluation
    stopped: bool  # it ended there (--stop-at-target)


@dataclass(frozen=True)
class Band:
    """A row's test accuracy after each epoch over its runs: lowest, mean and highest of
    the runs that trained that epoch."""

    low: list[float]
    mean: list[float]
    high: list[float]


@dataclass(frozen=True)
class TimeToTarget:
    """One row's time to target over its runs, and its test accuracy per epoch."""

    row: Row
    target: float | None  # None where its runs' targets differ (then no score)
    runs: list[Reached]
    score: Score
    band: Band
    unevaluated: int = 0  # the row's runs that did not evaluate their epochs: not scored


def band(curves: list[list[float]]) -> Band:
    """Lowest, mean and highest of `curves` at each epoch, over the curves that reach it."""
    epochs = max(map(len, curves))
    at = [[c[e] for c in curves if len(c) > e] for e in range(epochs)]
    return Band([min(v) for v in at], [statistics.mean(v) for v in at], [max(v) for v in at])


def _reached(r: RunResult, p: PerEpoch) -> Reached:
    return Reached(r.spec.seed, p.reached_epoch, p.reached_s, p.stopped)


def time_to_target(table: list[Row]) -> list[TimeToTarget]:
    """Each row with runs that evaluated every epoch, scored over those runs (a run of
    another target than its row's others makes the row's score invalid); how many of its
    runs did not evaluate (an older record's, a speed run's) is counted, not scored."""
    out = []
    for row in table:
        runs = [(r, p) for r in row.members if (p := r.metrics.per_epoch) is not None]
        if not runs:
            continue
        targets = {p.target for _, p in runs}
        reached = sorted((_reached(r, p) for r, p in runs), key=lambda x: x.seed)
        score = mlperf_score([x.seconds for x in reached])
        target = next(iter(targets)) if len(targets) == 1 else None
        if target is None:
            why = "its runs' targets differ" if len(targets) > 1 else "its runs have no target"
            score = Score(score.times, None, why)
        curves = band([p.accuracy for _, p in runs])
        out.append(TimeToTarget(row, target, reached, score, curves, row.runs - len(runs)))
    return out


# Two backends' times to target are equivalent where their ratio's 90 % interval lies
# within 1/1.1 to 1.1.
TIME_MARGIN = 0.10


@dataclass(frozen=True)
class TimeEquivalence:
    """Two rows of one comparison group, their times to target paired by seed over the
    seeds both reached it in: the ratio of the first's to the second's with its 90 %
    interval and the two one-sided tests against ±`TIME_MARGIN`; None with fewer than two
    such seeds."""

    group: Group
    backends: tuple[System, System]
    seeds: list[int]
    equivalence: stats.Equivalence | None


def _seconds_by_seed(t: TimeToTarget) -> dict[int, float]:
    """Each seed's time to target, the first run of a seed that reached it."""
    found: dict[int, float] = {}
    for x in t.runs:
        if x.seconds is not None:
            found.setdefault(x.seed, x.seconds)
    return found


def time_equivalence(found: list[TimeToTarget]) -> list[TimeEquivalence]:
    """Every pair of rows of each comparison group that reached a common target, but the
    one-ulp controls' (`comparisons.backend_runs`)."""
    out = []
    scored = [t for t in found if t.target is not None and backend_runs(t.row.members)]
    for key, ts in sorted(by(scored, lambda t: t.row.variant.group).items()):
        ts = sorted(ts, key=lambda t: t.row.backend)
        for i, a in enumerate(ts):
            for b in ts[i + 1 :]:
                if a.target != b.target:
                    continue
                times_a, times_b = _seconds_by_seed(a), _seconds_by_seed(b)
                seeds = sorted(set(times_a) & set(times_b))
                e = stats.equivalence_of_ratios(
                    [times_a[x] for x in seeds], [times_b[x] for x in seeds], TIME_MARGIN
                )
                out.append(TimeEquivalence(key, (a.row.backend, b.row.backend), seeds, e))
    return out
