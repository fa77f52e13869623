"""Records grouped into rows (harness/summary/grouping.py): one a backend and variant,
with means, spreads and medians over its runs; which records a report shows (each cell's
latest, failures apart); the code, convergence and machine of a row's runs."""

import calendar
import dataclasses

import pytest

from harness.record import store
from harness.summary import comparisons, grouping
from harness.summary.build import build
from harness.summary.stats import median_of
from tests.factories import make_result


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
    assert median_of(row.figures.first_epoch_s) == pytest.approx(31.0)
    # every later epoch of both runs, pooled: 19 20 22 24 25 26, median 23
    assert median_of(row.figures.steady_epoch_s) == pytest.approx(23.0)
    assert row.figures.steady_epoch_s.n == 6
    # four equal steps an epoch; each run's first step is its warm-up: 15 steady steps
    # each, 4.75 5 5.5 (7.5 x3) and 6 6.25 6.5 (8 x3), pooled median 6.0
    assert row.figures.step_s.n == 30 and row.step_s == pytest.approx(6.0)
    assert row.train_images_per_s == pytest.approx(500 / 6.0)
    assert median_of(row.figures.warmup_s) == pytest.approx(7.75)  # 7.5 and 8.0
    assert row.fit_s == pytest.approx((91.5 + 107.5) / 2)  # epochs + 0.5 s each
    assert median_of(row.figures.phases.evaluate_s) == 1.5


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
    assert median_of(quick.figures.steady_epoch_s) is None
    assert quick.train_images_per_s == pytest.approx(500 / 2.25)


def test_backends_with_their_own_data_format_are_compared_but_stay_separate_rows():
    tuned = [
        make_result(backend="tensorflow", profile="quick"),
        make_result(backend="torch", profile="quick", data_format="channels_first"),
    ]
    points = comparisons.starting_points(tuned)
    assert [p.digests.keys() for p in points] == [{"tensorflow", "torch"}]
    both = [*tuned, make_result(backend="torch", profile="quick")]
    assert sorted((r.backend, r.variant.data_format) for r in grouping.rows(both)) == [
        ("tensorflow", "channels_last"),
        ("torch", "channels_first"),
        ("torch", "channels_last"),
    ]


def test_failed_runs_are_kept_apart_with_their_reason_and_never_with_an_accuracy(
    tmp_path, write_result, write_failure
):
    write_result(backend="jax", accuracy=0.9907)
    failed = write_failure(
        "training diverged: the mean loss of epoch 1 was nan", backend="torch", accuracy=0.5
    )
    s = build(tmp_path)
    assert [r.run_id for r in s.shown.failures] == [failed.run_id]
    assert s.shown.failures[0].failure.reason == (
        "training diverged: the mean loss of epoch 1 was nan"
    )
    assert [(row.backend, row.test_accuracy) for row in s.rows] == [("jax", 0.9907)]


def test_a_run_at_chance_or_with_a_rising_loss_is_kept_and_marked_not_converged(
    tmp_path, write_result
):
    write_result(backend="jax", accuracy=0.1)  # what --learning-rate 1e6 gave on MNIST
    write_result(backend="tensorflow", accuracy=0.115)  # poor, but above chance
    rising = make_result(backend="torch")
    history = {"loss": [0.5, 0.4, 0.6, 0.7], "accuracy": [0.9] * 4}
    rising = dataclasses.replace(
        rising, metrics=dataclasses.replace(rising.metrics, history=history)
    )
    store.write(rising, store.runs_dir(tmp_path) / f"{rising.run_id}.json")
    s = build(tmp_path)
    assert [(row.backend, row.test_accuracy, row.not_converged_runs) for row in s.rows] == [
        ("jax", 0.1, 1),
        ("tensorflow", 0.115, 0),
        ("torch", 0.99, 1),
    ]
    assert [(r.spec.backend, why) for r, why in s.not_converged] == [
        (
            "jax",
            "test accuracy 10.00 % is at chance level for 10 classes (at most 10.90 % on "
            "10,000 test images)",
        ),
        ("torch", "the last epoch's training loss 0.7 is above the first's 0.5"),
    ]


