import math

import pytest

from harness.summary import stats


def differences_with(t: float, n: int) -> list[float]:
    """n paired differences whose t statistic is `t`: deviations of mean 0 and standard
    deviation 1, shifted by t / sqrt(n)."""
    deviations = [i - (n - 1) / 2 for i in range(n)]
    sd = math.sqrt(sum(d * d for d in deviations) / (n - 1))
    return [d / sd + t / math.sqrt(n) for d in deviations]


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [
        (2.0, 2, 1 - 2 / math.sqrt(6)),  # df 2 has a closed form: 1 - |t| / sqrt(t^2 + 2)
        (1.0, 1, 0.5),  # df 1 is Cauchy: 1 - 2 atan(|t|) / pi
        (-1.0, 1, 0.5),
        (2.228, 10, 0.0500),  # the familiar 5 % critical value for 10 degrees of freedom
        (0.0, 5, 1.0),
    ],
)
def test_two_sided_p_values_match_known_values(t, df, p):
    test = stats.paired_t_test(differences_with(t, df + 1), [0.0] * (df + 1))
    assert (test.t, test.df) == (pytest.approx(t), df)
    assert test.p == pytest.approx(p, abs=2e-4)


def test_paired_t_test_with_hand_computed_numbers():
    # differences -0.1, -0.3, -0.2: mean -0.2, sd 0.1, t = -0.2 / (0.1 / sqrt 3)
    test = stats.paired_t_test([1.0, 2.0, 3.0], [1.1, 2.3, 3.2])
    assert test.kind == "paired" and test.n == 3 and test.df == 2
    assert test.t == pytest.approx(-2 * math.sqrt(3))
    assert test.p == pytest.approx(1 - 2 * math.sqrt(3) / math.sqrt(12 + 2))


def test_welch_t_test_with_hand_computed_numbers():
    # a: mean 2.5, var 5/3; b: mean 4.6, var 7.3; se^2 = 5/12 + 1.46
    test = stats.welch_t_test([1, 2, 3, 4], [2, 3, 4, 5, 9])
    assert test.mean_difference == pytest.approx(-2.1)
    assert test.t == pytest.approx(-2.1 / math.sqrt(5 / 12 + 1.46))
    assert test.df == pytest.approx((5 / 12 + 1.46) ** 2 / ((5 / 12) ** 2 / 3 + 1.46**2 / 4))
    assert test.p == pytest.approx(0.1765, abs=1e-3)


def test_identical_differences_and_too_few_samples():
    assert stats.paired_t_test([1, 2, 3], [1, 2, 3]).p == 1.0
    assert stats.paired_t_test([1, 2, 3], [0, 1, 2]).p == 0.0
    assert stats.paired_t_test([1], [2]) is None
    assert stats.welch_t_test([1], [2, 3]) is None
    with pytest.raises(ValueError, match="same length"):
        stats.paired_t_test([1, 2], [1])


def test_spread_uses_linear_percentiles_and_flags_wide_ones():
    s = stats.spread([1.0, 2.0, 3.0, 4.0, 10.0])
    # numpy.percentile([1, 2, 3, 4, 10], [10, 50, 90]) = 1.4, 3, 7.6
    assert (s.n, s.median) == (5, 3.0)
    assert s.p10 == pytest.approx(1.4) and s.p90 == pytest.approx(7.6)
    assert s.relative == pytest.approx(6.2 / 3) and s.noisy
    steady = stats.spread([10.0, 10.1, 10.2, 10.3])
    assert not steady.noisy and steady.relative < stats.NOISY_SPREAD


def test_spread_of_one_sample_is_that_sample_and_of_none_is_none():
    one = stats.spread([2.5])
    assert (one.n, one.median, one.p10, one.p90) == (1, 2.5, 2.5, 2.5)
    assert stats.spread([]) is None


@pytest.mark.parametrize(("df", "t"), [(1, 12.7062), (4, 2.7764), (9, 2.2622), (30, 2.0423)])
def test_t_quantile_matches_the_tables(df, t):
    assert stats.t_quantile(0.95, df) == pytest.approx(t, abs=1e-4)


def test_ratio_interval_is_a_t_interval_on_the_logs_with_literal_numbers():
    # logs of 2, 4, 8 are 1, 2, 3 times ln 2: mean 2 ln 2 (geomean 4), sd ln 2
    r = stats.ratio_interval([2.0, 4.0, 8.0])
    half = 4.302653 * math.log(2) / math.sqrt(3)  # t(0.975, 2) = 4.3027
    assert (r.n, r.geomean) == (3, pytest.approx(4.0))
    assert r.low == pytest.approx(4 * math.exp(-half), rel=1e-6)
    assert r.high == pytest.approx(4 * math.exp(half), rel=1e-6)
    assert not r.excludes_one  # 0.72 to 22: three ratios this far apart tell nothing


def test_a_ratio_interval_that_holds_one_is_no_difference_and_one_ratio_is_no_interval():
    assert not stats.ratio_interval([0.9, 1.1, 1.0]).excludes_one
    assert stats.ratio_interval([0.95, 0.96, 0.94, 0.95]).excludes_one
    assert stats.ratio_interval([1.2]) is None


