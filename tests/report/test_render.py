"""The report renders the summary (harness/report/): its files, the values and marks of
the typed rows where they belong, the ranking first, every listed run named. The figures
themselves are tested on the summary (tests/summary/: test_grouping, test_timing_figures,
test_comparisons)."""

import csv
import dataclasses
import html.parser
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.record import schema, store
from harness.report import render
from harness.report.text import difference_text, literal, signed
from harness.summary.build import build
from tests.factories import HOSTILE, make_ops, make_result, stopped_main, write_hostile


def row_line(md: str, section: str, backend: str) -> str:
    """The table line of `backend` in the section of the report headed `section`."""
    part = md.split(section + "\n")[1].split("\n## ")[0].split("\n### ")[0]
    return next(line for line in part.splitlines() if line.startswith(f"| {backend} |"))


def test_written_report_has_a_row_per_backend_and_the_environment(tmp_path, write_result):
    write_result(backend="tensorflow", accuracy=0.9898, evaluate_s=2.0)
    write_result(backend="jax", accuracy=0.9907, evaluate_s=2.0)
    (tmp_path / "runs" / "empty.json").write_text("")
    paths = render.write_report(build(tmp_path), tmp_path)
    assert [p.name for p in paths[:3]] == ["REPORT.md", "report.html", "summary.csv"]
    plots = paths[3:]
    assert [p.name.split("-mnist")[0] for p in plots] == [
        "glance-m1",
        "training-times.png",
        "step-times.png",
        "loss-curves-m1",
        "accuracy-per-epoch-m1",
    ]
    md = (tmp_path / "REPORT.md").read_text()
    page = (tmp_path / "report.html").read_text()
    for plot in plots:
        assert plot.read_bytes().startswith(b"\x89PNG")
        assert f"]({plot.name})" in md
        # self-contained: the plot is inside the page, not beside it
        assert plot.name not in page
    assert "<table>" in page and page.count("data:image/png;base64,") == 5
    accuracy_table = md.split("## Accuracy and time")[1].split("##")[0]
    table_rows = [line for line in accuracy_table.splitlines() if line.startswith("| jax")]
    table_rows += [line for line in accuracy_table.splitlines() if line.startswith("| tensorflow")]
    assert len(table_rows) == 2
    assert "| 99.07 |" in md and "| 98.98 |" in md
    assert "Published for mnist_cnn: 99.06 %." in md
    assert "### jax" in md and "### tensorflow" in md and "abc123" in md
    assert "empty.json" in md
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert [(r["backend"], r["test_accuracy"]) for r in rows] == [
        ("jax", "0.9907"),
        ("tensorflow", "0.9898"),
    ]
    # Training, as the tables give it, is fit() less its per-epoch evaluations: its own
    # column beside the phase's
    assert all(0 < float(r["training_s"]) < float(r["fit_s"]) for r in rows)


