"""Time to target as MLPerf Training scores it, with literal numbers."""

from __future__ import annotations

import math

import pytest

from harness.summary import grouping, stats
from harness.summary.target import (
    TIME_MARGIN,
    band,
    mlperf_score,
    time_equivalence,
    time_to_target,
)
from tests.factories import make_result


def test_five_runs_drop_the_fastest_and_the_slowest():
    score = mlperf_score([300.0, 100.0, 200.0, 500.0, 400.0])
    assert score.seconds == pytest.approx(300.0)  # mean of 200, 300, 400
    assert not score.provisional and score.why_invalid is None and score.reached == 5


def test_one_run_that_never_reaches_counts_as_the_slowest():
    score = mlperf_score([300.0, 100.0, None, 500.0, 400.0])
    assert score.seconds == pytest.approx(400.0)  # mean of 300, 400, 500: None dropped
    assert score.reached == 4 and score.why_invalid is None


def test_two_runs_that_never_reach_make_the_score_invalid():
    score = mlperf_score([300.0, None, 200.0, None, 400.0])
    assert score.seconds is None
    assert score.why_invalid == "2 of 5 runs never reached the target"


def test_fewer_than_five_runs_give_a_provisional_score():
    three = mlperf_score([30.0, 10.0, 20.0])
    assert three.seconds == pytest.approx(20.0) and three.provisional
    assert mlperf_score([10.0, 20.0]).seconds == pytest.approx(15.0)
    assert mlperf_score([10.0, 20.0]).provisional
    never = mlperf_score([10.0, None])
    assert never.seconds is None and "too few runs drop it" in never.why_invalid
    assert mlperf_score([]).why_invalid == "no run evaluated its epochs"


def test_the_band_is_lowest_mean_and_highest_over_the_runs_that_trained_the_epoch():
    b = band([[0.9, 0.95, 0.97], [0.8, 0.99]])
    assert b.low == [0.8, 0.95, 0.97]
    assert b.mean == pytest.approx([0.85, 0.97, 0.97])
    assert b.high == [0.9, 0.99, 0.97]


def test_each_row_is_scored_over_its_seeds_with_the_epoch_each_got_there():
    epochs_s = (10.0, 10.0, 10.0, 10.0)
    runs = [
        make_result(seed=1, epochs_s=epochs_s, epoch_accuracy=(0.9, 0.97, 0.98, 0.99)),
        make_result(seed=2, epochs_s=epochs_s, epoch_accuracy=(0.9, 0.98, 0.99, 0.99)),
        make_result(seed=3, epochs_s=epochs_s, epoch_accuracy=(0.9, 0.9, 0.9, 0.97)),
        make_result(seed=1, backend="torch", epoch_accuracy=()),  # a speed-like run
    ]
    found = time_to_target(grouping.rows(runs))
    assert len(found) == 1
    t = found[0]
    assert t.row.backend == "tensorflow" and t.target == 0.98
    assert [(x.seed, x.epoch, x.seconds) for x in t.runs] == [
        (1, 3, 30.0),
        (2, 2, 20.0),
        (3, None, None),
    ]
    assert t.score.seconds == pytest.approx(30.0) and t.score.provisional
    assert t.band.high == [0.9, 0.98, 0.99, 0.99]


def test_two_rows_times_to_target_are_judged_as_a_ratio_over_the_seeds_both_reached():
    def runs(backend, firsts, reached=(0.99, 0.99)):
        return [
            make_result(backend=backend, seed=seed, epochs_s=(first, 10.0), epoch_accuracy=reached)
            for seed, first in firsts
        ]

    # tensorflow 20.4, 19.8, 20.6 s against torch's 20 s: ratios 1.02, 0.99, 1.03, logs
    # 0.019803, -0.010050, 0.029559, mean 0.013104, sd 0.020637, half-width
    # 2.919986 * 0.020637 / sqrt 3 = 0.034791, inside log 1.1 = 0.095310 on both sides
    table = grouping.rows(
        runs("tensorflow", [(1, 20.4), (2, 19.8), (3, 20.6), (4, 20.0)])
        + runs("torch", [(1, 20.0), (2, 20.0), (3, 20.0)])
        + runs("torch", [(4, 20.0)], reached=(0.9, 0.9))  # never: seed 4 is left out
    )
    [found] = time_equivalence(time_to_target(table))
    assert found.backends == ("tensorflow", "torch") and found.seeds == [1, 2, 3]
    e = found.equivalence
    assert e.ratio and e.margin == TIME_MARGIN == 0.10 and e.n == 3
    assert e.mean == pytest.approx((1.02 * 0.99 * 1.03) ** (1 / 3))
    assert e.low == pytest.approx(math.exp(0.013104 - 0.034791), rel=1e-4)
    assert e.high == pytest.approx(math.exp(0.013104 + 0.034791), rel=1e-4)
    assert e.verdict == stats.Verdict.EQUIVALENT


def test_a_one_ulp_controls_time_to_target_is_scored_and_never_paired_with_a_backend():
    table = grouping.rows(
        [
            make_result(backend=b, seed=seed, epoch_accuracy=(0.99,) * 4, perturb_init=control)
            for b, control in (("tensorflow", False), ("torch", False), ("tensorflow", True))
            for seed in (1, 2, 3)
        ]
    )
    found = time_to_target(table)
    assert sorted(t.row.backend for t in found) == ["tensorflow", "tensorflow +1ulp", "torch"]
    assert [e.backends for e in time_equivalence(found)] == [("tensorflow", "torch")]


def test_a_row_scored_over_the_runs_that_evaluated_says_how_many_did_not():
    table = grouping.rows(
        [make_result(seed=seed, epoch_accuracy=(0.99,) * 4) for seed in (1, 2, 3)]
        + [make_result(seed=4, epoch_accuracy=())]  # an older record: no epoch evaluated
    )
    [found] = time_to_target(table)
    assert [x.seed for x in found.runs] == [1, 2, 3] and found.unevaluated == 1
    assert found.score.runs == 3
