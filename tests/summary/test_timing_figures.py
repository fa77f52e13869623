"""Timing figures of a row from the runs' raw samples (harness/summary/timing_figures.py): warm-up
kept apart, medians and spreads, outliers, throughput and its share of the run's peak."""

import dataclasses
import json

import pytest

from harness.record import results, store
from harness.record.schema import PHASES
from harness.summary import timing_figures
from harness.summary.build import build
from harness.summary.stats import Spread, median_of
from tests.factories import make_ops, make_result


def test_figures_pool_the_runs_and_leave_the_first_epoch_out_of_steady_steps():
    a = make_result(epochs_s=(40.0, 20.0, 24.0))
    b = make_result(epochs_s=(44.0, 22.0, 26.0))
    f = timing_figures.figures([a, b])
    assert f.first_epoch_s.median == 42.0 and f.first_epoch_s.n == 2
    assert f.steady_epoch_s.n == 4 and f.steady_epoch_s.median == 23.0
    # four steps an epoch, first epochs (10 and 11 s steps) left out
    assert f.step_s.n == 16 and max(timing_figures.steady_steps(a)) == 6.0
    assert f.latency_s[1].n == 6 and f.phases.import_s.n == 2


def test_a_rows_phases_are_the_records_phases_in_their_order():
    assert [f.name for f in dataclasses.fields(timing_figures.Phases)] == list(PHASES)


def test_training_flops_come_from_the_recorded_forward_flops_and_factor():
    r = make_result()
    assert timing_figures.training_flops_per_image(r) is None  # not recorded: no efficiency
    recipe = dataclasses.replace(
        r.recipe, forward_flops_per_image=23_676_040, training_flops_factor=3
    )
    r = dataclasses.replace(r, recipe=recipe)
    assert timing_figures.training_flops_per_image(r) == 71_028_120
    # a batch of 500 images of 71.03 MFLOP in a 0.2 s step
    assert timing_figures.images_per_s(r, 0.2) == pytest.approx(2500)
    assert timing_figures.training_gflops(r, 0.2) == pytest.approx(177.5703)
    assert timing_figures.training_gflops(r, None) is None


def test_timings_are_medians_with_percentiles_and_wide_spreads_are_marked_noisy(
    tmp_path, write_result
):
    # a warm-up step of 27 s, then 15 steady steps: 4.75 x4, 5 x7, 5.25 x4
    steps = [[27.0, 5.0, 5.0, 5.0], [5.0] * 4, [5.25] * 4, [4.75] * 4]
    write_result(backend="jax", epochs_s=(42.0, 20.0, 21.0, 19.0), steps_s=steps)
    write_result(backend="torch", epochs_s=(30.0, 10.0, 20.0, 30.0))  # spread 80 %: noisy
    jax, torch = build(tmp_path).rows
    # training: 102 s of epochs + 0.5 s; warm-up; first epoch
    assert (jax.fit_s, median_of(jax.figures.warmup_s), median_of(jax.figures.first_epoch_s)) == (
        102.5,
        27.0,
        42.0,
    )
    # steady epochs 20 21 19: median 20, p10 19.2, p90 20.8
    assert jax.figures.steady_epoch_s == Spread(3, 20.0, pytest.approx(19.2), 20.8)
    assert jax.figures.step_s == Spread(15, 5.0, 4.75, 5.25)
    assert torch.figures.steady_epoch_s == Spread(3, 20.0, 12.0, 28.0)
    assert torch.figures.steady_epoch_s.noisy
    # prediction latency: the recorded calls, 2, 3, 2 ms spread widely; 300 ms
    assert median_of(jax.figures.latency_s[1]) == 0.002 and jax.figures.latency_s[1].noisy
    assert median_of(jax.figures.latency_s[500]) == 0.3
    noisy = [name for name, f in jax.figures.named().items() if f and f.n > 1 and f.noisy]
    assert noisy == ["predict_1_s"]


def test_every_second_of_the_run_is_accounted_phase_by_phase_with_the_unaccounted_rest(
    tmp_path, write_result
):
    write_result(backend="jax", epochs_s=(30.0, 20.0))
    [row] = build(tmp_path).rows
    phases = {p: median_of(s) for p, s in row.figures.phases.named().items()}
    assert (phases["interpreter_s"], phases["import_s"], phases["fit_s"]) == (0.3, 2.0, 50.5)
    assert phases.pop("ops_s") is None  # a run that profiled no op
    # phases 0.3 + 2 + 0.5 + 0.1 x7 + 1.5 + fit 50.5 = 55.5 s, and 0.05 s unaccounted
    assert median_of(row.figures.unaccounted_s) == 0.05
    assert median_of(row.figures.wall_s) == pytest.approx(sum(phases.values()) + 0.05)
    assert median_of(row.figures.wall_s) == pytest.approx(55.55)
    # steady steps 5 s (the first 7.5 s step is warm-up)
    assert row.train_images_per_s == 100 and row.commits == ["abc1234"]


