"""When interleaved rounds have measured enough (harness.summary.enough)."""

import pytest

from harness.summary.enough import narrow
from harness.summary.stats import RatioInterval


@pytest.mark.parametrize(
    ("low", "geomean", "high", "within"),
    [
        (0.96, 1.0, 1.04, True),  # ±4 %
        (1.71, 1.8, 1.89, True),  # ±5 % of 1.8: 1.71 and 1.89
        (0.95, 1.0, 1.06, False),  # 6 % above
        (1.70, 1.8, 1.89, False),  # 5.6 % below
    ],
)
def test_an_interval_is_narrow_within_its_width_of_its_geometric_mean(low, geomean, high, within):
    assert narrow(RatioInterval(3, geomean, low, high), 0.05) is within


def test_no_interval_is_never_narrow():
    assert not narrow(None, 0.5)
