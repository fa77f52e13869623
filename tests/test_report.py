import csv
import io
import subprocess
import sys

import pytest
from conftest import make_result

from harness import report


def test_runs_of_one_variant_make_one_row_with_mean_spread_and_medians():
    runs = [
        make_result(seed=1, accuracy=0.990, loss=0.030, epochs_s=(30.0, 20.0, 22.0, 19.0)),
        make_result(seed=2, accuracy=0.988, loss=0.034, epochs_s=(32.0, 24.0, 26.0, 25.0)),
    ]
    [row] = report.rows(runs)
    assert row["runs"] == 2 and row["seeds"] == "1 2"
    assert row["test_accuracy"] == pytest.approx(0.989)
    assert row["test_accuracy_std"] == pytest.approx(0.0014142, rel=1e-4)
    assert row["test_loss"] == pytest.approx(0.032)
    assert row["first_epoch_s"] == pytest.approx(31.0)
    # per-run medians of the later epochs are 20.0 and 25.0; their median is 22.5
    assert row["steady_epoch_s"] == pytest.approx(22.5)
    assert row["train_images_per_s"] == pytest.approx(60000 / 22.5)
    assert row["evaluate_s"] == 1.5


def test_backends_and_profiles_are_separate_rows():
    runs = [make_result(backend=b) for b in ("torch", "jax", "tensorflow")]
    runs.append(make_result(backend="jax", profile="quick", epochs_s=(9.0,)))
    table = report.rows(runs)
    assert sorted((r["backend"], r["profile"]) for r in table) == [
        ("jax", "quick"),
        ("jax", "seed"),
        ("tensorflow", "seed"),
        ("torch", "seed"),
    ]
    quick = next(r for r in table if r["profile"] == "quick")
    assert quick["steady_epoch_s"] is None and quick["train_images_per_s"] is None


def test_written_report_has_a_row_per_backend_and_the_environment(tmp_path, write_result):
    write_result(backend="tensorflow", accuracy=0.9898)
    write_result(backend="jax", accuracy=0.9907)
    (tmp_path / "runs" / "empty.json").write_text("")
    paths = report.write_report(tmp_path)
    assert [p.name for p in paths] == ["REPORT.md", "summary.csv"]
    md = (tmp_path / "REPORT.md").read_text()
    table_rows = [
        line
        for line in md.splitlines()
        if line.startswith("| jax") or line.startswith("| tensorflow")
    ]
    assert len(table_rows) == 2
    assert "| 99.07 |" in md and "| 98.98 |" in md
    assert "Published test accuracy of the model: 99.06 %" in md
    assert "### jax" in md and "### tensorflow" in md and "abc123" in md
    assert "empty.json" in md
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert [(r["backend"], r["test_accuracy"]) for r in rows] == [
        ("jax", "0.9907"),
        ("tensorflow", "0.9898"),
    ]


def test_report_imports_no_keras_and_no_framework(tmp_path, write_result):
    write_result()
    code = (
        "import sys; from harness import report;"
        f"report.write_report({str(tmp_path)!r});"
        "loaded = {'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules);"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
