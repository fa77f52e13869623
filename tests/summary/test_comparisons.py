"""The comparisons between rows and runs (harness/summary/comparisons.py): starting
points, run-to-run determinism, agreement across backends, accuracy against seed noise."""

import shutil

import numpy as np
import pytest

from harness.record import schema, store
from harness.report import text
from harness.summary import comparisons, stats
from harness.summary.build import build, load_arrays
from tests.factories import make_result


def loaded(runs, folder):
    """The arrays the comparisons of `runs` read, loaded from `folder` as `build` does."""
    return load_arrays(folder, comparisons.arrays_needed(runs))


def test_starting_points_say_whether_every_backend_had_the_same_digests():
    same = [make_result(backend=b, digests=("w1", "b1", b)) for b in ("jax", "torch")]
    other = [
        make_result(backend="jax", seed=2, digests=("w2", "b2", "x")),
        make_result(backend="torch", seed=2, digests=("w3", "b2", "y")),
    ]
    points = comparisons.starting_points(same + other)
    assert [(p.seed, p.identical) for p in points] == [(1, True), (2, False)]


def test_masks_are_identical_only_where_the_harness_drew_every_backends_with_one_generator():
    def runs(seed: int, *masks: str | None) -> list:
        return [
            make_result(backend=b, seed=seed, dropout_masks=m)
            for b, m in zip(("jax", "torch"), masks, strict=True)
        ]

    harness = f"{schema.HARNESS_MASKS} gen v1"
    points = comparisons.starting_points(
        runs(1, harness, harness)
        + runs(2, schema.BACKEND_MASKS, schema.BACKEND_MASKS)
        + runs(3, harness, schema.NATIVE_MASKS)
        + runs(4, harness, f"{schema.HARNESS_MASKS} gen v2")
        + runs(5, harness, None)
    )
    assert [(p.seed, p.masks_identical, p.masks_generator, p.own_masks) for p in points] == [
        (1, True, "gen v1", []),
        (2, False, None, ["jax", "torch"]),
        (3, False, None, ["torch"]),
        (4, False, None, []),
        (5, False, None, ["torch"]),
    ]


def test_run_to_run_differences_come_from_the_saved_arrays(tmp_path, write_result):
    weights = [np.zeros((2, 2), "float32"), np.ones(3, "float32")]
    moved = [np.zeros((2, 2), "float32"), np.array([1.0, 1.5, 1.0], "float32")]
    p1 = np.array([[0.9, 0.1], [0.2, 0.8]], "float32")
    p2 = np.array([[0.7, 0.3], [0.2, 0.8]], "float32")
    write_result(backend="torch", digests=("w", "b", "f1"), final_weights=weights, predictions=[p1])
    write_result(backend="torch", digests=("w", "b", "f2"), final_weights=moved, predictions=[p2])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    runs, _ = store.read_all(tmp_path)
    warnings = []
    rows = {d.backend: d for d in comparisons.determinism(runs, loaded(runs, tmp_path), warnings)}
    assert warnings == []
    assert (rows["jax"].bitwise, rows["jax"].weights_max_abs) == (True, 0.0)
    assert rows["torch"].bitwise is False
    assert rows["torch"].weights_max_abs == pytest.approx(0.5)
    assert rows["torch"].predictions_max_abs == pytest.approx(0.2)


def test_agreement_across_backends_from_saved_predictions(tmp_path, write_result):
    pa = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], "float32")
    pb = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5]], "float32")
    write_result(backend="jax", accuracy=0.99, predictions=[pa])
    write_result(backend="torch", accuracy=0.98, predictions=[pb])
    write_result(backend="tensorflow", seed=2, predictions=[pa])  # no partner for seed 2
    runs, _ = store.read_all(tmp_path)
    warnings = []
    [pair] = comparisons.agreement(runs, loaded(runs, tmp_path), warnings)
    assert warnings == []
    assert pair.backends == ("jax", "torch")
    assert pair.predictions.same_class == pytest.approx(2 / 3)
    assert pair.predictions.max_abs_diff == pytest.approx(0.3)
    assert pair.predictions.mean_abs_diff == pytest.approx((0.1 + 0.1 + 0.3 + 0.3) / 6)
    assert pair.accuracy_diff == pytest.approx(0.01)


def test_the_comparisons_read_only_the_arrays_loaded_before_them(tmp_path, write_result):
    weights = [np.zeros(2, "float32")]
    p1, p2 = np.array([[0.9, 0.1]], "float32"), np.array([[0.6, 0.4]], "float32")
    write_result(backend="torch", digests=("w", "b", "f1"), final_weights=weights, predictions=[p1])
    write_result(
        backend="torch", digests=("w", "b", "f2"), final_weights=[weights[0] + 1], predictions=[p1]
    )
    write_result(backend="jax", predictions=[p2])
    runs, _ = store.read_all(tmp_path)
    arrays = loaded(runs, tmp_path)
    shutil.rmtree(store.runs_dir(tmp_path))  # nothing is read after the arrays were loaded
    warnings = []
    [repeat] = comparisons.determinism(runs, arrays, warnings)
    pairs = comparisons.agreement(runs, arrays, warnings)
    assert warnings == []
    assert (repeat.weights_max_abs, repeat.predictions_max_abs) == (1.0, 0.0)
    assert [p.predictions.same_class for p in pairs] == [1.0]


