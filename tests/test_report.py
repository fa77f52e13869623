import csv
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_result, stopped_main

from harness import cli
from harness.record import results, schema
from harness.report import render, text
from harness.summary import comparisons, grouping


def row_line(md: str, section: str, backend: str) -> str:
    """The table line of `backend` in the section of the report headed `section`."""
    part = md.split(section + "\n")[1].split("\n## ")[0].split("\n### ")[0]
    return next(line for line in part.splitlines() if line.startswith(f"| {backend} |"))


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


def test_written_report_has_a_row_per_backend_and_the_environment(tmp_path, write_result):
    write_result(backend="tensorflow", accuracy=0.9898)
    write_result(backend="jax", accuracy=0.9907)
    (tmp_path / "runs" / "empty.json").write_text("")
    paths = render.write_report(tmp_path)
    assert [p.name for p in paths[:3]] == ["REPORT.md", "report.html", "summary.csv"]
    plots = paths[3:]
    assert [p.name.split("-mnist")[0] for p in plots] == [
        "loss-curves",
        "training-times.png",
        "step-times.png",
    ]
    md = (tmp_path / "REPORT.md").read_text()
    page = (tmp_path / "report.html").read_text()
    for plot in plots:
        assert plot.read_bytes().startswith(b"\x89PNG")
        assert f"]({plot.name})" in md
        # self-contained: the plot is inside the page, not beside it
        assert plot.name not in page
    assert "<table>" in page and page.count("data:image/png;base64,") == 3
    accuracy_table = md.split("## Accuracy and time")[1].split("##")[0]
    table_rows = [line for line in accuracy_table.splitlines() if line.startswith("| jax")]
    table_rows += [line for line in accuracy_table.splitlines() if line.startswith("| tensorflow")]
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
        "import sys; from harness.report import render;"
        f"render.write_report({str(tmp_path)!r});"
        "loaded = {'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules);"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_starting_points_say_whether_every_backend_had_the_same_digests():
    same = [make_result(backend=b, digests=("w1", "b1", b)) for b in ("jax", "torch")]
    other = [
        make_result(backend="jax", seed=2, digests=("w2", "b2", "x")),
        make_result(backend="torch", seed=2, digests=("w3", "b2", "y")),
    ]
    points = comparisons.starting_points(same + other)
    assert [(p.seed, p.identical) for p in points] == [(1, True), (2, False)]


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


def test_run_to_run_differences_come_from_the_saved_arrays(tmp_path, write_result):
    weights = [np.zeros((2, 2), "float32"), np.ones(3, "float32")]
    moved = [np.zeros((2, 2), "float32"), np.array([1.0, 1.5, 1.0], "float32")]
    p1 = np.array([[0.9, 0.1], [0.2, 0.8]], "float32")
    p2 = np.array([[0.7, 0.3], [0.2, 0.8]], "float32")
    write_result(backend="torch", digests=("w", "b", "f1"), final_weights=weights, predictions=[p1])
    write_result(backend="torch", digests=("w", "b", "f2"), final_weights=moved, predictions=[p2])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    write_result(backend="jax", digests=("w", "b", "g"), final_weights=weights, predictions=[p1])
    runs, _ = results.read_all(tmp_path)
    warnings = []
    rows = {d.backend: d for d in comparisons.determinism(runs, tmp_path, warnings)}
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
    runs, _ = results.read_all(tmp_path)
    warnings = []
    [pair] = comparisons.agreement(runs, tmp_path, warnings)
    assert warnings == []
    assert pair.backends == ("jax", "torch")
    assert pair.predictions.same_class == pytest.approx(2 / 3)
    assert pair.predictions.max_abs_diff == pytest.approx(0.3)
    assert pair.predictions.mean_abs_diff == pytest.approx((0.1 + 0.1 + 0.3 + 0.3) / 6)
    assert pair.accuracy_diff == pytest.approx(0.01)


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


