"""Statistics as pure functions of plain numbers: distributions, tests and intervals from
scipy.stats (no framework)."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import scipy.stats


def t_quantile(confidence: float, df: float) -> float:
    """The t such that P(|T| <= t) = `confidence` for Student's t with `df` degrees of
    freedom."""
    return float(scipy.stats.t.ppf(0.5 + confidence / 2, df))


@dataclass(frozen=True)
class RatioInterval:
    """Paired ratios (A/B, one per round) summarised: their geometric mean and its
    confidence interval, a t-interval on the ratios' logarithms."""

    n: int
    geomean: float
    low: float
    high: float

    @property
    def excludes_one(self) -> bool:
        """Whether A and B differ beyond the rounds' noise."""
        return self.low > 1 or self.high < 1


def ratio_interval(ratios: list[float], confidence: float = 0.95) -> RatioInterval | None:
    """The geometric mean of `ratios` with its `confidence` interval; None with fewer
    than two ratios, which give no spread to judge them by."""
    if len(ratios) < 2:
        return None
    logs = [math.log(r) for r in ratios]
    mean, n = statistics.mean(logs), len(logs)
    half = t_quantile(confidence, n - 1) * statistics.stdev(logs) / math.sqrt(n)
    return RatioInterval(n, math.exp(mean), math.exp(mean - half), math.exp(mean + half))


@dataclass(frozen=True)
class TTest:
    kind: str  # "paired" or "welch"
    n: int  # pairs (paired) or the smaller sample (welch)
    mean_difference: float  # a - b
    t: float
    df: float
    p: float


def _identical(kind: str, n: int, mean: float, df: float) -> TTest:
    """Every difference the same, where a t is undefined (scipy's is nan): certain if it
    is not zero, no evidence if it is."""
    t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    return TTest(kind, n, mean, t, df, 1.0 if mean == 0 else 0.0)


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """Two-sided paired t-test of a - b (`scipy.stats.ttest_rel`); None with fewer than
    two pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    if n < 2:
        return None
    mean = statistics.mean(diffs)
    if statistics.stdev(diffs) == 0:
        return _identical("paired", n, mean, n - 1)
    found = scipy.stats.ttest_rel(a, b)
    return TTest("paired", n, mean, float(found.statistic), float(found.df), float(found.pvalue))


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """Two-sided Welch t-test, unequal variances (`scipy.stats.ttest_ind`); None unless
    both have two or more."""
    if len(a) < 2 or len(b) < 2:
        return None
    n, mean = min(len(a), len(b)), statistics.mean(a) - statistics.mean(b)
    if statistics.variance(a) == statistics.variance(b) == 0:
        return _identical("welch", n, mean, math.inf)
    found = scipy.stats.ttest_ind(a, b, equal_var=False)
    return TTest("welch", n, mean, float(found.statistic), float(found.df), float(found.pvalue))


class Verdict(StrEnum):
    """What two one-sided tests say of a difference against its margin."""

    EQUIVALENT = "equivalent"  # the 90 % interval lies inside the margin
    DIFFERENT = "different"  # not equivalent, and the 95 % interval excludes no difference
    UNDECIDED = "undecided"  # neither


# Two one-sided tests at 5 % each: equivalence is shown by the 90 % interval.
EQUIVALENCE_CONFIDENCE = 0.90
# A difference is beyond noise where the two-sided 95 % interval excludes none.
DIFFERENCE_CONFIDENCE = 0.95
# Beyond this many pairs, an undecided comparison is not counted: no campaign runs them.
MAX_SEEDS_NEEDED = 10_000


@dataclass(frozen=True)
class Equivalence:
    """Paired samples a and b (one pair per seed) judged against a margin by two
    one-sided tests (TOST): `mean` is the mean of the differences a - b with its 90 %
    interval (`low`, `high`), `p` the larger of the two one-sided p-values (below 0.05
    exactly where the interval lies inside ±`margin`).

    For ratios (`ratio` True), the tests are made on the logarithms of a / b: `mean`,
    `low` and `high` are then the geometric mean of the ratios and its interval, and
    `margin` is relative (0.10: equivalent where the interval lies within 1/1.1 to 1.1).

    `seeds_needed`, where undecided: the number of pairs at which the 90 % interval, as
    wide as the spread observed makes it, would fit inside the margin around the mean
    observed; None where decided, where no number would (the mean is on or beyond the
    margin: not `mean_within_margin`) and where more than MAX_SEEDS_NEEDED would."""

    n: int
    mean: float
    low: float
    high: float
    margin: float
    p: float
    beyond_noise: bool
    verdict: Verdict
    seeds_needed: int | None
    ratio: bool = False

    @property
    def mean_within_margin(self) -> bool:
        """Whether the mean lies inside the margin, so that enough pairs could show
        equivalence at the spread observed."""
        if self.ratio:
            return abs(math.log(self.mean)) < math.log1p(self.margin)
        return abs(self.mean) < self.margin


def _half_width(confidence: float, sd: float, n: int) -> float:
    return t_quantile(confidence, n - 1) * sd / math.sqrt(n)


def _pairs_needed(sd: float, room: float) -> int | None:
    """The fewest pairs whose 90 % half-width, at standard deviation `sd`, is below
    `room`; None without room, or beyond MAX_SEEDS_NEEDED. The normal quantile's count
    is a floor: t's is larger."""
    if room <= 0:
        return None
    z = float(scipy.stats.norm.ppf(0.5 + EQUIVALENCE_CONFIDENCE / 2))
    n = max(2, math.ceil((z * sd / room) ** 2))
    while n <= MAX_SEEDS_NEEDED:
        if _half_width(EQUIVALENCE_CONFIDENCE, sd, n) < room:
            return n
        n += 1
    return None


