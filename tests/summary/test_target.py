"""Time to target as MLPerf Training scores it, with literal numbers."""

from __future__ import annotations

import pytest

from harness.summary import grouping
from harness.summary.target import band, mlperf_score, time_to_target
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
