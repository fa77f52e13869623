"""Identical starting points: weights and batch orders drawn with numpy, their digests."""

import math

import numpy as np
import pytest

from harness.worker import starting_points as rp
from harness.worker.native import PlannedWeight


@pytest.mark.parametrize(
    ("shape", "fans"),
    [
        ((3, 3, 1, 32), (9, 288)),
        ((3, 3, 32, 64), (288, 576)),
        ((4096, 250), (4096, 250)),
        ((10,), (10, 10)),
    ],
)
def test_fans_follow_keras(shape, fans):
    assert rp.compute_fans(shape) == fans


def test_glorot_uniform_stays_within_keras_limit_and_fills_it():
    entry = PlannedWeight("w", (4096, 250), "variance_scaling", 1.0, "fan_avg", "uniform")
    w = rp.draw(entry, np.random.default_rng(0))
    limit = math.sqrt(6 / (4096 + 250))  # 0.03716
    assert w.dtype == np.float32 and w.shape == (4096, 250)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.01)


def test_truncated_normal_is_cut_at_two_standard_deviations():
    entry = PlannedWeight("w", (288, 576), "variance_scaling", 2.0, "fan_in", "truncated_normal")
    w = rp.draw(entry, np.random.default_rng(0))
    stddev = math.sqrt(2.0 / 288)  # He normal: the draw's own spread after truncation
    assert np.abs(w).max() <= 2 * stddev / 0.87962566103423978
    assert w.std() == pytest.approx(stddev, rel=0.02)


def test_constants_and_unknown_initializers():
    rng = np.random.default_rng(0)
    assert rp.draw(PlannedWeight.constant("b", (3,), 0.5), rng).tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="unsupported initializer 'orthogonal'"):
        rp.draw(PlannedWeight("w", (2, 2), "orthogonal"), rng)


def test_initial_weights_depend_on_the_seed_alone():
    plan = [PlannedWeight("w", (3, 3, 1, 32), "variance_scaling"),
            PlannedWeight.constant("b", (32,), 0.0)]  # fmt: skip
    a, b, c = rp.initial_weights(plan, 1), rp.initial_weights(plan, 1), rp.initial_weights(plan, 2)
    assert rp.digest(a) == rp.digest(b) != rp.digest(c)
    assert not a[1].any()


def test_batch_order_is_a_permutation_per_epoch_and_seed():
    e0, e1 = rp.batch_order(1, 0, 1000), rp.batch_order(1, 1, 1000)
    assert sorted(e0.tolist()) == list(range(1000))
    assert not np.array_equal(e0, e1)
    assert np.array_equal(e1, rp.batch_order(1, 1, 1000))
    assert not np.array_equal(e0, rp.batch_order(2, 0, 1000))


def test_batch_plan_cuts_each_epochs_permutation_into_batches():
    plan = rp.batch_plan(seed=3, epochs=2, n=10, batch=4)
    assert [len(b) for b in plan] == [4, 4, 2, 4, 4, 2]
    assert np.array_equal(np.concatenate(plan[:3]), rp.batch_order(3, 0, 10))
    assert np.array_equal(np.concatenate(plan[3:]), rp.batch_order(3, 1, 10))


def test_served_digest_equals_the_permutations_digest_only_when_all_was_served():
    plan = rp.batch_plan(seed=3, epochs=2, n=10, batch=4)
    whole = rp.digest([rp.batch_order(3, e, 10) for e in range(2)])
    # served out of order (a feed's look at its first batch), by position
    served = {k: plan[k] for k in [0, *range(6)]}
    assert rp.served_digest(served, epochs=2, steps=3) == whole
    del served[4]
    assert rp.served_digest(served, epochs=2, steps=3) != whole
    served[4] = plan[1]
    assert rp.served_digest(served, epochs=2, steps=3) != whole


def test_the_generic_feed_notes_each_batch_as_it_is_taken():
    from harness.backends.base import Feed

    x, y = np.arange(10) * 10, np.arange(10)
    plan = rp.batch_plan(seed=1, epochs=2, n=10, batch=4)
    feed = Feed(x, y, plan)
    assert feed.served() == {}
    first = next(feed.data)
    assert np.array_equal(first[0], x[plan[0]]) and np.array_equal(first[1], plan[0])
    assert list(feed.served()) == [0]
    rest = list(feed.data)
    assert [b[1].tolist() for b in rest] == [b.tolist() for b in plan[1:]]
    assert rp.served_digest(feed.served(), 2, 3) == rp.digest(
        [rp.batch_order(1, e, 10) for e in range(2)]
    )


def test_digest_sees_shape_and_dtype_not_only_bytes():
    a = np.zeros(4, "float32")
    assert rp.digest([a]) != rp.digest([a.reshape(2, 2)]) != rp.digest([a.view("int32")])