def test_failed_runs_are_listed_with_their_reason_and_never_with_an_accuracy(
    tmp_path, write_result
):
    write_result(backend="jax", accuracy=0.9907)
    failed = make_result(backend="torch", accuracy=0.5)
    failed = dataclasses.replace(
        failed,
        status="failed",
        failure={
            "reason": "training diverged: the mean loss of epoch 1 was nan",
            "exit_code": 2,
            "output_tail": ["error: training diverged"],
        },  # fmt: skip
    )
    results.write(failed, results.runs_dir(tmp_path) / f"{failed.run_id}.json")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "2 result files" in md and "1 of them failed runs" in md
    torch_lines = [line for line in md.splitlines() if "| torch |" in line]
    assert torch_lines == [
        f"| {failed.run_id} | torch | 1 | seed | 2 "
        "| training diverged: the mean loss of epoch 1 was nan |"
    ]
    assert "50.00" not in md
    assert "torch" not in (tmp_path / "summary.csv").read_text()


def test_a_reason_with_pipes_and_lines_stays_in_its_table_cell(tmp_path, write_result):
    write_result(backend="jax")
    failed = dataclasses.replace(
        make_result(backend="torch"),
        status="failed",
        failure={
            "reason": "mnist could not be loaded. Looked in:\n  - a|b.npz: not found\n  - c",
            "exit_code": 2,
            "output_tail": [],
        },
    )
    results.write(failed, results.runs_dir(tmp_path) / f"{failed.run_id}.json")
    render.write_report(tmp_path)
    [line] = [x for x in (tmp_path / "REPORT.md").read_text().splitlines() if "| torch |" in x]
    assert line.endswith(
        "| mnist could not be loaded. Looked in:<br>  - a\\|b.npz: not found<br>  - c |"
    )
    html = (tmp_path / "report.html").read_text()
    [row] = [r for r in html.split("<tr>") if "torch" in r and "Looked in" in r]
    assert row.count("<td") == 6 and "a|b.npz" in row and "<br>" in row


def test_timings_are_medians_with_percentiles_and_wide_spreads_are_marked_noisy(
    tmp_path, write_result
):
    # a warm-up step of 27 s, then 15 steady steps: 4.75 x4, 5 x7, 5.25 x4
    steps = [[27.0, 5.0, 5.0, 5.0], [5.0] * 4, [5.25] * 4, [4.75] * 4]
    write_result(backend="jax", epochs_s=(42.0, 20.0, 21.0, 19.0), steps_s=steps)
    write_result(backend="torch", epochs_s=(30.0, 10.0, 20.0, 30.0))  # spread 80 %: noisy
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    training = md.split("### Training")[1].split("## Efficiency")[0]
    jax = next(line for line in training.splitlines() if line.startswith("| jax"))
    torch = next(line for line in training.splitlines() if line.startswith("| torch"))
    assert "| 102.5 | 27.00 | 42.0 |" in jax  # training: 102 s of epochs + 0.5 s; warm-up
    # steady epochs 20 21 19: median 20, p10 19.2, p90 20.8
    assert "| 20.00 [19.20–20.80] (n=3) |" in jax
    assert "| 5,000.0 [4,750.0–5,250.0] (n=15) |" in jax
    assert "| 20.00 † [12.00–28.00] (n=3) |" in torch
    # prediction latency: medians of the recorded calls, in ms
    assert jax.endswith("| 2.00 † | 300.0 |")  # 2, 3, 2 ms spread widely
    assert "†" not in jax.split("| 2.00 †")[0]  # nothing before the latencies is noisy


def test_every_second_of_the_run_is_shown_phase_by_phase_with_the_unaccounted_rest(
    tmp_path, write_result
):
    write_result(backend="jax", epochs_s=(30.0, 20.0))
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    whole = md.split("### The whole run")[1].split("### Training")[0]
    header = next(line for line in whole.splitlines() if line.startswith("| Backend"))
    assert header.split(" | ")[4:-1] == [text.PHASE_LABELS[p] for p in schema.PHASES]
    jax = next(line for line in whole.splitlines() if line.startswith("| jax"))
    # phases 0.3 + 2 + 0.5 + 0.1 x7 + 1.5 + fit 50.5 = 55.5 s, and 0.05 s unaccounted
    assert "| 55.6 | 0.30 | 2.00 |" in jax and "| 50.50 |" in jax
    assert jax.endswith("| 0.1 % (0.05 s) |")
    main = md.split("## Accuracy and time")[1].split("## Where")[0]
    assert "| 50.5 | 100 | 0.1 % (0.05 s) | abc1234 |" in main


