"""When paired rounds have said enough: the stopping rule of a sequential comparison.
A ratio (A's step over B's, one per round) is decided once its 95 % interval excludes 1
(A is faster, or slower, beyond the rounds' noise) or lies within ±`margin` of 1 (any
difference is too small to matter); until then it is undecided, and more rounds may
decide it. A wide interval is never read as "no difference".

Looking at the interval after every round and stopping at the first decision makes a
false decision likelier than a fixed number of rounds would: with no true difference,
`tune`'s looks after rounds 3 to 12 and log-normal noise of 3, 10 and 20 % a round, a
false "faster" came in 4.6, 9.0 and 9.4 % of 4,000 searches each, against 2.5 % for one
look (benchmarks/tune_stopping.py; the "equivalent" stop ends the quiet ones early).
Waiting for a minimum number of rounds before the first look keeps the widest,
likeliest flukes out; a setting kept this way is worth checking again with `run
--rounds`.
"""

from __future__ import annotations

import enum

from harness.summary.stats import RatioInterval

# ±5 %: below what a speed row's interval resolves on a 2-core machine in a few rounds,
# and below the gains worth a setting (the smallest measured so far: 0.95, channels_first
# on PyTorch).
MARGIN = 0.05


class Decision(enum.StrEnum):
    FASTER = "faster"  # the interval lies below 1
    SLOWER = "slower"  # the interval lies above 1
    EQUIVALENT = "equivalent"  # the interval holds 1 and lies within 1 ± the margin
    UNDECIDED = "undecided"  # none of these yet


def decide(interval: RatioInterval | None, margin: float = MARGIN) -> Decision:
    """What the interval of A/B says about A against B (None: too few rounds)."""
    if interval is None:
        return Decision.UNDECIDED
    if interval.high < 1:
        return Decision.FASTER
    if interval.low > 1:
        return Decision.SLOWER
    if interval.low >= 1 - margin and interval.high <= 1 + margin:
        return Decision.EQUIVALENT
    return Decision.UNDECIDED
