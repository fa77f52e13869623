"""Records grouped into rows (harness/summary/grouping.py): one a backend and variant,
with means, spreads and medians over its runs."""

import pytest
from conftest import make_result

from harness.summary import comparisons, grouping


def test_runs_of_one_variant_make_one_row_with_mean_spread_and_medians():
    runs = [
        make_result(seed=1, accuracy=0.990, loss=0.030, epochs_s=(30.0, 20.0, 22.0, 19.0)),
        make_result(seed=2, accuracy=0.988, loss=0.034, epochs_s=(32.0, 24.0, 26.0, 25.0)),
    ]
    [row] = grouping.rows(runs)
    assert row.runs == 2 and row.seeds == [1, 2]
    assert row.test_accuracy == pytest.approx(0.989)
    assert row.test_accuracy_std == pytest.approx(0.0014142, rel=1e-4)
    assert row.test_loss == pytest.approx(0.032)
    assert row.median("first_epoch_s") == pytest.approx(31.0)
    # every later epoch of both runs, pooled: 19 20 22 24 25 26, median 23
    assert row.median("steady_epoch_s") == pytest.approx(23.0)
    assert row.figures["steady_epoch_s"].n == 6
    # four equal steps an epoch; each run's first step is its warm-up: 15 steady steps
    # each, 4.75 5 5.5 (7.5 x3) and 6 6.25 6.5 (8 x3), pooled median 6.0
    assert row.figures["step_s"].n == 30 and row.median("step_s") == pytest.approx(6.0)
    assert row.train_images_per_s == pytest.approx(500 / 6.0)
    assert row.median("warmup_s") == pytest.approx(7.75)  # 7.5 and 8.0
    assert row.fit_s == pytest.approx((91.5 + 107.5) / 2)  # epochs + 0.5 s each
    assert row.median("evaluate_s") == 1.5


def test_backends_and_profiles_are_separate_rows():
    runs = [make_result(backend=b) for b in ("torch", "jax", "tensorflow")]
    runs.append(make_result(backend="jax", profile="quick", epochs_s=(9.0,)))
    table = grouping.rows(runs)
    assert sorted((r.backend, r.variant.group.profile) for r in table) == [
        ("jax", "quick"),
        ("jax", "seed"),
        ("tensorflow", "seed"),
        ("torch", "seed"),
    ]
    # one epoch: no steady epoch, but steady steps after the warm-up, so a throughput
    quick = next(r for r in table if r.variant.group.profile == "quick")
    assert quick.median("steady_epoch_s") is None
    assert quick.train_images_per_s == pytest.approx(500 / 2.25)


def test_backends_with_their_own_data_format_are_compared_but_stay_separate_rows():
    tuned = [
        make_result(backend="tensorflow", profile="tuned"),
        make_result(backend="torch", profile="tuned", data_format="channels_first"),
    ]
    points = comparisons.starting_points(tuned)
    assert [p.digests.keys() for p in points] == [{"tensorflow", "torch"}]
    both = [*tuned, make_result(backend="torch", profile="tuned")]
    assert sorted((r.backend, r.variant.data_format) for r in grouping.rows(both)) == [
        ("tensorflow", "channels_last"),
        ("torch", "channels_first"),
        ("torch", "channels_last"),
    ]