def test_report_measures_nothing_and_takes_each_runs_own_peak(tmp_path, write_result, monkeypatch):
    from harness.worker import machine, timing

    def refuse(*args, **kwargs):
        raise AssertionError("the report measured the machine")

    monkeypatch.setattr(timing, "matmul_gflops", refuse)
    monkeypatch.setattr(machine, "matmul_peak", refuse)
    path = write_result(backend="jax", epochs_s=(30.0, 20.0, 20.0), peak_gflops=15.0)
    data = results.read(path).to_dict()
    data["recipe"].update(forward_flops_per_image=20_000_000, training_flops_factor=3)
    results.write(results.RunResult.from_dict(data), path)
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    # steady steps 5 s (the first 7.5 s step is warm-up): 100 images/s x 60 MFLOP =
    # 6 GFLOP/s, 40 % of the run's own 15 GFLOP/s; others used 1 % of its CPUs
    assert "· jit=True | 60.0 | 100 | 6.0 | 15 | 40 % | 1 % |" in md
    [row] = csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text()))
    assert float(row["training_gflops"]) == pytest.approx(6.0)
    assert float(row["share_of_peak"]) == pytest.approx(0.4)
    again = tmp_path / "again"
    (again / "runs").mkdir(parents=True)
    for f in (tmp_path / "runs").iterdir():
        (again / "runs" / f.name).write_bytes(f.read_bytes())
    render.write_report(again)
    moved = md.replace(str(tmp_path / "runs"), str(again / "runs"))
    assert (again / "REPORT.md").read_text() == moved


def test_a_run_whose_cpus_were_busy_with_other_work_is_marked_disturbed(tmp_path, write_result):
    write_result(backend="jax", other_share=0.30)
    write_result(backend="torch", other_share=0.05)
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "| 30 % ⚠ |" in row_line(md, "## Efficiency", "jax")
    assert "| 5 % |" in row_line(md, "## Efficiency", "torch")
    assert " ⚠ |" in row_line(md, "## Accuracy and time", "jax")
    assert "⚠" not in row_line(md, "## Accuracy and time", "torch")


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
    results.write(rising, results.runs_dir(tmp_path) / f"{rising.run_id}.json")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "| 10.00 ✗ |" in row_line(md, "## Accuracy and time", "jax")
    assert "| 99.00 ✗ |" in row_line(md, "## Accuracy and time", "torch")
    assert "✗" not in row_line(md, "## Accuracy and time", "tensorflow")
    assert (
        "test accuracy 10.00 % is at chance level for 10 classes (at most 10.90 % on 10,000 "
        "test images)" in md
    )
    assert f"- {rising.run_id}: the last epoch's training loss 0.7 is above the first's 0.5" in md
    table = {
        r["backend"]: r for r in csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text()))
    }
    assert [table[b]["not_converged_runs"] for b in ("jax", "tensorflow", "torch")] == [
        "1",
        "0",
        "1",
    ]


def test_runs_of_different_code_or_a_dirty_tree_are_never_pooled_silently(tmp_path, write_result):
    write_result(backend="jax", seed=1, commit="1111111aaa")
    write_result(backend="jax", seed=2, commit="2222222bbb")
    write_result(backend="torch", seed=1, dirty=True)
    write_result(backend="tensorflow", seed=1)
    render.write_report(tmp_path)
    main = (tmp_path / "REPORT.md").read_text().split("## Accuracy and time")[1]
    main = main.split("## Where")[0]
    lines = {line.split(" | ")[0][2:]: line for line in main.splitlines() if line.startswith("| ")}
    assert "| 1111111 2222222 ‡ |" in lines["jax"]
    assert "| abc1234+dirty ‡ |" in lines["torch"]
    assert "| abc1234 |" in lines["tensorflow"]