def test_report_imports_no_keras_and_no_framework(tmp_path, write_result):
    write_result()
    code = (
        "import sys; from harness.report import render; from harness.summary.build import build;"
        f"render.write_report(build({str(tmp_path)!r}), {str(tmp_path)!r});"
        "loaded = {'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules);"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_starting_points_say_whether_the_dropout_masks_were_identical(tmp_path, write_result):
    harness = f"{schema.HARNESS_MASKS} <b>gen</b> v1"  # a record's words, escaped
    for backend in ("jax", "torch"):
        write_result(backend=backend, dropout_masks=harness)
        write_result(backend=backend, seed=2, dropout_masks=schema.BACKEND_MASKS)
    md = render.write_report(build(tmp_path), tmp_path)[0].read_text()
    part = md.split("### Starting points\n")[1].split("\n### ")[0]
    assert "| 1 | jax: w / b; torch: w / b | yes | identical (&lt;b&gt;gen&lt;/b&gt; v1) |" in part
    assert (
        "| 2 | jax: w / b; torch: w / b | yes | not identical: jax, torch drew their own |" in part
    )
    # the note under the accuracy tables does not say the older masks were the harness's
    assert "the dropout masks too where Starting points says so" in md
    assert "dropout masks by the harness's counter-based generator" not in md


def test_the_init_note_says_the_masks_were_the_harnesss_where_every_run_says_so(
    tmp_path, write_result
):
    for backend in ("jax", "torch"):
        write_result(backend=backend, dropout_masks=f"{schema.HARNESS_MASKS} gen v1")
    md = render.write_report(build(tmp_path), tmp_path)[0].read_text()
    assert "numpy, dropout masks by the harness's counter-based generator, the same on" in md


def test_a_reason_with_pipes_and_lines_stays_in_its_table_cell(
    tmp_path, write_result, write_failure
):
    write_result(backend="jax")
    reason = "mnist could not be loaded. Looked in:\n  - a|b.npz: not found\n  - c"
    write_failure(reason, backend="torch")
    render.write_report(build(tmp_path), tmp_path)
    [line] = [x for x in (tmp_path / "REPORT.md").read_text().splitlines() if "| torch |" in x]
    assert line.endswith(
        "| mnist could not be loaded. Looked in:<br>  \\- a\\|b.npz: not found<br>  \\- c |"
    )
    html = (tmp_path / "report.html").read_text()
    [row] = [r for r in html.split("<tr>") if "torch" in r and "Looked in" in r]
    assert row.count("<td") == 6 and "a|b.npz" in row and "<br>" in row


class _Page(html.parser.HTMLParser):
    """The elements of a page (tag, attributes), its text, and the text of each code
    element."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text = ""
        self.codes: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "code":
            self.codes.append("")

    def handle_endtag(self, tag):
        self.elements.append((f"/{tag}", {}))

    def handle_data(self, data):
        self.text += data
        if self.elements and self.elements[-1][0] == "code":
            self.codes[-1] += data


def test_markup_in_a_record_reaches_neither_report_as_markup_and_reads_as_it_is(tmp_path):
    write_hostile(tmp_path)
    render.write_report(build(tmp_path), tmp_path)
    page = _Page((tmp_path / "report.html").read_text())
    # every element is the report's own: no script, link, emphasis or code from a record,
    # and the only pictures are its plots
    made = {tag for tag, _ in page.elements if not tag.startswith("/")}
    assert made <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p",
                    "ul", "li", "div", "table", "thead", "tbody", "tr", "th", "td", "abbr",
                    "img", "br", "code"}, made  # fmt: skip
    assert all(a["src"].startswith("data:image/png") for tag, a in page.elements if tag == "img")
    assert not any(k.startswith("on") for _, a in page.elements for k in a)
    assert page.codes and "code" not in page.codes  # the report's own code, not a record's
    for hostile in HOSTILE:
        assert hostile in page.text


def test_a_report_without_a_successful_run_says_so_instead_of_empty_tables(tmp_path, write_failure):
    write_failure("training diverged", backend="jax")
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "No run has succeeded yet: every run shown failed (see Failed runs)." in md
    assert "## Accuracy and time" not in md and "## Environment" not in md
    assert "## Failed runs" in md
    assert "from 1 result file in " in md and ", 1 failed run among them.\n" in md


def test_the_report_opens_with_each_comparison_ranked_by_speed_in_plain_words(
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
    write_result(backend="torch", profile="quick")  # a comparison of its own
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    short = md.split("## In short\n")[1].split("\n## ")[0]
    assert md.index("## In short") < md.index("## Accuracy and time")
    quick_part, seed_part = short.split("### seed: ")
    lines = [line for line in seed_part.splitlines() if line.startswith("| ") and "---" not in line]
    assert [line.split(" | ")[0] for line in lines[1:]] == ["| tensorflow", "| jax"]
    # steady steps of 2.5 s and 5 s: 200 and 100 images/s, without rounds no interval
    assert lines[1].endswith("| 98.82 ± 0.13 | 40.5 | 200 | 1.00 |")
    assert lines[2].endswith("| 99.00 ± 0.10 | 80.5 | 100 | 2.00 ∗ |")
    assert (
        "tensorflow trains fastest (200 images/s at a steady step); jax takes 2.00× as long "
        "a step. Without rounds a ratio has no interval" in seed_part
    )
    # differences 0.20, 0.15, 0.20 points: mean 0.1833, se 0.016667; 90 %: t(0.95, 2) =
    # 2.919986, 0.1347 to 0.2320, outside ±0.1; 95 %: t(0.975, 2) = 4.302653, 0.1116 to
    # 0.2550, without 0 (the paired t-test's p = 0.008)
    assert (
        "jax − tensorflow: +0.183 points [90 %: +0.135 to +0.232] of test accuracy over 3 "
        "paired seeds: different (beyond seed-to-seed noise, not within ±0.1 points)."
    ) in seed_part
    assert "predict the same class for 66.67 % of the test images." in seed_part
    assert "Only torch ran this comparison." in quick_part


@pytest.mark.parametrize(
    ("jax_runs", "section", "marked", "unmarked"),
    [
        # noisy: a spread of 80 % of the median
        ([{"epochs_s": (30.0, 10.0, 20.0, 30.0)}], "### Training",
         "| 20.00 † [12.00–28.00] (n=3) |", "| 20.00 [19.20–20.80] (n=3) |"),
        # disturbed: others used 30 % of its CPUs
        ([{"other_share": 0.30}], "## Efficiency", "| 30 % ⚠ |", "| 1 % |"),
        ([{"other_share": 0.30}], "## Accuracy and time", "| 90.5 ⚠ |", "| 90.5 |"),
        # not converged: at chance
        ([{"accuracy": 0.1}], "## Accuracy and time", "| 10.00 ✗ |", "| 99.00 |"),
        # code: a tree with changes
        ([{"dirty": True}], "## Accuracy and time", "| abc1234+dirty ‡ |", "| abc1234 |"),
        # an outlying epoch, beside the steady throughput it was kept out of
        ([{"epochs_s": (30.0, 20.0, 21.0, 400.0, 19.0)}], "## Accuracy and time", "| 100 § |",
         "| 100 |"),
        # shared: two runs on one host at once
        ([{"host": "box"}, {"host": "box", "seed": 2}], "## Accuracy and time", "| 90.5 ⇄ |",
         "| 90.5 |"),
    ],
)  # fmt: skip
def test_what_the_summary_flags_is_marked_beside_its_figure(
    tmp_path, write_result, jax_runs, section, marked, unmarked
):
    for kwargs in jax_runs:
        write_result(backend="jax", **kwargs)
    write_result(backend="torch")
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert marked in row_line(md, section, "jax")
    assert unmarked in row_line(md, section, "torch")


def test_the_report_measures_nothing_and_reads_the_same_in_another_folder(
    tmp_path, write_result, no_measuring
):
    write_result(backend="jax", peak_gflops=15.0)
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    again = tmp_path / "again"
    (again / "runs").mkdir(parents=True)
    for f in (tmp_path / "runs").iterdir():
        (again / "runs" / f.name).write_bytes(f.read_bytes())
    render.write_report(build(again), again)
    moved = md.replace(str(tmp_path / "runs"), str(again / "runs"))
    assert (again / "REPORT.md").read_text() == moved


def test_a_one_epoch_run_has_no_curve_to_plot_but_its_times(tmp_path, write_result):
    write_result(backend="jax", profile="quick", epochs_s=(9.0,), steps_s=[[6.0, 1.0, 1.0, 1.0]])
    paths = render.write_report(build(tmp_path), tmp_path)
    assert [p.name.split("-m1")[0] for p in paths[3:]] == [
        "glance", "training-times.png", "step-times.png",
    ]  # fmt: skip


def listed(md: str, heading: str, skip: int = 1) -> str:
    """The paragraph `skip` paragraphs after the one that opens with `heading`."""
    return md.split("\n" + heading, 1)[1].split("\n\n")[skip]


def test_every_run_the_summary_lists_is_named_under_its_heading(
    tmp_path, write_result, write_failure
):
    old = write_failure("no data", backend="torch", created="2026-11-25T09:00:00Z", invocation="a")
    torch = write_result(backend="torch", invocation="b", host="box", node="n1")
    failed = write_failure("killed", backend="jax", invocation="b")
    far = write_result(
        backend="tensorflow", accuracy=0.1, epochs_s=(30.0, 20.0, 21.0, 400.0, 19.0),
        invocation="b", host="box", node="n2",
    )  # fmt: skip
    s = build(tmp_path)
    assert s.shown.superseded and s.shown.failures and s.not_converged and s.shared
    md = render.write_report(build(tmp_path), tmp_path)[0].read_text()
    assert old.run_id in listed(md, "## Superseded failures", 2)
    assert failed.run_id in listed(md, "## Failed runs", 2)
    assert old.run_id not in listed(md, "## Failed runs", 2)
    assert far.stem in listed(md, "Not converged")
    assert far.stem in listed(md, "Outlying samples")
    shared = listed(md, "Shared the machine")
    assert f"- {torch.stem}: beside {far.stem}" in shared
    assert f"- {far.stem}: beside {torch.stem}" in shared
    placed = listed(md, "Where the runs ran")
    assert f"| box | n1 | 0 | 09:58:24 | {torch.stem} | 1 |" in placed
    # each began its wall time before its record: 95.55 s, and 495.55 s with its 400 s epoch
    assert f"| box | n2 | 0 | 09:51:44 | {far.stem} | 1 |" in placed


def test_in_short_gives_each_ratio_from_rounds_its_interval_and_says_when_it_is_beyond_noise(
    tmp_path, write_result
):
    for rnd, (torch_s, jax_s) in enumerate(((2.0, 1.1), (2.2, 0.95), (1.8, 1.05)), start=1):
        for backend, step in (("tensorflow", 1.0), ("torch", torch_s), ("jax", jax_s)):
            write_result(backend=backend, round=rnd, invocation="rounds",
                         epochs_s=(4 * step,), steps_s=[[step] * 4])  # fmt: skip
    render.write_report(build(tmp_path), tmp_path)
    short = (tmp_path / "REPORT.md").read_text().split("## In short\n")[1].split("\n## ")[0]
    [torch] = [line for line in short.splitlines() if line.startswith("| torch |")]
    assert torch.endswith("| 1.99 [1.55–2.56] |")  # geomean of 2.0, 2.2, 1.8; t(2) = 4.30
    assert "Slower beyond the rounds' noise (95 % interval above 1): torch." in short
    assert "Not told apart from tensorflow by the rounds: jax." in short


def test_the_speed_profile_is_ranked_by_speed_and_its_accuracy_is_not_compared(
    tmp_path, write_result
):
    for backend, accuracy in (("tensorflow", 0.5), ("torch", 0.6)):
        write_result(backend=backend, profile="speed", accuracy=accuracy)
    render.write_report(build(tmp_path), tmp_path)
    short = (tmp_path / "REPORT.md").read_text().split("## In short\n")[1].split("\n## ")[0]
    assert "its accuracies are not compared." in short
    assert "| 50.00" not in short and "| 60.00" not in short


def test_a_speed_runs_accuracy_says_it_is_of_the_test_sets_first_images(tmp_path, write_result):
    write_result(backend="tensorflow", profile="speed", accuracy=0.5,
                 skipped=("full evaluation", "predictions", "latency"))  # fmt: skip
    write_result(backend="torch", profile="speed", accuracy=0.6)  # made before version 8
    render.write_report(build(tmp_path), tmp_path)
    table = (tmp_path / "REPORT.md").read_text().split("## Accuracy and time\n")[1]
    table = table.split("\n## ")[0].splitlines()
    [tf] = [line for line in table if line.startswith("| tensorflow |")]
    [torch] = [line for line in table if line.startswith("| torch |")]
    assert "| 50.00 (first 10,000 test images) |" in tf
    assert "| 60.00 |" in torch


def test_the_tuned_settings_section_names_them_their_source_and_their_speed(tmp_path, write_result):
    write_result(backend="torch", epochs_s=(4.0,), steps_s=[[1.0] * 4])
    write_result(backend="torch", tuning=(("malloc", "no mmap"),), epochs_s=(2.6,),
                 steps_s=[[0.65] * 4])  # fmt: skip
    render.write_report(build(tmp_path), tmp_path)
    section = (tmp_path / "REPORT.md").read_text().split("## Tuned settings\n")[1]
    [row] = [line for line in section.split("\n## ")[0].splitlines() if "| torch |" in line]
    assert row.endswith("| torch | malloc=no mmap | a test's tuning record | 0.65 ∗ |")


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
    assert _report_files(tmp_path) == before and len(before) == 6


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
    assert "in " + literal(f"{tmp_path}/r\ufffd/runs") in md
    assert [name.split("-m1")[0] for name in sorted(_report_files(folder))] == [
        "REPORT.md", "glance", "report.html", "step-times.png", "summary.csv",
        "training-times.png",
    ]  # fmt: skip


def test_a_record_that_names_a_file_whose_name_is_not_utf8_gets_its_whole_report(tmp_path):
    # written by a harness that took such a name (a byte 0xff, kept as a lone surrogate)
    made = make_result(backend="torch")
    spec = dataclasses.replace(made.spec, dataset="d\udcff.npz", dataset_sha256="a" * 64)
    store.write(dataclasses.replace(made, spec=spec), store.runs_dir(tmp_path) / "r.json")
    render.write_report(build(tmp_path), tmp_path)
    for name in ("REPORT.md", "report.html", "summary.csv"):
        assert "d\ufffd.npz" in (tmp_path / name).read_text(encoding="utf-8")


def test_a_named_pipe_among_the_results_is_skipped_with_a_warning_not_waited_on(
    tmp_path, write_result
):
    write_result(backend="jax")
    pipe = store.runs_dir(tmp_path) / "zz.json"
    os.mkfifo(pipe)
    done = _harness("report", "--results", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.decode() == (
        f"warning: skipped {pipe}: a named pipe, not a file a run writes\n"
    )
    assert "| jax |" in (tmp_path / "REPORT.md").read_text()


def test_a_paused_step_marks_the_training_time_that_holds_it_where_it_is_shown(
    tmp_path, write_result
):
    # one step of 20 s among 1 s steps: a pause the steady figures leave out, fit() not
    write_result(backend="torch", epochs_s=(26.0,), steps_s=[[3.0, 1.0, 20.0, 1.0, 1.0]])
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    for section in ("## In short", "## Accuracy and time"):
        part = md.split(section + "\n")[1].split("\n## ")[0]
        [row] = [line for line in part.splitlines() if line.startswith("| torch |")]
        assert "26.5 §" in row, (section, row)


def _in_short(md: str) -> str:
    return md.split("## In short\n")[1].split("\n## ")[0]


def test_each_comparison_opens_with_its_picture_beside_its_ranking(tmp_path, write_result):
    for backend in ("tensorflow", "jax"):
        write_result(backend=backend)
    write_result(backend="torch", profile="quick")  # a comparison of its own
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    for part in _in_short(md).split("\n### ")[1:]:
        picture, ranking = part.index("![At a glance"), part.index("| Backend |")
        assert picture < ranking
        name = part[picture:].split("](")[1].split(")")[0]
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "report.html").read_text()
    glances = page.split('<div class="glance">')[1:]
    assert len(glances) == 2
    for glance in glances:
        assert glance.startswith('\n<p><img alt="At a glance')
        assert '<div class="scroll">\n<table>' in glance.split("</table>")[0]


def test_the_picture_shows_each_rows_interval_from_rounds_or_its_runs_range_and_accuracies(
    tmp_path, write_result, monkeypatch
):
    from harness.report import plots

    for rnd, (torch_s, acc) in enumerate(((2.0, 0.98), (2.2, 0.99), (1.8, 0.97)), start=1):
        for backend, step in (("tensorflow", 1.0), ("torch", torch_s)):
            write_result(backend=backend, round=rnd, invocation="rounds", accuracy=acc,
                         epochs_s=(4 * step,), steps_s=[[step] * 4])  # fmt: skip
    # Without rounds, two seeds: each run's step over the fastest row's median step.
    for seed, step in ((1, 3.0), (2, 5.0)):
        write_result(backend="jax", seed=seed, epochs_s=(4 * step,), steps_s=[[step] * 4],
                     profile="quick")  # fmt: skip
    write_result(backend="torch", epochs_s=(4.0,), steps_s=[[1.0] * 4], profile="quick")
    drawn = []
    made = plots.glance

    def glance(lines, colours, path):
        drawn.append(lines)
        return made(lines, colours, path)

    monkeypatch.setattr(plots, "glance", glance)
    render.write_report(build(tmp_path), tmp_path)
    quick, rounds = drawn
    assert [(line.backend, line.ratio, line.low, line.high) for line in quick] == [
        ("torch", 1.0, None, None),
        ("jax", 4.0, 3.0, 5.0),
    ]
    tensorflow, torch = rounds
    assert (tensorflow.ratio, torch.ratio) == (1.0, pytest.approx(1.99, abs=0.005))
    assert (round(torch.low, 2), round(torch.high, 2)) == (1.55, 2.56)
    assert sorted(torch.accuracies) == pytest.approx([97.0, 98.0, 99.0])
    assert torch.reference == pytest.approx(99.06)


def test_the_speed_profiles_picture_shows_no_accuracy(tmp_path, write_result, monkeypatch):
    from harness.report import plots

    for backend in ("tensorflow", "torch"):
        write_result(backend=backend, profile="speed")
    drawn = []
    made = plots.glance
    monkeypatch.setattr(plots, "glance", lambda *a: drawn.append(a[0]) or made(*a))
    render.write_report(build(tmp_path), tmp_path)
    [lines] = drawn
    assert [line.accuracies for line in lines] == [[], []]


def test_a_table_notes_the_marks_it_shows_and_no_other(tmp_path, write_result):
    write_result(backend="jax", other_share=0.30, epochs_s=(10.0,) * 4)
    write_result(backend="torch", epochs_s=(10.0,) * 4)
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    short = _in_short(md)
    noted = [line[2] for line in short.splitlines() if line.startswith("- ")]
    assert noted == ["S", "T", "⚠", "∗"]  # Step × fastest, Test acc., then its two marks
    accuracy = md.split("## Accuracy and time\n")[1].split("\n## ")[0]
    assert "- ⚠ disturbed: other processes used more than 10 %" in accuracy
    for sign in "†‡✗§∗⇄":
        assert sign not in accuracy


def test_a_comparison_group_is_said_once_above_its_rows(tmp_path, write_result):
    write_result(backend="jax")
    write_result(backend="torch", data_format="channels_first")
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    accuracy = md.split("## Accuracy and time\n")[1].split("\n## ")[0]
    assert accuracy.count("seed: mnist_cnn on mnist (2,000 images") == 1
    assert row_line(md, "## Accuracy and time", "torch").startswith(
        "| torch | channels_first · jit=False | 1 (1) |"
    )


def test_a_comparison_timed_by_one_row_says_so_and_ranks_no_untimed_row_first(
    tmp_path, write_result
):
    write_result(backend="jax", epochs_s=(9.0,), steps_s=[[]])
    write_result(backend="torch", epochs_s=(9.0,), steps_s=[[]])
    render.write_report(build(tmp_path), tmp_path)
    short = _in_short((tmp_path / "REPORT.md").read_text())
    [jax] = [line for line in short.splitlines() if line.startswith("| jax |")]
    assert jax.endswith("| – | – |")  # neither images/s nor a ratio
    assert "timed" not in short
    write_result(backend="tensorflow", epochs_s=(9.0,))
    render.write_report(build(tmp_path), tmp_path)
    short = _in_short((tmp_path / "REPORT.md").read_text())
    assert "Only tensorflow timed its steps: there is no speed to compare." in short


def test_the_page_boxes_every_table_titles_each_mark_and_asks_for_nothing(tmp_path, write_result):
    write_result(backend="jax", epochs_s=(30.0, 10.0, 20.0, 30.0))  # noisy
    write_result(backend="torch")
    render.write_report(build(tmp_path), tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.count("<table>") == page.count('<div class="scroll">\n<table>') > 3
    assert '<abbr title="noisy: the 10th–90th percentile range' in page
    assert " †<" not in page  # every mark in a table is titled
    assert page.count('<ul class="notes">') >= 3
    # self-contained: nothing the browser would fetch
    for asked in ("<link", "<script", "src='http", 'src="http', "url("):
        assert asked not in page


def short_and_equivalence(results_dir: Path) -> tuple[str, str]:
    """REPORT.md's In short and its Equivalence of test accuracies, rebuilt."""
    render.write_report(build(results_dir), results_dir)
    md = (results_dir / "REPORT.md").read_text()
    short = md.split("## In short\n")[1].split("\n## ")[0]
    return short, md.split("### Equivalence of test accuracies\n")[1].split("\n### ")[0]


def test_in_short_asks_for_two_paired_seeds_where_a_pair_of_backends_shares_fewer(
    tmp_path, write_result
):
    write_result(backend="tensorflow", seed=1)
    write_result(backend="jax", seed=1)
    write_result(backend="torch", seed=2)
    short, section = short_and_equivalence(tmp_path)
    assert (
        "Whether their test accuracies are equivalent within ±0.1 points needs ≥ 2 paired "
        "seeds, the same seeds on both backends (`--seeds 1,2,3,4,5`)."
    ) in short
    assert "cannot tell" not in short
    assert "no two backends share two or more seeds (`--seeds 1,2,3,4,5`)." in section
    assert "| Backends |" not in section

    # tensorflow and jax now share seeds 1 and 2; torch still ran seed 2 alone
    write_result(backend="tensorflow", seed=2)
    write_result(backend="jax", seed=2)
    write_result(backend="torch", seed=3)
    short, section = short_and_equivalence(tmp_path)
    assert "jax − tensorflow: 0.000 points" in short
    assert (
        "Whether jax and torch, tensorflow and torch are equivalent within ±0.1 points of "
        "test accuracy needs ≥ 2 paired seeds"
    ) in short
    assert "| jax − tensorflow | 1 2 | 0.000 | 0.000 to 0.000 | equivalent" in section
    assert "| jax − torch | 2 | – | – | needs ≥ 2 paired seeds |" in section


def test_each_pair_of_backends_is_judged_within_the_margin_the_report_is_given(
    tmp_path, write_result, capsys
):
    # jax - tensorflow, in points: +0.02, -0.03, +0.05, 0, +0.01: mean 0.01, 90 % interval
    # -0.0178 to +0.0378 (tests/summary/test_stats.py's literal case)
    for seed, jax in enumerate((0.9896, 0.9891, 0.9899, 0.9894, 0.9895), start=1):
        write_result(backend="tensorflow", seed=seed, accuracy=0.9894)
        write_result(backend="jax", seed=seed, accuracy=jax)
    short, table = short_and_equivalence(tmp_path)
    assert "Each pair of backends within ±0.1 points of test accuracy (`--margin`)" in table
    assert (
        "| jax − tensorflow | 1 2 3 4 5 | +0.010 | -0.018 to +0.038 "
        "| equivalent within ±0.1 points |"
    ) in table
    assert (
        "jax − tensorflow: +0.010 points [90 %: -0.018 to +0.038] of test accuracy over 5 "
        "paired seeds: equivalent within ±0.1 points."
    ) in short
    assert "cannot tell" not in short

    # sd 0.029155, room 0.02 inside ±0.03: eight seeds' 90 % half-width is 0.0195
    assert cli.main(["report", "--results", str(tmp_path), "--margin", "0.03"]) == 0
    md = (tmp_path / "REPORT.md").read_text()
    assert (
        "| jax − tensorflow | 1 2 3 4 5 | +0.010 | -0.018 to +0.038 "
        "| undecided: about 8 paired seeds would decide it at the noise observed |"
    ) in md
    assert "Each pair of backends within ±0.03 points" in md


def test_a_results_folder_in_the_users_home_is_shown_by_its_placeholder(
    tmp_path, write_result, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path))  # the results folder is in this home
    write_result()
    (tmp_path / "runs" / "damaged.json").write_text("{")  # a warning that names its file
    render.write_report(build(tmp_path), tmp_path)
    for name in ("REPORT.md", "report.html", "summary.csv"):
        text = (tmp_path / name).read_text()
        assert str(tmp_path) not in text, name
    assert "&lt;home&gt;/runs" in (tmp_path / "report.html").read_text()
    assert "damaged.json" in (tmp_path / "REPORT.md").read_text()


