"""Timing figures of a row from the runs' raw samples (harness/summary/speed.py): warm-up
kept apart, medians and spreads, outliers, throughput and its share of the run's peak."""

import dataclasses

import pytest
from conftest import make_result

from harness.summary import speed


def test_figures_pool_the_runs_and_leave_the_first_epoch_out_of_steady_steps():
    a = make_result(epochs_s=(40.0, 20.0, 24.0))
    b = make_result(epochs_s=(44.0, 22.0, 26.0))
    f = speed.figures([a, b])
    assert f["first_epoch_s"].median == 42.0 and f["first_epoch_s"].n == 2
    assert f["steady_epoch_s"].n == 4 and f["steady_epoch_s"].median == 23.0
    # four steps an epoch, first epochs (10 and 11 s steps) left out
    assert f["step_s"].n == 16 and max(speed.steady_steps(a)) == 6.0
    assert f["predict_1_s"].n == 6 and f["import_s"].n == 2


def test_training_flops_come_from_the_recorded_forward_flops_and_factor():
    r = make_result()
    assert speed.training_flops_per_image(r) is None  # not recorded: no efficiency
    recipe = dataclasses.replace(
        r.recipe, forward_flops_per_image=23_676_040, training_flops_factor=3
    )
    r = dataclasses.replace(r, recipe=recipe)
    assert speed.training_flops_per_image(r) == 71_028_120
    # a batch of 500 images of 71.03 MFLOP in a 0.2 s step
    assert speed.images_per_s(r, 0.2) == pytest.approx(2500)
    assert speed.training_gflops(r, 0.2) == pytest.approx(177.5703)
    assert speed.training_gflops(r, None) is None