def test_a_steady_sample_far_outside_its_run_is_flagged_and_kept_out_of_the_median(
    tmp_path, write_result
):
    path = write_result(backend="jax", epochs_s=(30.0, 20.0, 21.0, 400.0, 19.0))
    run_id = results.read(path).run_id
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert f"- run {run_id}: a steady epoch of 400.000 s (the run's median 20.500 s)" in md
    # and its four 100 s steps against a steady median of 5 s
    assert md.count(f"- run {run_id}: a steady step of 100.000 s") == 4
    training = md.split("### Training")[1]
    jax = next(line for line in training.splitlines() if line.startswith("| jax"))
    assert "| 20.00 [19.20–20.80] (n=3) |" in jax
    main = md.split("## Accuracy and time")[1].split("## Where")[0]
    assert " § |" in next(line for line in main.splitlines() if line.startswith("| jax"))


def test_a_version_2_result_without_step_clocks_still_reports(tmp_path, write_result):
    path = write_result(backend="jax")
    data = results.read(path).to_dict()
    version_2 = ("import_s", "data_load_s", "build_s", "evaluate_s", "epochs_s")
    data["timings"] = {k: data["timings"][k] for k in version_2}
    del data["machine"]
    data["schema_version"] = 2
    path.write_text(json.dumps(data))
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    training = md.split("### Training")[1].split("## Efficiency")[0]
    jax = next(line for line in training.splitlines() if line.startswith("| jax"))
    # no fit() time, no steps, no latency; epochs only
    assert jax.endswith("| – | – | 30.0 | 20.00 [19.20–20.80] (n=3) | – | – | – |")
    assert "| – | – | – | – |" in md.split("## Efficiency")[1]


def test_a_one_epoch_run_has_its_speed_figures_and_plots(tmp_path, write_result):
    write_result(backend="jax", profile="quick", epochs_s=(9.0,), steps_s=[[6.0, 1.0, 1.0, 1.0]])
    paths = render.write_report(tmp_path)
    assert [p.name for p in paths[3:]] == ["training-times.png", "step-times.png"]
    # 500 images over the median 1 s steady step; no steady epoch
    line = row_line((tmp_path / "REPORT.md").read_text(), "### Training", "jax")
    assert "| 9.5 | 6.00 | 9.0 | – | 1,000.0 [1,000.0–1,000.0] (n=3) |" in line


def _failed(tmp_path, reason: str, **kwargs) -> results.RunResult:
    r = dataclasses.replace(
        make_result(**kwargs),
        status="failed",
        failure={"reason": reason, "exit_code": 2, "output_tail": []},
    )
    results.write(r, results.runs_dir(tmp_path) / f"{r.run_id}.json")
    return r


def test_each_cell_shows_its_latest_run_and_says_how_many_older_results_it_left_out(
    tmp_path, write_result
):
    write_result(backend="jax", accuracy=0.95, created="2026-11-25T10:00:00Z", invocation="a")
    write_result(backend="jax", accuracy=0.99, created="2026-11-25T11:00:00Z", invocation="b")
    write_result(backend="torch", accuracy=0.98, created="2026-11-25T10:00:00Z", invocation="a")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "3 result files" in md and "1 older result left out" in md and "--all" in md
    assert "| 1 (1) | 99.00 |" in row_line(md, "## Accuracy and time", "jax")
    assert "| 1 (1) | 98.00 |" in row_line(md, "## Accuracy and time", "torch")
    render.write_report(tmp_path, everything=True)
    md = (tmp_path / "REPORT.md").read_text()
    assert "older result" not in md
    assert "| 2 (1) | 97.00 ± 2.83 |" in row_line(md, "## Accuracy and time", "jax")


def test_results_from_before_invocations_were_recorded_are_all_shown(tmp_path, write_result):
    write_result(backend="jax", accuracy=0.95, created="2026-11-25T10:00:00Z")
    write_result(backend="jax", accuracy=0.99, created="2026-11-25T11:00:00Z")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "older result" not in md and "| 2 (1) |" in row_line(md, "## Accuracy and time", "jax")