def test_runs_of_different_code_or_a_dirty_tree_are_never_pooled_silently(tmp_path, write_result):
    write_result(backend="jax", seed=1, commit="1111111aaa")
    write_result(backend="jax", seed=2, commit="2222222bbb")
    write_result(backend="torch", seed=1, dirty=True)
    write_result(backend="tensorflow", seed=1)
    s = build(tmp_path)
    assert [(row.backend, row.commits, row.dirty_runs) for row in s.rows] == [
        ("jax", ["1111111", "2222222"], 0),
        ("tensorflow", ["abc1234"], 0),
        ("torch", ["abc1234+dirty"], 1),
    ]


def test_each_cell_shows_its_latest_run_and_counts_the_older_results_it_left_out(
    tmp_path, write_result
):
    write_result(backend="jax", accuracy=0.95, created="2026-11-25T10:00:00Z", invocation="a")
    write_result(backend="jax", accuracy=0.99, created="2026-11-25T11:00:00Z", invocation="b")
    write_result(backend="torch", accuracy=0.98, created="2026-11-25T10:00:00Z", invocation="a")
    s = build(tmp_path)
    assert s.shown.left_out == 1
    assert [(row.backend, row.runs, row.test_accuracy) for row in s.rows] == [
        ("jax", 1, 0.99),
        ("torch", 1, 0.98),
    ]
    s = build(tmp_path, everything=True)
    assert s.shown.left_out == 0
    jax = s.rows[0]
    assert (jax.runs, jax.seeds, jax.test_accuracy) == (2, [1], pytest.approx(0.97))
    assert jax.test_accuracy_std == pytest.approx(0.0283, abs=1e-4)


def test_results_from_before_invocations_were_recorded_are_all_shown(tmp_path, write_result):
    write_result(backend="jax", accuracy=0.95, created="2026-11-25T10:00:00Z")
    write_result(backend="jax", accuracy=0.99, created="2026-11-25T11:00:00Z")
    s = build(tmp_path)
    assert s.shown.left_out == 0 and [row.runs for row in s.rows] == [2]


def test_a_failure_whose_cell_later_succeeded_is_superseded_with_its_whole_reason(
    tmp_path, write_result, write_failure
):
    reason = "mnist could not be loaded. Looked in:\n  - /data/mnist.npz: not found"
    old = write_failure(reason, backend="torch", created="2026-11-25T10:00:00Z", invocation="a")
    write_result(backend="torch", created="2026-11-25T11:00:00Z", invocation="b")
    current = write_failure("killed", backend="jax", created="2026-11-25T11:00:00Z", invocation="b")
    shown = build(tmp_path).shown
    assert [r.run_id for r in shown.superseded] == [old.run_id]
    assert shown.superseded[0].failure.reason == reason
    assert [r.run_id for r in shown.failures] == [current.run_id] and shown.left_out == 0


def test_runs_that_shared_their_machine_are_marked_and_listed(tmp_path, write_result):
    # each worker lived about 96 s (its wall time) up to its record's time
    jax = write_result(backend="jax", host="box", created="2026-11-25T10:00:00Z")
    torch = write_result(backend="torch", host="box", created="2026-11-25T10:00:30Z")
    write_result(backend="tensorflow", host="other", created="2026-11-25T10:00:30Z")
    write_result(backend="tensorflow", seed=2, host="box", created="2026-11-25T11:00:00Z")
    s = build(tmp_path)
    assert s.shared == {jax.stem: [torch.stem], torch.stem: [jax.stem]}
    assert [(row.backend, row.shared_runs) for row in s.rows] == [
        ("jax", 1),
        ("tensorflow", 0),
        ("torch", 1),
    ]