def test_a_difference_that_rounds_to_zero_is_shown_without_a_sign():
    assert [signed(v) for v in (0.0304, -0.0121, -0.0004, 0.0004, -0.0)] == [
        "+0.030", "-0.012", "0.000", "0.000", "0.000",
    ]  # fmt: skip
    from harness.summary.stats import Equivalence, Verdict

    e = Equivalence(
        n=5, mean=-0.0001, low=-0.012, high=0.012, margin=0.1, p=0.001, beyond_noise=False,
        verdict=Verdict.EQUIVALENT, seeds_needed=None,
    )  # fmt: skip
    assert difference_text(e) == "0.000 points [90 %: -0.012 to +0.012]"


def test_which_ops_took_the_time_is_shown_for_the_rows_that_profiled_them(tmp_path, write_result):
    write_result(backend="tensorflow")
    render.write_report(build(tmp_path), tmp_path)
    assert "### Which ops" not in (tmp_path / "REPORT.md").read_text()
    ops = make_ops(("aten::convolution_backward", 0.6), ("aten::copy_", 0.3), op_s=1.2, wall_s=0.8)
    write_result(backend="torch", ops=ops)
    render.write_report(build(tmp_path), tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    table = md.split("### Which ops")[1].split("## Efficiency")[0]
    # two steps: 400 ms each with the profiler on, 600 ms of op time each
    assert (
        "| torch | seed · init harness · channels_last · jit=False | 1 | a test's profiler "
        "| 400.0 | 600.0 | aten::convolution_backward 50 %; aten::copy_ 25 % |"
    ) in table
    assert "| tensorflow |" not in table