def test_equivalence_within_the_margin_with_literal_numbers():
    # differences 0.02, -0.03, 0.05, 0, 0.01 points: mean 0.01, sd sqrt(8.5e-4) = 0.029155,
    # t(0.95, 4) = 2.131847, half-width 0.027796 (scipy's ttest_1samp(...).confidence_interval
    # (0.90) gives the same); the upper one-sided test's t = -0.09 / 0.013038 = -6.90, p 0.00116
    e = stats.equivalence([98.96, 98.91, 98.99, 98.94, 98.95], [98.94] * 5, margin=0.1)
    assert (e.n, e.mean, e.margin) == (5, pytest.approx(0.01, abs=1e-9), 0.1)
    assert e.low == pytest.approx(-0.017796, abs=1e-6)
    assert e.high == pytest.approx(0.037796, abs=1e-6)
    assert e.p == pytest.approx(0.001155, abs=1e-6)
    assert e.verdict == stats.Verdict.EQUIVALENT and not e.beyond_noise
    assert e.seeds_needed is None


def test_a_difference_beyond_noise_and_outside_the_margin_is_different():
    # differences 0.2, 0.25, 0.3: mean 0.25, se 0.05 / sqrt 3 = 0.028868; 90 %: t(0.95, 2)
    # = 2.919986, 0.165707 to 0.334293; 95 %: t(0.975, 2) = 4.302653, 0.1258 to 0.3742
    e = stats.equivalence([0.2, 0.25, 0.3], [0.0, 0.0, 0.0], margin=0.1)
    assert (e.low, e.high) == (pytest.approx(0.165707, abs=1e-6), pytest.approx(0.334293, abs=1e-6))
    assert e.beyond_noise and e.verdict == stats.Verdict.DIFFERENT
    assert e.seeds_needed is None


def test_a_small_difference_measured_precisely_is_equivalent_though_beyond_noise():
    e = stats.equivalence([0.05, 0.05001, 0.04999], [0.0, 0.0, 0.0], margin=0.1)
    assert e.beyond_noise and e.verdict == stats.Verdict.EQUIVALENT


def test_undecided_says_how_many_seeds_would_decide_at_the_noise_observed():
    # differences 0.04, -0.02: mean 0.01, sd 0.042426; room inside the margin 0.09. Two
    # seeds: t(0.95, 1) = 6.313752, half-width 0.1894; three: t(0.95, 2) = 2.919986,
    # 2.919986 * 0.042426 / sqrt 3 = 0.0715 < 0.09
    e = stats.equivalence([0.04, -0.02], [0.0, 0.0], margin=0.1)
    assert e.low == pytest.approx(0.01 - 0.189413, abs=1e-6)
    assert e.verdict == stats.Verdict.UNDECIDED and not e.beyond_noise
    assert e.seeds_needed == 3 and e.mean_within_margin


def test_undecided_with_the_mean_beyond_the_margin_has_no_number_of_seeds():
    # mean 0.1333 > 0.1; the 95 % interval (se 0.1202, t 4.3027) holds 0
    e = stats.equivalence([0.3, -0.1, 0.2], [0.0, 0.0, 0.0], margin=0.1)
    assert e.verdict == stats.Verdict.UNDECIDED
    assert e.seeds_needed is None and not e.mean_within_margin


def test_identical_differences_and_too_few_pairs_for_equivalence():
    same = stats.equivalence([99.0, 98.9], [99.0, 98.9], margin=0.1)
    assert (same.low, same.high, same.p, same.verdict) == (0, 0, 0, stats.Verdict.EQUIVALENT)
    apart = stats.equivalence([1.5, 2.5], [1.25, 2.25], margin=0.1)  # both 0.25, exactly
    assert apart.verdict == stats.Verdict.DIFFERENT and apart.p == 1
    assert stats.equivalence([99.0], [98.9], margin=0.1) is None
    with pytest.raises(ValueError, match="same length"):
        stats.equivalence([1.0, 2.0], [1.0], margin=0.1)


def test_equivalence_of_ratios_is_tost_on_the_logs_with_literal_numbers():
    # logs 0.02, -0.02, 0.03: mean 0.01, sd sqrt(7e-4) = 0.026458, half-width
    # 2.919986 * 0.026458 / sqrt 3 = 0.044604; the margin: log 1.1 = 0.095310
    a = [math.exp(0.02), math.exp(-0.02), math.exp(0.03)]
    e = stats.equivalence_of_ratios(a, [1.0, 1.0, 1.0])
    assert e.ratio and e.margin == 0.10 and e.n == 3
    assert e.mean == pytest.approx(math.exp(0.01))
    assert e.low == pytest.approx(math.exp(0.01 - 0.044604), rel=1e-6)
    assert e.high == pytest.approx(math.exp(0.01 + 0.044604), rel=1e-6)
    assert e.verdict == stats.Verdict.EQUIVALENT
    # b over a is judged alike: the reciprocal ratio, the same p
    back = stats.equivalence_of_ratios([1.0, 1.0, 1.0], a)
    assert back.mean == pytest.approx(1 / e.mean) and back.p == pytest.approx(e.p)


def test_undecided_ratios_count_the_seeds_that_would_decide():
    # times 1.1, 1.0, 1.2 against 1: mean log 0.092544, 0.002766 inside log 1.1, sd of the
    # logs 0.091192; the normal quantile's (1.644854 * 0.091192 / 0.002766)^2 = 2,941 is a
    # floor, t's quantile at that many seeds asks two more
    e = stats.equivalence_of_ratios([1.1, 1.0, 1.2], [1.0, 1.0, 1.0], margin=0.10)
    assert e.verdict == stats.Verdict.UNDECIDED and e.mean_within_margin
    assert e.seeds_needed == 2943
    with pytest.raises(ValueError, match="positive"):
        stats.equivalence_of_ratios([1.0, 0.0], [1.0, 1.0])