def test_each_row_takes_its_runs_own_peak_and_measures_nothing(
    tmp_path, write_result, no_measuring
):
    path = write_result(backend="jax", epochs_s=(30.0, 20.0, 20.0), peak_gflops=15.0)
    data = store.read(path).to_dict()
    data["recipe"].update(forward_flops_per_image=20_000_000, training_flops_factor=3)
    store.write(results.from_dict(data), path)
    [row] = build(tmp_path).rows
    # steady steps 5 s (the first 7.5 s step is warm-up): 100 images/s x 60 MFLOP =
    # 6 GFLOP/s, 40 % of the run's own 15 GFLOP/s; others used 1 % of its CPUs
    assert row.training_flops_per_image == 60_000_000 and row.train_images_per_s == 100
    assert row.training_gflops == pytest.approx(6.0) and row.peak_gflops == 15.0
    assert row.share_of_peak == pytest.approx(0.4) and row.other_cpu_share_max == 0.01


def test_a_run_whose_cpus_were_busy_with_other_work_is_marked_disturbed(tmp_path, write_result):
    write_result(backend="jax", other_share=0.30)
    write_result(backend="torch", other_share=0.05)
    jax, torch = build(tmp_path).rows
    assert (jax.other_cpu_share_max, jax.disturbed_runs) == (0.30, 1)
    assert (torch.other_cpu_share_max, torch.disturbed_runs) == (0.05, 0)


def test_a_steady_sample_far_outside_its_run_is_flagged_and_kept_out_of_the_median(
    tmp_path, write_result
):
    run_id = write_result(backend="jax", epochs_s=(30.0, 20.0, 21.0, 400.0, 19.0)).stem
    [row] = build(tmp_path).rows
    # the 400 s epoch against its run's steady median of 20.5 s, and its four 100 s steps
    # against a steady median of 5 s
    epoch, *steps = row.outlying
    assert epoch == timing_figures.Outlier(run_id, "epoch", 400.0, 20.5)
    assert [(o.run_id, o.kind, o.seconds) for o in steps] == [(run_id, "step", 100.0)] * 4
    assert row.figures.steady_epoch_s == Spread(3, 20.0, pytest.approx(19.2), 20.8)


def test_a_version_2_result_without_step_clocks_still_has_its_epochs(tmp_path, write_result):
    path = write_result(backend="jax")
    data = store.read(path).to_dict()
    version_2 = ("import_s", "data_load_s", "build_s", "evaluate_s", "epochs_s")
    data["timings"] = {k: data["timings"][k] for k in version_2}
    del data["machine"]
    data["schema_version"] = 2
    path.write_text(json.dumps(data))
    [row] = build(tmp_path).rows
    # no fit() time, no steps, no latency; epochs only
    assert row.fit_s is None and median_of(row.figures.first_epoch_s) == 30.0
    assert row.figures.steady_epoch_s == Spread(3, 20.0, pytest.approx(19.2), 20.8)
    assert [row.figures.warmup_s, row.figures.step_s, *row.figures.latency_s.values()] == [None] * 4
    # and no efficiency: neither the throughput nor the yardstick nor the others' share
    assert (row.training_gflops, row.peak_gflops, row.share_of_peak) == (None, None, None)
    assert row.other_cpu_share_max is None


def test_a_one_epoch_run_has_its_speed_figures(tmp_path, write_result):
    write_result(backend="jax", profile="quick", epochs_s=(9.0,), steps_s=[[6.0, 1.0, 1.0, 1.0]])
    [row] = build(tmp_path).rows
    assert (row.fit_s, median_of(row.figures.warmup_s), median_of(row.figures.first_epoch_s)) == (
        9.5,
        6.0,
        9.0,
    )
    # 500 images over the median 1 s steady step; no steady epoch
    assert row.figures.steady_epoch_s is None
    assert row.figures.step_s == Spread(3, 1.0, 1.0, 1.0) and row.train_images_per_s == 500


def test_a_rows_ops_pool_its_runs_profiles_the_longest_first():
    a = make_result(ops=make_ops(("conv", 3.0), ("pool", 1.0), op_s=5.0, wall_s=2.0))
    b = make_result(ops=make_ops(("pool", 1.0), ("conv", 1.0), op_s=5.0, wall_s=3.0))
    ops = timing_figures.row_ops([a, b, make_result()])  # a run without a profile counts not
    assert (ops.runs, ops.steps, ops.op_step_s) == (2, 4, 2.5)
    assert [(o.name, o.share) for o in ops.top] == [("conv", 0.4), ("pool", 0.2)]
    assert ops.step_s.median == 1.25  # each run's profiled step: 1.0 and 1.5 s
    assert timing_figures.row_ops([make_result()]) is None


def test_a_row_names_only_its_longest_ops():
    many = [(f"op{i}", float(i)) for i in range(1, 9)]
    ops = timing_figures.row_ops([make_result(ops=make_ops(*many, op_s=40.0))])
    assert [o.name for o in ops.top] == ["op8", "op7", "op6", "op5", "op4"]
    assert len(ops.top) == timing_figures.SHOWN_OPS