def test_a_run_that_shared_its_machine_stays_marked_when_the_other_is_superseded(
    tmp_path, write_result
):
    jax = write_result(backend="jax", host="box", created="2026-11-25T10:00:00Z",
                       invocation="first")  # fmt: skip
    torch = write_result(backend="torch", host="box", created="2026-11-25T10:00:30Z",
                         invocation="second")  # fmt: skip
    write_result(backend="torch", host="box", created="2026-11-25T12:00:00Z", invocation="third")
    s = build(tmp_path)
    assert torch.stem not in {r.run_id for r in s.shown.runs}  # superseded by the third
    assert s.shared == {jax.stem: [torch.stem]}
    assert [(row.backend, row.shared_runs) for row in s.rows] == [("jax", 1), ("torch", 0)]


def test_a_cell_whose_latest_run_failed_shows_that_failure_not_its_older_success(
    tmp_path, write_result, write_failure
):
    older = write_result(backend="jax", created="2026-11-25T10:00:00Z", invocation="a")
    failed = write_failure("killed", backend="jax", created="2026-11-25T11:00:00Z", invocation="b")
    by_hand = write_result(backend="jax", created="2026-11-25T12:00:00Z")  # no invocation
    s = build(tmp_path)
    assert s.shown.runs == [] and s.rows == []
    assert [r.run_id for r in s.shown.failures] == [failed.run_id]
    assert s.shown.left_out == 2 and older.stem != by_hand.stem


def test_where_runs_ran_by_host_and_node(tmp_path, write_result):
    a = write_result(backend="jax", host="box", node="a" * 56, created="2026-11-25T10:00:00Z")
    b = write_result(backend="torch", host="box", node="b" * 56, created="2026-11-25T10:00:30Z")
    c = write_result(backend="tensorflow", host="far", node="c" * 56)
    placed = build(tmp_path).placement
    # Two nodes of one host share its cores: runs on both at once shared the machine.
    assert [(p.host, p.node, p.run_id, p.beside) for p in placed] == [
        ("box", "a" * 56, a.stem, 1),
        ("box", "b" * 56, b.stem, 1),
        ("far", "c" * 56, c.stem, 0),
    ]
    # each worker lived its wall time, 95.55 s, up to its record's time
    ten = calendar.timegm((2026, 11, 25, 10, 0, 0))
    assert [p.start for p in placed] == pytest.approx(
        [ten - 95.55, ten + 30 - 95.55, ten - 95.55], abs=0.01
    )
    assert [p.cpus for p in placed] == [[0]] * 3


def test_runs_on_one_machine_without_ray_need_no_placement(tmp_path, write_result):
    write_result(backend="jax", host="box")
    write_result(backend="torch", host="box")
    assert build(tmp_path).placement == []


def test_a_float16_run_is_a_row_of_its_own_never_pooled_with_float32(tmp_path):
    float32 = make_result(backend="torch")
    env = dataclasses.replace(float32.environment, keras_json={"floatx": "float16"})
    float16 = dataclasses.replace(make_result(backend="torch", seed=2), environment=env)
    found = {row.variant.floatx: row.runs for row in grouping.rows([float32, float16])}
    assert found == {"float32": 1, "float16": 1}


def test_records_copied_from_another_machine_are_its_latest_not_older_results(
    tmp_path, write_result
):
    there = [
        write_result(backend="torch", seed=seed, machine_id="far", invocation="x",
                     created=f"2026-11-25T1{seed}:00:00Z")
        for seed in (1, 2)
    ]  # fmt: skip
    older_here = write_result(backend="torch", invocation="a", created="2026-11-26T10:00:00Z")
    here = write_result(backend="torch", invocation="b", created="2026-11-26T11:00:00Z")
    s = build(tmp_path)
    assert sorted(r.run_id for r in s.shown.runs) == sorted(p.stem for p in [*there, here])
    assert s.shown.left_out == 1 and older_here.stem not in {r.run_id for r in s.shown.runs}
    assert sorted(row.variant.group.machine for row in s.rows) == ["far", "m1"]