def test_noise_compares_backends_paired_by_seed_in_plain_words():
    acc = {"jax": (0.9900, 0.9910, 0.9890), "torch": (0.9880, 0.9895, 0.9870)}
    runs = [
        make_result(backend=b, seed=seed, accuracy=a)
        for b, values in acc.items()
        for seed, a in zip((1, 2, 3), values, strict=True)
    ]
    [n] = comparisons.noise(runs)
    assert n.backends["jax"].mean == pytest.approx(0.9900)
    assert n.backends["torch"].std == pytest.approx(0.0012583, rel=1e-4)
    [t] = n.tests
    # differences 0.0020, 0.0015, 0.0020: mean 0.0018333, sd 0.00028868, t = 11.0, df 2
    assert t.test.kind == "paired" and t.test.t == pytest.approx(11.0)
    assert t.test.p == pytest.approx(0.00816, abs=1e-5)
    sentence = text.noise_sentence("jax", "torch", t.test)
    assert "+0.183 points" in sentence and "larger than the seed-to-seed spread" in sentence


def test_each_comparison_ranks_its_rows_by_training_time(tmp_path, write_result):
    # fit() takes the sum of the epochs + 0.5 s
    write_result(backend="jax", epochs_s=(20.0,) * 4)
    write_result(backend="tensorflow", epochs_s=(10.0,) * 4)
    write_result(backend="torch", epochs_s=(15.0,) * 4)
    write_result(backend="torch", profile="quick")  # a comparison of its own
    quick, seed = build(tmp_path).comparisons
    assert [(row.backend, row.fit_s) for row in seed.ranked] == [
        ("tensorflow", 40.5), ("torch", 60.5), ("jax", 80.5),
    ]  # fmt: skip
    assert (seed.group.profile, quick.group.profile) == ("seed", "quick")
    assert [row.backend for row in quick.ranked] == ["torch"]


def test_anchor_rows_give_keras_3s_time_over_the_anchors_with_accuracy_and_agreement(
    tmp_path, write_result
):
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5], [0.2, 0.8]], "float32")
    q = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5], [0.1, 0.9]], "float32")  # 3 of 4 agree
    # fit() is the epochs + 0.5 s: torch 300 s, twice; its native 100 s, then 150 s
    for i, (backend, impl, epochs, accuracy) in enumerate([
        ("torch", "keras", 299.5, 0.990), ("torch", "keras", 299.5, 0.990),
        ("torch", "native", 99.5, 0.991), ("torch", "native", 149.5, 0.991),
        ("tensorflow", "keras", 99.5, 0.989), ("keras2", "keras", 79.5, 0.992),
    ]):  # fmt: skip
        write_result(
            backend=backend, impl=impl, epochs_s=(epochs,), accuracy=accuracy,
            created=f"2026-11-25T10:00:0{i}Z", predictions=[q if impl == "native" else p],
            invocation=f"run-{impl}",  # the native runs later: they replace no Keras cell
            anchor_of={"native": backend, "keras": "tensorflow"}[impl]
            if impl == "native" or backend == "keras2" else None,
        )  # fmt: skip
    s = build(tmp_path)
    assert sorted(row.backend for row in s.rows) == [
        "keras2", "tensorflow", "torch", "torch native",
    ]  # fmt: skip
    native, keras2 = sorted(s.anchors, key=lambda a: a.keras.backend, reverse=True)
    assert (native.keras.backend, native.anchor.backend, native.kind) == (
        "torch", "torch native", "native",
    )  # fmt: skip
    # fit() medians 300 s over 125 s; the speed is the steady step's (4 steps an epoch,
    # the first the warm-up): 74.875 s over the median of 24.875 and 37.375 s, without
    # rounds a ratio of medians without an interval
    assert (native.keras.fit_s, native.anchor.fit_s) == (300.0, 125.0)
    assert native.speed.ratio == pytest.approx(74.875 / 31.125)
    assert native.speed.interval is None
    assert native.same_class == [pytest.approx(0.75)]
    assert (native.keras.test_accuracy, native.anchor.test_accuracy) == (0.990, 0.991)
    assert native.keras.test_accuracy_std == 0.0
    assert (keras2.keras.backend, keras2.anchor.backend, keras2.kind) == (
        "tensorflow", "keras2", "keras2",
    )  # fmt: skip
    assert (keras2.keras.fit_s, keras2.anchor.fit_s) == (100.0, 80.0)
    assert keras2.speed.ratio == pytest.approx(24.875 / 19.875) and keras2.same_class == [1.0]
    assert (keras2.keras.test_accuracy, keras2.anchor.test_accuracy) == (0.989, 0.992)


