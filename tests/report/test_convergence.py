"""The report's time to target and drift apart, from a folder of records."""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.record import atomic, schema, store
from harness.report import render
from harness.report.convergence import target_sections
from harness.summary.build import build
from tests.factories import make_result


def _write(tmp_path, classes, sketch=0.0, **kwargs):
    r = make_result(**kwargs)
    name = f"{r.run_id}.trajectory.npz"
    with atomic.atomic_file(store.runs_dir(tmp_path) / name, "wb") as f:
        np.savez(f, np.array(classes, "uint8"), np.full((len(classes), 2), sketch))
    r = dataclasses.replace(r, artifacts=schema.Artifacts(trajectory=name))
    store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")


def test_the_score_each_seed_and_the_drift_sentence_are_shown(tmp_path):
    _write(tmp_path, [[0, 1, 2, 3], [0, 1, 2, 3]], epoch_accuracy=(0.9, 0.99, 0.99, 0.99))
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 3]], 3.0, backend="torch", epoch_accuracy=(0.9,) * 4)
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 2]], 4.0, backend="torch", perturb_init=True)
    text = "\n".join(target_sections(build(tmp_path), [], []))
    assert "| tensorflow | 98.00 | 50 (provisional: 1 of 5 runs) | 1 of 1 " in text
    assert "seed 1: epoch 2 (50 s)" in text
    assert "| torch | 98.00 | – (invalid: a run never reached the target" in text
    assert "| torch vs torch +1ulp (one-ulp control) | 25.00 |" in text
    # sketches of two numbers: torch 3 from TensorFlow in each, its control 1 from torch
    assert "of tensorflow and torch 4.24 apart, 50.00 % of the test images' classes" in text
    assert "one ulp: torch and torch +1ulp 1.41 apart, 25.00 % of the test images'" in text
    assert "every pair of backends drifts apart faster than training's own instability" in text
    assert "- tensorflow / torch: time to target not compared, 0 seeds reached" in text


def _section(md: str, heading: str) -> str:
    return md.split(f"### {heading}\n")[1].split("\n## ")[0].split("\n### ")[0]


def test_a_report_of_runs_with_per_epoch_data_plots_their_accuracy_and_drift(tmp_path):
    _write(tmp_path, [[0, 1, 2, 3], [0, 1, 2, 3]], epoch_accuracy=(0.9, 0.99, 0.99, 0.99))
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 3]], backend="torch", epoch_accuracy=(0.9,) * 4)
    _write(tmp_path, [[0, 1, 2, 3], [0, 0, 0, 2]], backend="torch", perturb_init=True)
    paths = render.write_report(build(tmp_path), tmp_path)
    made = {p.name.split("-mnist")[0]: p for p in paths[3:]}
    md = (tmp_path / "REPORT.md").read_text()
    page = (tmp_path / "report.html").read_text()
    for name, heading in [("accuracy-per-epoch-m1", "Time to target"), ("drift-m1", "Drift apart")]:
        plot = made[name]
        assert plot.read_bytes().startswith(b"\x89PNG")
        assert f"]({plot.name})" in _section(md, heading)
        assert plot.name not in page
    assert page.count("data:image/png;base64,") == len(made)


def test_runs_without_per_epoch_data_have_neither_plot(tmp_path):
    for backend in ("tensorflow", "torch"):
        r = make_result(backend=backend, epoch_accuracy=())
        store.write(r, store.runs_dir(tmp_path) / f"{r.run_id}.json")
    paths = render.write_report(build(tmp_path), tmp_path)
    names = [p.name for p in paths[3:]]
    assert names and not [n for n in names if n.startswith(("accuracy-per-epoch", "drift"))]
    md = (tmp_path / "REPORT.md").read_text()
    assert "### Time to target" not in md and "### Drift apart" not in md


def test_a_row_says_how_many_of_its_runs_did_not_evaluate_their_epochs(tmp_path):
    _write(tmp_path, [[0, 1, 2, 3], [0, 1, 2, 3]], epoch_accuracy=(0.9, 0.99, 0.99, 0.99))
    older = make_result(seed=2, epoch_accuracy=())
    store.write(older, store.runs_dir(tmp_path) / f"{older.run_id}.json")
    text = "\n".join(target_sections(build(tmp_path), [], []))
    assert (
        "| tensorflow | 98.00 | 50 (provisional: 1 of 5 runs); not scored: 1 run without "
        "per-epoch evaluations | 1 of 1 " in text
    )
