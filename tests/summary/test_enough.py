"""When interleaved rounds have measured enough (harness.summary.enough)."""

import pytest

from harness.summary.enough import narrow, ratios
from harness.summary.stats import RatioInterval
from tests.factories import make_result


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


def test_each_pair_of_rows_is_one_ratio_though_the_report_compares_it_twice():
    # Keras 3 on TensorFlow, its anchor (TensorFlow alone, the fastest) and a tuned row,
    # two rounds: Keras 3 over its anchor is also the comparison's row over the fastest
    runs = [
        make_result(round=k, invocation="i1", epochs_s=(20.0 * f,) * 4, **kwargs)
        for k in (1, 2)
        for f, kwargs in [
            (1.0, {}),
            (0.8, {"impl": "native", "anchor_of": "tensorflow"}),
            (1.1, {"tuning": (("malloc", "no mmap"),)}),
        ]
    ]
    assert sorted(r.what for r in ratios(runs)) == [
        "tensorflow / tensorflow native",
        "tensorflow tuned, malloc=no mmap / tensorflow",
        "tensorflow tuned, malloc=no mmap / tensorflow native",
    ]