def test_a_failure_whose_cell_later_succeeded_is_superseded_with_its_whole_reason(
    tmp_path, write_result
):
    reason = "mnist could not be loaded. Looked in:\n  - /data/mnist.npz: not found"
    old = _failed(tmp_path, reason, backend="torch", created="2026-11-25T10:00:00Z", invocation="a")
    write_result(backend="torch", created="2026-11-25T11:00:00Z", invocation="b")
    current = _failed(
        tmp_path, "killed", backend="jax", created="2026-11-25T11:00:00Z", invocation="b"
    )
    shown = grouping.select(results.read_all(tmp_path)[0])
    assert [r.run_id for r in shown.superseded] == [old.run_id]
    assert [r.run_id for r in shown.failures] == [current.run_id] and shown.left_out == 0
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    failed = md.split("## Failed runs")[1].split("## Superseded failures")[0]
    assert current.run_id in failed and old.run_id not in failed
    superseded = md.split("## Superseded failures")[1]
    assert f"- {old.run_id}: mnist could not be loaded. Looked in:<br>  - /data/mnist.npz" in (
        superseded
    )


def test_a_report_without_a_successful_run_says_so_instead_of_empty_tables(tmp_path):
    _failed(tmp_path, "training diverged", backend="jax")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "No run has succeeded yet: every run shown failed (see Failed runs)." in md
    assert "## Accuracy and time" not in md and "## Environment" not in md
    assert "## Failed runs" in md


def test_the_report_opens_with_each_comparison_ranked_by_training_time_in_plain_words(
    tmp_path, write_result
):
    pa = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], "float32")
    pb = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5]], "float32")
    # fit() takes the sum of the epochs + 0.5 s: TensorFlow 40.5 s, JAX 80.5 s
    acc = {"jax": (0.9900, 0.9910, 0.9890), "tensorflow": (0.9880, 0.9895, 0.9870)}
    epochs = {"jax": (20.0,) * 4, "tensorflow": (10.0,) * 4}
    for b, values in acc.items():
        for seed, a in zip((1, 2, 3), values, strict=True):
            predictions = [pa if b == "jax" else pb]
            write_result(
                backend=b, seed=seed, accuracy=a, epochs_s=epochs[b], predictions=predictions
            )
    write_result(backend="torch", profile="tuned")  # a comparison of its own
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    short = md.split("## In short\n")[1].split("\n## ")[0]
    assert md.index("## In short") < md.index("## Accuracy and time")
    seed_part, tuned_part = short.split("### tuned: ")
    lines = [line for line in seed_part.splitlines() if line.startswith("| ") and "---" not in line]
    assert [line.split(" | ")[0] for line in lines[1:]] == ["| tensorflow", "| jax"]
    assert lines[1].endswith("| 98.82 ± 0.13 | 40.5 | 200 | 1.00 |")
    assert lines[2].endswith("| 99.00 ± 0.10 | 80.5 | 100 | 1.99 |")
    assert "tensorflow trains fastest (40 s); jax 1.99× as long." in seed_part
    # differences 0.0020, 0.0015, 0.0020 points: p = 0.008
    assert "differ by more than seed-to-seed noise: jax − tensorflow (p = 0.008)." in seed_part
    assert "predict the same class for 66.67 % of the test images." in seed_part
    assert "Only torch ran this comparison." in tuned_part


