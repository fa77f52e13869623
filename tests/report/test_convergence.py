"""The report's time to target and drift apart, from a folder of records."""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.record import atomic, schema, store
from harness.report.convergence import target_sections
from harness.summary.build import build
from tests.factories import make_result


def _write(tmp_path, classes, **kwargs):
    r = make_result(**kwargs)
    name = f"{r.run_id}.trajectory.npz"
    with atomic.atomic_file(store.runs_dir(tmp_path) / name, "wb") as f:
        np.savez(f, np.array(classes, "uint8"), np.zeros((len(classes), 2)))
    r = dataclasses.replace(r, artifacts=schema.Artifacts(trajectory=name))
    store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")


def test_the_score_each_seed_and_the_drift_sentence_are_shown(tmp_path):
    _write(tmp_path, [[0, 1, 2, 3], [0, 1, 2, 3]], epoch_accuracy=(0.9, 0.99, 0.99, 0.99))
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 3]], backend="torch", epoch_accuracy=(0.9,) * 4)
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 2]], backend="torch", perturb_init=True)
    text = "\n".join(target_sections(build(tmp_path)))
    assert "| tensorflow | 98.00 | 50 (provisional: 1 of 5 runs) | 1 of 1 " in text
    assert "seed 1: epoch 2 (50 s)" in text
    assert "| torch | 98.00 | – (invalid: a run never reached the target" in text
    assert "| torch vs torch +1ulp (one-ulp control) | 25.00 |" in text
    assert "tensorflow vs torch 50.00 % of the test images" in text
    assert "one ulp 25.00 %: the backends drift apart faster than" in text
