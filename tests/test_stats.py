import math

import pytest

from harness.summary import stats


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
    assert stats.t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)


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
