"""Statistics as pure functions of plain numbers (no numpy, no framework)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def t_quantile(confidence: float, df: float) -> float:
    """The t such that P(|T| <= t) = `confidence` for Student's t with `df` degrees of
    freedom (bisection on `t_two_sided_p`, to 1e-10)."""
    lo, hi = 0.0, 1.0
    while t_two_sided_p(hi, df) > 1 - confidence:
        hi *= 2
    while hi - lo > 1e-10:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_two_sided_p(mid, df) > 1 - confidence else (lo, mid)
    return (lo + hi) / 2


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


def _t_test(kind: str, n: int, mean: float, standard_error: float, df: float) -> TTest:
    if standard_error == 0:
        # Every difference is the same: certain if it is not zero, no evidence if it is.
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        return TTest(kind, n, mean, t, df, 1.0 if mean == 0 else 0.0)
    t = mean / standard_error
    return TTest(kind, n, mean, t, df, t_two_sided_p(t, df))


def paired_t_test(a: list[float], b: list[float]) -> TTest | None:
    """Two-sided paired t-test of a - b; None with fewer than two pairs."""
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    if n < 2:
        return None
    se = statistics.stdev(diffs) / math.sqrt(n)
    return _t_test("paired", n, statistics.mean(diffs), se, n - 1)


def welch_t_test(a: list[float], b: list[float]) -> TTest | None:
    """Two-sided Welch t-test (unequal variances); None unless both have two or more."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    mean = statistics.mean(a) - statistics.mean(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb else math.inf
    return _t_test("welch", min(len(a), len(b)), mean, math.sqrt(va + vb), df)


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