def test_runs_that_shared_their_machine_are_marked_and_listed(tmp_path, write_result):
    # each worker lived about 96 s (its wall time) up to its record's time
    jax = write_result(backend="jax", host="box", created="2026-11-25T10:00:00Z")
    torch = write_result(backend="torch", host="box", created="2026-11-25T10:00:30Z")
    write_result(backend="tensorflow", host="other", created="2026-11-25T10:00:30Z")
    write_result(backend="tensorflow", seed=2, host="box", created="2026-11-25T11:00:00Z")
    render.write_report(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert " ⇄ |" in row_line(md, "## Accuracy and time", "jax")
    assert " ⇄ |" in row_line(md, "## Accuracy and time", "torch")
    assert "⇄" not in row_line(md, "## Accuracy and time", "tensorflow")
    assert f"- {jax.stem}: beside {torch.stem}" in md
    assert f"- {torch.stem}: beside {jax.stem}" in md
    short = md.split("## In short\n")[1].split("\n## ")[0]
    assert " ⇄ |" in next(line for line in short.splitlines() if line.startswith("| jax |"))


def test_a_cell_whose_latest_run_failed_shows_that_failure_not_its_older_success(
    tmp_path, write_result
):
    older = write_result(backend="jax", created="2026-11-25T10:00:00Z", invocation="a")
    failed = _failed(
        tmp_path, "killed", backend="jax", created="2026-11-25T11:00:00Z", invocation="b"
    )
    by_hand = write_result(backend="jax", created="2026-11-25T12:00:00Z")  # no invocation
    shown = grouping.select(results.read_all(tmp_path)[0])
    assert shown.runs == [] and [r.run_id for r in shown.failures] == [failed.run_id]
    assert shown.left_out == 2 and older.stem != by_hand.stem
    md = (render.write_report(tmp_path)[0]).read_text()
    assert "No run has succeeded yet: every run shown failed" in md
    assert "2 older results left out" in md


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
    runs, _ = results.read_all(tmp_path)
    table = grouping.rows(runs)
    assert sorted(row.backend for row in table) == [
        "keras2", "tensorflow", "torch", "torch native",
    ]  # fmt: skip
    native, keras2 = sorted(comparisons.anchors(table, comparisons.agreement(runs, tmp_path, [])),
                            key=lambda a: a.keras.backend, reverse=True)  # fmt: skip
    assert (native.keras.backend, native.anchor.backend, native.kind) == (
        "torch", "torch native", "native",
    )  # fmt: skip
    # medians 300 s over 125 s; the first runs 300/100, the second 300/150
    assert native.ratio == pytest.approx(2.4)
    assert native.ratios == [pytest.approx(3.0), pytest.approx(2.0)]
    assert native.same_class == [pytest.approx(0.75)]
    assert (native.keras.test_accuracy, native.anchor.test_accuracy) == (0.990, 0.991)
    assert native.keras.test_accuracy_std == 0.0
    assert (keras2.keras.backend, keras2.anchor.backend, keras2.kind) == (
        "tensorflow", "keras2", "keras2",
    )  # fmt: skip
    assert keras2.ratio == pytest.approx(100 / 80) and keras2.same_class == [1.0]
    md = (tmp_path / render.write_report(tmp_path)[0].name).read_text()
    section = md.split("## Anchors: how much of the time is Keras's\n")[1].split("\n## ")[0]
    torch_part = section.split("### torch\n")[1]
    assert "| torch native | 2 | 300.0 | 125.0 | 2.40 [2.00–3.00] | 99.00 ± 0.00 | 99.10 ± 0.00 " \
        "| 75.00 |" in torch_part  # fmt: skip
    assert (
        "| keras2 | 1 | 100.0 | 80.0 | 1.25 [1.25–1.25] | 98.90 | 99.20 | 100.00 |"
        in (section.split("### tensorflow\n")[1])
    )


def test_the_report_says_where_runs_ran_by_host_and_node(tmp_path, write_result):
    a = write_result(backend="jax", host="box", node="a" * 56, created="2026-11-25T10:00:00Z")
    b = write_result(backend="torch", host="box", node="b" * 56, created="2026-11-25T10:00:30Z")
    c = write_result(backend="tensorflow", host="far", node="c" * 56)
    placed = grouping.placement(results.read_all(tmp_path)[0])
    # Two nodes of one host share its cores: runs on both at once shared the machine.
    assert [(p.run_id, p.beside) for p in placed] == [(a.stem, 1), (b.stem, 1), (c.stem, 0)]
    md = render.write_report(tmp_path)[0].read_text()
    assert f"| box | {'a' * 12} | 0 | 09:58:24 | {a.stem} | 1 |" in md
    assert f"| far | {'c' * 12} | 0 | 09:58:24 | {c.stem} | 0 |" in md


def test_runs_on_one_machine_without_ray_need_no_placement(tmp_path, write_result):
    write_result(backend="jax", host="box")
    write_result(backend="torch", host="box")
    assert grouping.placement(results.read_all(tmp_path)[0]) == []
    assert "Where the runs ran" not in render.write_report(tmp_path)[0].read_text()


def test_a_record_that_names_no_node_still_reads(tmp_path, write_result):
    path = write_result()
    data = json.loads(path.read_text())
    del data["environment"]["node"]  # records of older harnesses
    path.write_text(json.dumps(data))
    assert results.read(path).environment.node is None


def _quick(write_result, backend: str) -> None:
    """A result whose report has plots (steady steps) beside its texts."""
    write_result(backend=backend, profile="quick", epochs_s=(9.0,), steps_s=[[6.0, 1.0, 1.0, 1.0]])


def _report_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "runs"}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_report_stopped_while_it_is_made_leaves_the_old_one_whole_in_one_line(
    tmp_path, write_result, monkeypatch, capsys, terminal_signals, signum
):
    _quick(write_result, "jax")
    assert cli.main(["report", "--results", str(tmp_path)]) == 0
    before = _report_files(tmp_path)
    _quick(write_result, "torch")  # the next report would differ
    made = render.html

    def html(*args):  # everything made, nothing published yet: as Ctrl-C or kill would
        page = made(*args)
        os.kill(os.getpid(), signum)
        return page

    monkeypatch.setattr(render, "html", html)
    capsys.readouterr()
    assert stopped_main(["report", "--results", str(tmp_path)]) == 128 + signum
    assert capsys.readouterr().err == (
        f"\n==> interrupted while writing the report; no file of the report was changed in "
        f"{tmp_path}\n"
    )
    assert _report_files(tmp_path) == before and len(before) == 5


