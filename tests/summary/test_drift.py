"""How fast identical starts drift apart: the measures, with literal numbers, and the
pairs a results folder makes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.record import atomic, schema, store
from harness.summary.build import load_arrays
from harness.summary.comparisons import arrays_needed
from harness.summary.drift import Apart, Drift, disagreement, distance, drift, verdicts
from harness.summary.grouping import group
from tests.factories import make_result


def test_disagreement_is_the_share_of_images_given_different_classes_per_epoch():
    a = np.array([[0, 1, 2, 3], [0, 1, 2, 3], [1, 1, 1, 1]])
    b = np.array([[0, 1, 2, 3], [0, 1, 0, 3]])
    assert disagreement(a, b) == [0.0, 0.25]  # over the epochs both trained


def test_distance_is_euclidean_per_epoch():
    a = np.array([[0.0, 0.0], [1.0, 1.0]])
    b = np.array([[3.0, 4.0], [1.0, 1.0]])
    assert distance(a, b) == [5.0, 0.0]


def _write(tmp_path, classes, sketches, **kwargs):
    r = make_result(**kwargs)
    name = f"{r.run_id}.trajectory.npz"
    with atomic.atomic_file(store.runs_dir(tmp_path) / name, "wb") as f:
        np.savez(f, np.array(classes, "uint8"), np.array(sketches, "float64"))
    r = dataclasses.replace(r, artifacts=schema.Artifacts(trajectory=name))
    store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")
    return r


def test_backend_pairs_and_the_one_ulp_control_are_measured_per_seed(tmp_path):
    tf = _write(tmp_path, [[0, 1, 2, 3], [0, 1, 2, 3]], [[0.0], [0.0]], backend="tensorflow")
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 3]], [[0.0], [2.0]], backend="torch")
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 2]], [[0.0], [0.5]], backend="torch",
           perturb_init=True)  # fmt: skip
    _write(tmp_path, [[0, 1, 2, 3], [1, 1, 1, 1]], [[0.0], [1.0]], backend="jax", seed=2)
    runs, warnings = store.read_all(tmp_path)
    found = drift(runs, load_arrays(tmp_path, arrays_needed(runs)), warnings)
    assert warnings == []
    key = group(tf)
    assert found == [
        Drift(key, 1, ("tensorflow", "torch"), False, [0.0, 0.5], [0.0, 2.0]),
        Drift(key, 1, ("torch", "torch +1ulp"), True, [0.0, 0.25], [0.0, 1.5]),
    ]
    (v,) = verdicts(found)
    assert v.epoch == 2
    assert v.pairs == {("tensorflow", "torch"): Apart(0.5, 2.0)}
    assert v.control == Apart(0.25, 1.5)
    assert v.faster == [("tensorflow", "torch")]


def test_the_verdict_is_judged_on_the_weights_and_against_the_farthest_control():
    key = group(make_result())
    pair = ("tensorflow", "torch")
    found = [
        # more classes apart than either control, but the weights no farther than one
        Drift(key, 1, pair, False, [0.02], [1.0]),
        Drift(key, 2, pair, False, [0.04], [2.0]),
        Drift(key, 1, ("torch", "torch +1ulp"), True, [0.0], [2.0]),
        Drift(key, 1, ("tensorflow", "tensorflow +1ulp"), True, [0.01], [1.0]),
    ]
    (v,) = verdicts(found)
    assert v.pairs == {pair: Apart(pytest.approx(0.03), 1.5)}  # mean over the seeds
    assert v.control == Apart(0.01, 2.0)  # each measure's farthest control
    assert v.faster == []


def test_a_pair_that_stopped_early_is_judged_at_the_epoch_every_run_reached():
    key = group(make_result())
    # the backends stopped at their target after 2 epochs; the control trained 4
    found = [
        Drift(key, 1, ("tensorflow", "torch"), False, [0.0, 0.1], [0.0, 1.0]),
        Drift(key, 1, ("torch", "torch +1ulp"), True, [0.0, 0.05, 0.2, 0.3], [0, 0.5, 2, 3]),
    ]
    (v,) = verdicts(found)
    assert v.epoch == 2 and v.control == Apart(pytest.approx(0.05), 0.5)
    assert v.faster == [("tensorflow", "torch")]


def test_a_perturbed_run_never_pools_with_the_unperturbed_ones():
    plain, moved = make_result(backend="torch"), make_result(backend="torch", perturb_init=True)
    assert plain.spec.system == "torch" and moved.spec.system == "torch +1ulp"
    assert make_result(stop_at_target=True).spec.system == "tensorflow to target"