def _tost(differences: list[float], margin: float) -> Equivalence | None:
    n = len(differences)
    if n < 2:
        return None
    mean, sd = statistics.mean(differences), statistics.stdev(differences)
    half = _half_width(EQUIVALENCE_CONFIDENCE, sd, n)
    low, high = mean - half, mean + half
    noise = _half_width(DIFFERENCE_CONFIDENCE, sd, n)
    beyond_noise = mean - noise > 0 or mean + noise < 0
    if sd == 0:  # scipy's t is undefined: the interval is the one value
        p = 0.0 if abs(mean) < margin else 1.0
    else:
        above = scipy.stats.ttest_1samp(differences, -margin, alternative="greater").pvalue
        below = scipy.stats.ttest_1samp(differences, margin, alternative="less").pvalue
        p = float(max(above, below))
    if -margin < low and high < margin:
        verdict, needed = Verdict.EQUIVALENT, None
    elif beyond_noise:
        verdict, needed = Verdict.DIFFERENT, None
    else:
        verdict, needed = Verdict.UNDECIDED, _pairs_needed(sd, margin - abs(mean))
    return Equivalence(n, mean, low, high, margin, p, beyond_noise, verdict, needed)


def equivalence(a: Sequence[float], b: Sequence[float], margin: float) -> Equivalence | None:
    """Whether a and b, paired (a[i] with b[i]), are equivalent within ±`margin` (in
    their own unit): the mean of a - b with its 90 % interval and the TOST verdict; None
    with fewer than two pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    return _tost([x - y for x, y in zip(a, b, strict=True)], margin)


def equivalence_of_ratios(
    a: Sequence[float], b: Sequence[float], margin: float = 0.10
) -> Equivalence | None:
    """Whether positive a and b, paired (a[i] with b[i]: two backends' times to target
    for one seed), are equivalent within a relative `margin` (0.10: ±10 %): two one-sided
    tests on the logarithms of a[i] / b[i] against ±log(1 + margin), so that a / b and
    b / a are judged alike. The result's mean, low and high are the geometric mean of
    a / b and its 90 % interval; None with fewer than two pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    if any(x <= 0 for x in [*a, *b]):
        raise ValueError("ratios need positive numbers")
    found = _tost([math.log(x / y) for x, y in zip(a, b, strict=True)], math.log1p(margin))
    if found is None:
        return None
    return dataclasses.replace(
        found, mean=math.exp(found.mean), low=math.exp(found.low), high=math.exp(found.high),
        margin=margin, ratio=True,
    )  # fmt: skip


# A timing whose 10th-90th percentile range exceeds this share of its median is noisy.
NOISY_SPREAD = 0.10


@dataclass(frozen=True)
class Spread:
    """Median and 10th/90th percentiles of timing samples (linear interpolation)."""

    n: int
    median: float
    p10: float
    p90: float

    @property
    def relative(self) -> float:
        """(p90 - p10) / median: the width of the middle 80 % against the median."""
        return (self.p90 - self.p10) / self.median if self.median else math.inf

    @property
    def noisy(self) -> bool:
        return self.relative > NOISY_SPREAD


def median_of(figure: Spread | None) -> float | None:
    return None if figure is None else figure.median


def spread(samples: list[float]) -> Spread | None:
    """None without samples; with one sample every percentile is that sample."""
    if not samples:
        return None
    if len(samples) == 1:
        return Spread(1, samples[0], samples[0], samples[0])
    deciles = statistics.quantiles(samples, n=10, method="inclusive")
    return Spread(len(samples), statistics.median(samples), deciles[0], deciles[-1])


# How far above a guess an accuracy must be to count as learned: in standard errors.
CHANCE_SE = 3


def chance_accuracy(classes: int, n: int) -> float:
    """The highest accuracy on `n` test items that guessing among `classes` equally
    likely ones reaches by luck: the chance rate plus CHANCE_SE binomial standard errors."""
    p = 1 / classes
    return p + CHANCE_SE * math.sqrt(p * (1 - p) / n)