def test_a_stop_while_the_report_is_moved_into_place_waits_for_its_last_file(
    tmp_path, write_result, monkeypatch, capsys, terminal_signals
):
    _quick(write_result, "jax")
    assert cli.main(["report", "--results", str(tmp_path)]) == 0
    _quick(write_result, "torch")
    replace, sent = os.replace, []

    def moving(src, dst):
        replace(src, dst)
        if Path(dst).parent == tmp_path and not sent:  # the first file in place
            sent.append(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", moving)
    capsys.readouterr()
    assert stopped_main(["report", "--results", str(tmp_path)]) == 130 and sent
    assert capsys.readouterr().err.endswith(
        f"; the new report was written whole first in {tmp_path}\n"
    )
    md, page = (tmp_path / "REPORT.md").read_text(), (tmp_path / "report.html").read_text()
    assert "| torch |" in md and "<td>torch</td>" in page
    assert "torch," in (tmp_path / "summary.csv").read_text()


def _harness(*argv, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -m harness` in a child whose stdout is strictly UTF-8, as at a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def test_a_results_folder_whose_name_is_not_utf8_gets_its_whole_report(tmp_path, write_result):
    _quick(write_result, "jax")
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/r\xff"))
    tmp_path.rename(tmp_path.with_name("moved"))
    Path(tmp_path).mkdir()
    tmp_path.with_name("moved").rename(folder)
    done = _harness("report", "--results", folder)
    assert done.returncode == 0 and done.stderr == b"", done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == b"report: " + os.fsencode(folder) + b"/REPORT.md"
    md = (folder / "REPORT.md").read_text(encoding="utf-8")
    assert f"in `{tmp_path}/r\ufffd/runs`" in md
    assert sorted(_report_files(folder)) == [
        "REPORT.md", "report.html", "step-times.png", "summary.csv", "training-times.png",
    ]  # fmt: skip


def test_a_named_pipe_among_the_results_is_skipped_with_a_warning_not_waited_on(
    tmp_path, write_result
):
    write_result(backend="jax")
    pipe = results.runs_dir(tmp_path) / "zz.json"
    os.mkfifo(pipe)
    done = _harness("report", "--results", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.decode() == (
        f"warning: skipped {pipe}: a named pipe, not a file a run writes\n"
    )
    assert "| jax |" in (tmp_path / "REPORT.md").read_text()