def test_speed_is_paired_by_round_with_an_interval_and_never_spans_two_machines(
    tmp_path, write_result
):
    # torch's step over TensorFlow's is 2.0, 2.2 and 1.8 in rounds 1-3 (one step 1 s, 4
    # steps an epoch); a fourth TensorFlow run on another machine is a group of its own
    for rnd, torch_s in ((1, 2.0), (2, 2.2), (3, 1.8)):
        for backend, step in (("tensorflow", 1.0), ("torch", torch_s)):
            write_result(backend=backend, round=rnd, invocation="rounds",
                         epochs_s=(4 * step,), steps_s=[[step] * 4])  # fmt: skip
    write_result(backend="tensorflow", machine_id="m2", invocation="elsewhere",
                 epochs_s=(2.0,), steps_s=[[0.5] * 4])  # fmt: skip
    found = {c.group.machine: c for c in build(tmp_path, everything=True).comparisons}
    assert set(found) == {"m1", "m2"}
    c = found["m1"]
    assert [row.backend for row in c.ranked] == ["tensorflow", "torch"]
    fastest, torch = c.speeds
    assert fastest.ratio == pytest.approx(1.0)
    interval = stats.ratio_interval([2.0, 2.2, 1.8])
    assert torch.interval == interval and torch.ratio == pytest.approx(interval.geomean)
    assert torch.beyond_noise  # 1.6 to 2.4
    assert [row.backend for row in found["m2"].ranked] == ["tensorflow"]


def test_the_fastest_by_rounds_leads_and_every_row_is_set_against_it(tmp_path, write_result):
    # Keras 2's median step is longer than TensorFlow's (1.1 s in two rounds of three),
    # but paired by round it is the shorter (0.5 s in the other): it leads, and
    # TensorFlow's ratio is against it, not against itself
    for rnd, keras2_s in ((1, 0.5), (2, 1.1), (3, 1.1)):
        for backend, step in (("tensorflow", 1.0), ("keras2", keras2_s), ("torch", 2.0)):
            write_result(backend=backend, round=rnd, invocation="rounds",
                         epochs_s=(4 * step,), steps_s=[[step] * 4])  # fmt: skip
    [c] = build(tmp_path).comparisons
    assert [row.backend for row in c.ranked] == ["keras2", "tensorflow", "torch"]
    first, tensorflow, torch = c.speeds
    assert first.ratio == pytest.approx(1.0)
    assert c.ranked[0].step_s > c.ranked[1].step_s
    assert tensorflow.interval == stats.ratio_interval([1 / 0.5, 1 / 1.1, 1 / 1.1])
    assert torch.interval == stats.ratio_interval([2 / 0.5, 2 / 1.1, 2 / 1.1])


def test_a_tuned_row_is_ranked_with_the_defaults_and_set_against_its_own_default_by_round(
    tmp_path, write_result
):
    # torch tuned takes 0.60, 0.66 and 0.63 of its default's step in rounds 1-3
    for rnd, tuned_s in ((1, 0.60), (2, 0.66), (3, 0.63)):
        for tuning, step in ((None, 1.0), ((("malloc", "no mmap"),), tuned_s)):
            write_result(backend="torch", tuning=tuning, round=rnd, invocation="rounds",
                         epochs_s=(4 * step,), steps_s=[[step] * 4])  # fmt: skip
    s = build(tmp_path)
    [c] = s.comparisons
    assert [row.backend for row in c.ranked] == ["torch tuned", "torch"]
    [t] = s.tuned
    assert (t.settings, t.source) == ("malloc=no mmap", "a test's tuning record")
    assert t.speed.interval == stats.ratio_interval([0.60, 0.66, 0.63])
    assert t.speed.beyond_noise


def test_a_tuned_keras_row_is_set_against_the_keras_default_not_the_framework_without_keras(
    tmp_path, write_result
):
    write_result(backend="tensorflow", epochs_s=(4.0,), steps_s=[[1.0] * 4])
    write_result(backend="tensorflow", impl="native", anchor_of="tensorflow", epochs_s=(8.0,),
                 steps_s=[[2.0] * 4])  # fmt: skip
    write_result(backend="tensorflow", tuning=(("format", "channels_last"),), epochs_s=(2.0,),
                 steps_s=[[0.5] * 4])  # fmt: skip
    [t] = build(tmp_path).tuned
    assert (t.default.backend, t.tuned.backend) == ("tensorflow", "tensorflow tuned")
    assert t.speed.ratio == pytest.approx(0.5)


def test_a_one_ulp_control_is_never_paired_with_a_backend():
    runs = [
        make_result(backend=b, seed=seed, accuracy=0.99 + seed / 1000, perturb_init=control)
        for b, control in (("tensorflow", False), ("jax", False), ("tensorflow", True))
        for seed in (1, 2, 3)
    ]
    [n] = comparisons.noise(runs)
    assert sorted(n.backends) == ["jax", "tensorflow"]
    assert [t.backends for t in n.tests] == [("jax", "tensorflow")]
    assert [p.backends for p in comparisons.equivalence(runs)] == [("jax", "tensorflow")]
