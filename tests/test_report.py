import csv
import dataclasses
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_result

from harness.record import results, schema
from harness.report import render, text
from harness.summary import comparisons, grouping


def row_line(md: str, section: str, backend: str) -> str:
    """The table line of `backend` in the section of the report headed `section`."""
    part = md.split(section + "\n")[1].split("\n## ")[0].split("\n### ")[0]
    return next(line for line in part.splitlines() if line.startswith(f"| {backend} |"))


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
