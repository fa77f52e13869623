"""The stopping rule of paired rounds, with literal intervals."""

import pytest

from harness.summary.decision import Decision, decide
from harness.summary.stats import RatioInterval


@pytest.mark.parametrize(
    ("low", "high", "decision"),
    [
        (0.90, 0.99, Decision.FASTER),
        (0.97, 0.99, Decision.FASTER),  # below 1 first, even within the margin
        (1.01, 1.20, Decision.SLOWER),
        (0.96, 1.04, Decision.EQUIVALENT),
        (0.95, 1.05, Decision.EQUIVALENT),
        (0.94, 1.02, Decision.UNDECIDED),  # reaches below 1 - 5 %
        (0.78, 1.42, Decision.UNDECIDED),  # channels_first on PyTorch, three rounds
    ],
)
def test_an_interval_decides_when_it_excludes_one_or_lies_within_the_margin(low, high, decision):
    assert decide(RatioInterval(5, (low * high) ** 0.5, low, high)) == decision


def test_too_few_rounds_decide_nothing_and_the_margin_is_a_parameter():
    assert decide(None) == Decision.UNDECIDED
    wide = RatioInterval(5, 1.0, 0.92, 1.07)
    assert decide(wide) == Decision.UNDECIDED and decide(wide, margin=0.1) == Decision.EQUIVALENT
