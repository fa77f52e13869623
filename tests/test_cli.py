"""The parent process's handling of workers, with the worker replaced by a stand-in."""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import sys
import types

import pytest

from harness import cli
from harness.launch import process
from harness.record import atomic, store
from tests.factories import stopped_main


def test_a_failed_backend_is_recorded_and_the_others_go_on(fake_workers, tmp_path, capsys):
    code = cli.main(["run", "--backend", "tf,jax,torch", "--results", str(tmp_path)])
    assert code == 1
    assert [b for b, _, _ in fake_workers] == ["tensorflow", "jax", "torch"]
    found, _ = store.read_all(tmp_path)
    assert sorted((r.spec.backend, r.status) for r in found) == [
        ("jax", "failed"), ("tensorflow", "ok"), ("torch", "ok"),
    ]  # fmt: skip
    out, err = capsys.readouterr()
    # told once, by the worker; the last line sums up
    assert err.count("training diverged") == 1 and "==> jax (seed 1): FAILED" in out
    assert err.splitlines()[-1].startswith("error: 1 of 3 runs failed: jax (seed 1);")
    assert "## Failed runs" in (tmp_path / "REPORT.md").read_text()


def test_a_worker_that_could_not_say_why_is_explained_once_by_the_parent(
    fake_workers, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr(process, "start_worker", lambda task, **kw: (-9, []))
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: torch (seed 1): the worker was stopped by SIGKILL (killed from outside; "
        "out of memory?)",
        "error: 1 of 1 run failed: torch (seed 1); each is recorded with its reason in the "
        "results folder",
    ]


def test_a_worker_killed_while_saving_leaves_no_temporary_file_behind(
    fake_workers, monkeypatch, tmp_path, capsys
):
    def killed_while_saving(task, **kw):
        out = task.out
        for kind in ("predictions.npz", "weights.npz"):
            (out.parent / f".{out.stem}.{kind}.k7f3.tmp").write_bytes(b"\0" * 4096)
        return -signal.SIGKILL, []

    monkeypatch.setattr(process, "start_worker", killed_while_saving)
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path)]) == 1
    [r], warnings = store.read_all(tmp_path)
    assert r.status == "failed" and warnings == []
    assert [p.name for p in store.runs_dir(tmp_path).iterdir()] == [f"{r.run_id}.json"]


def test_a_results_folder_moved_between_two_runs_is_said_once_and_the_runs_go_on(
    fake_workers, monkeypatch, tmp_path, capsys
):
    fake, folder, aside = process.start_worker, tmp_path / "results", tmp_path / "aside"

    def moved_before(task, **kw):
        if task.spec.seed == 2:
            folder.rename(aside)  # by hand, or by another program, after the first run
        return fake(task, **kw)  # which makes its folder, as a worker does

    monkeypatch.setattr(process, "start_worker", moved_before)
    argv = ["run", "--backend", "torch", "--seeds", "1,2,3", "--results", str(folder)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().err == (
        f"warning: {folder}/runs was moved or removed during this run; it is made again for "
        "what follows, without the results written before\n"
    )
    assert [r.spec.seed for r in store.read_all(aside)[0]] == [1]
    assert [r.spec.seed for r in store.read_all(folder)[0]] == [2, 3]


@pytest.mark.parametrize("told", [True, False])
def test_a_results_folder_replaced_by_a_file_mid_run_ends_in_one_line(
    fake_workers, monkeypatch, tmp_path, capsys, told
):
    folder = tmp_path / "results"

    def replaced(task, **kw):
        out = task.out
        shutil.rmtree(folder)
        folder.write_text("not a folder")
        if told:  # as a worker that could not write its files says it
            print(f"error: cannot write {out.parent}: Not a directory", file=sys.stderr)
            return 2, [f"error: cannot write {out.parent}: Not a directory"]
        return 0, []

    monkeypatch.setattr(process, "start_worker", replaced)
    argv = ["run", "--backend", "torch", "--seeds", "1,2", "--results", str(folder)]
    assert cli.main(argv) == 1
    said = (
        f"error: cannot write {folder}/runs: Not a directory"
        if told
        else f"error: results folder {folder} is not a folder any more (a file replaced it or "
        "its runs/ during this run): stopped, since nothing more can be written there"
    )
    assert capsys.readouterr().err == said + "\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--train-images", "12001"],
         "train_images must be <= 12000 (the synthetic training set), got 12001"),
        (["--batch-size", str(10**9)],
         "batch_size must be <= 12000 (the training images used), got 1000000000"),
        (["--train-images", "1"],
         "train_images must be >= 500 (one batch of mnist_cnn's recipe; --batch-size takes a "
         "smaller one), got 1"),
        (["--profile", "quick", "--batch-size", "6001"],
         "batch_size must be <= 6000 (the training images used), got 6001"),
        (["--data-dir", "no-such-folder"], "--data-dir no-such-folder does not exist"),
    ],
)  # fmt: skip
def test_numbers_beyond_the_data_and_a_missing_data_dir_are_refused_before_any_run(
    fake_workers, tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)  # where no-such-folder is not
    results_dir = tmp_path / "results"
    command = ["run", "--backend", "torch", "--dataset", "synthetic", *argv]
    assert cli.main([*command, "--results", str(results_dir)]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert fake_workers == [] and not results_dir.exists()


def test_a_model_whose_recipe_is_not_a_literal_leaves_its_batch_to_the_worker(
    fake_workers, tmp_path, monkeypatch
):
    from harness.contract import plugins

    monkeypatch.setattr(plugins, "declared", lambda kind, name, variable: None)
    argv = ["run", "--backend", "torch", "--dataset", "synthetic", "--train-images", "1"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0 and len(fake_workers) == 1


def test_a_models_recipe_is_read_without_running_its_module(tmp_path, monkeypatch):
    import sys as system

    from harness.contract import plugins

    (tmp_path / "keras_at_the_top.py").write_text(
        'import keras\nDEFAULTS = {"batch_size": 64, "epochs": 2}\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = types.SimpleNamespace(name="top", module="keras_at_the_top")
    monkeypatch.setattr(plugins, "_entry_points", lambda kind: {"top": entry})
    assert plugins.declared("model", "top", "DEFAULTS") == {"batch_size": 64, "epochs": 2}
    assert "keras_at_the_top" not in system.modules and "keras" not in system.modules
    assert plugins.declared("model", "top", "NOTHING") is None


def test_fail_fast_stops_at_the_first_failure(fake_workers, tmp_path):
    argv = ["run", "--backend", "tf,jax,torch", "--fail-fast", "--results", str(tmp_path)]
    assert cli.main(argv) == 1
    assert [b for b, _, _ in fake_workers] == ["tensorflow", "jax"]


def test_run_builds_its_report_with_the_margin_it_is_given(fake_workers, tmp_path):
    # the fake workers' accuracies are all 99 %: every difference is 0, equivalent
    argv = ["run", "--backend", "tf,torch", "--seeds", "1,2", "--margin", "0.05"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    md = (tmp_path / "REPORT.md").read_text()
    assert "over 2 paired seeds: equivalent within ±0.05 points." in md


def test_rounds_run_every_cell_once_a_round_in_an_order_that_rotates(fake_workers, tmp_path):
    argv = ["run", "--backend", "tf,torch", "--seeds", "1,2", "--rounds", "3"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    cells = [("tensorflow", 1), ("tensorflow", 2), ("torch", 1), ("torch", 2)]
    assert [(s.backend, s.seed, s.round) for s in fake_workers.specs] == [
        *((b, seed, 1) for b, seed in cells),
        *((b, seed, 2) for b, seed in cells[1:] + cells[:1]),
        *((b, seed, 3) for b, seed in cells[2:] + cells[:2]),
    ]


def test_a_results_path_that_is_a_file_is_refused_before_any_run(fake_workers, tmp_path, capsys):
    (tmp_path / "results").write_text("not a folder")
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path / "results")]) == 2
    assert "is not writable" in capsys.readouterr().err and fake_workers == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"image_data_format": "channels_middle"}',
         "keras.json: image_data_format must be one of channels_last, channels_first, "
         "got 'channels_middle'"),
        ('{"floatx": "float8"}', "keras.json: floatx must be one of float16, float32, float64"),
        ('{"epsilon": "small"}', "keras.json: epsilon must be a float, got 'small'"),
        ("[1, 2]", "keras.json must hold a JSON object, got list"),
        (None, "keras.json is not a file"),
    ],
)  # fmt: skip
def test_a_keras_json_keras_would_fail_on_is_refused_before_any_run(
    fake_workers, tmp_path, monkeypatch, capsys, content, message
):
    home = tmp_path / "keras-home"
    home.mkdir()
    if content is None:
        (home / "keras.json").mkdir()
    else:
        (home / "keras.json").write_text(content)
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {home}/") and message in err and err.count("\n") == 1
    assert fake_workers == []


def test_a_keras_json_that_is_not_json_is_ignored_as_keras_ignores_it(
    fake_workers, tmp_path, monkeypatch
):
    (tmp_path / "keras.json").write_text("{not json")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path / "r")]) == 0


@contextlib.contextmanager
def write_permissions_enforced():
    """This thread bound by write permissions for the block. Root ignores them through
    one capability, CAP_DAC_OVERRIDE, which the block takes out of the thread's
    effective set (and puts back after); root keeps reading everything, so the test
    does not depend on who may read the Python install (nobody may not read root's)."""
    if os.geteuid() != 0:
        yield
        return
    header, caps = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if _libc.capget(ctypes.byref(header), caps) != 0:
        pytest.skip(f"capget failed: {os.strerror(ctypes.get_errno())}")
    effective = caps[0].effective
    caps[0].effective &= ~(1 << _CAP_DAC_OVERRIDE)
    if _libc.capset(ctypes.byref(header), caps) != 0:
        pytest.skip(f"capset failed: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        caps[0].effective = effective
        assert _libc.capset(ctypes.byref(header), caps) == 0


_libc = ctypes.CDLL(None, use_errno=True)
_CAP_VERSION_3 = 0x20080522  # linux/capability.h
_CAP_DAC_OVERRIDE = 1


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


@pytest.fixture
def read_only_results(tmp_path):
    """A results folder whose top cannot be written but whose runs/ can."""
    top = tmp_path / "results"
    (top / "runs").mkdir(parents=True)
    os.chmod(top, 0o555)
    yield top
    os.chmod(top, 0o755)


def test_a_read_only_results_folder_is_refused_before_training_or_reporting(
    fake_workers, read_only_results, capsys
):
    top = str(read_only_results)
    with write_permissions_enforced():
        assert cli.main(["report", "--results", top]) == 2
        assert cli.main(["run", "--backend", "torch", "--results", top]) == 2
        assert fake_workers == []
        assert cli.main(["run", "--backend", "torch", "--results", top, "--no-report"]) == 0
    err = capsys.readouterr().err
    # in one line that names the folder, not the file that probed it
    assert err.count(f"error: results folder {top} is not writable (Permission denied)\n") == 2
    assert [p.name for p in read_only_results.iterdir()] == ["runs"]
    assert len(list((read_only_results / "runs").glob("*.json"))) == 1


def test_report_skips_a_result_that_lies_with_one_warning_and_reports_the_rest(
    tmp_path, capsys, write_result
):
    write_result(backend="jax")
    liar = write_result(backend="torch")
    data = json.loads(liar.read_text())
    data["spec"]["threads"] = "two"
    liar.write_text(json.dumps(data))
    assert cli.main(["report", "--results", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err == f"warning: skipped {liar}: spec: threads must be an integer ≥ 1, got 'two'\n"
    md = (tmp_path / "REPORT.md").read_text()
    assert "| jax |" in md and "| torch |" not in md


def test_report_refuses_a_results_folder_that_does_not_exist_or_is_a_file(tmp_path, capsys):
    missing = tmp_path / "resluts"
    assert cli.main(["report", "--results", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: results folder {missing} does not exist\n"
    assert not missing.exists()
    (tmp_path / "file").write_text("x")
    assert cli.main(["report", "--results", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "1,x"], "expected integers like 1,2,3"),
        (["--seeds", "-1"], "expected integers from 0 to 4294967295"),
        (["--seeds", "1,4294967296"], "expected integers from 0 to 4294967295"),
        (["--learning-rate", "0"], "must be a finite number > 0"),
        (["--learning-rate", "nan"], "must be a finite number > 0"),
        (["--data-format", "NHWC"], "invalid choice: 'NHWC'"),
        (["--profile", "fast"], "invalid choice: 'fast'"),
        (["--rounds", "0"], "must be an integer from 1 to 100, got 0"),
        (["--rounds", "1000000"], "argument --rounds: must be an integer from 1 to 100, got "),
        (
            ["--epochs", "99999999999999999999"],
            "argument --epochs: must be an integer from 1 to 1,000, got 99999999999999999999",
        ),
        (["--margin", "0"], "must be a number of percentage points > 0 and below 100, got 0.0"),
        (["--margin", "100"], "must be a number of percentage points > 0 and below 100"),
        (["--margin", "inf"], "must be a number of percentage points > 0 and below 100"),
        (["--margin", "x"], "expected a number, got 'x'"),
        (["--target", "98.8"], "must be a number above 0 and at most 1, got 98.8"),
        (["--target", "high"], "expected a number, got 'high'"),
        (
            ["--round-budget", "1e308"],
            "must be a number of minutes > 0 and at most 10,080 (a week), got 1e+308",
        ),
        (["--round-budget", "0"], "must be a number of minutes > 0 and at most 10,080"),
    ],
)
def test_bad_options_are_refused_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--backend", "torch", *argv])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_json_prints_one_object_per_run_and_the_report_and_nothing_else(
    fake_workers, tmp_path, capsys
):
    assert cli.main(["run", "--backend", "tf,jax", "--json", "--results", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["event"], e.get("backend"), e.get("status")) for e in events] == [
        ("run", "tensorflow", "ok"), ("run", "jax", "failed"), ("report", None, None),
    ]  # fmt: skip
    assert events[0]["test_accuracy"] == 0.99 and events[2]["paths"][0].endswith("REPORT.md")
    assert all(quiet for _, quiet, _ in fake_workers)
    assert all(stdout is sys.stderr for _, _, stdout in fake_workers)
    assert "training diverged" in err


def test_quiet_prints_only_where_the_report_is(fake_workers, tmp_path, capsys):
    assert cli.main(["run", "--backend", "torch", "--quiet", "--results", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"report: {tmp_path / 'REPORT.md'}\n"


def test_normal_output_has_a_line_per_run_and_ends_with_the_report(fake_workers, tmp_path, capsys):
    assert cli.main(["run", "--backend", "torch", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("==> run 1 of 1: torch (seed 1): mnist_cnn on mnist")
    assert lines[1].startswith("==> torch (seed 1): test accuracy 99.00 %, 90.5 s training")
    assert lines[-1] == f"report: {tmp_path / 'REPORT.md'}"


def test_a_full_disk_ends_in_one_error_line_and_the_parent_never_crashes(
    fake_workers, monkeypatch, tmp_path, capsys
):
    import errno

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_text_atomic", full)
    # jax fails, and its failure cannot be recorded; then the report cannot be written
    assert cli.main(["run", "--backend", "jax", "--results", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("warning: the failure of jax (seed 1) was not recorded: No space")
    assert err[-1].startswith("error: No space left on device: ") and len(err) == 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_run_stopped_while_its_report_is_made_keeps_its_results_and_says_so_once(
    fake_workers, tmp_path, monkeypatch, capsys, terminal_signals, signum
):
    from harness.report import render

    made = render.html

    def html(*args):  # the runs done, the report made, nothing of it published yet
        page = made(*args)
        os.kill(os.getpid(), signum)
        return page

    monkeypatch.setattr(render, "html", html)
    assert stopped_main(["run", "--backend", "torch", "--results", str(tmp_path)]) == 128 + signum
    assert capsys.readouterr().err == (
        "\n==> interrupted while writing the report; every run's result is kept; no file of "
        f"the report was changed in {tmp_path}\n"
    )
    [r], _ = store.read_all(tmp_path)
    assert r.status == "ok" and [p.name for p in tmp_path.iterdir()] == ["runs"]


def test_a_stop_of_a_command_without_more_to_say_is_one_line(monkeypatch, capsys, terminal_signals):
    from harness.commands import list as listing

    monkeypatch.setattr(listing, "main", lambda args: os.kill(os.getpid(), signal.SIGTERM))
    assert stopped_main(["list"]) == 143
    assert capsys.readouterr().err == "\n==> interrupted (list)\n"


def test_keras_and_native_cells_in_one_run_native_where_the_model_has_one(fake_workers, tmp_path):
    argv = ["run", "--backend", "tf,keras2", "--impl", "keras,native", "--rounds", "2"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    cells = [(s.backend, s.impl, s.round) for s in fake_workers.specs]
    assert cells == [
        ("tensorflow", "keras", 1), ("tensorflow", "native", 1), ("keras2", "keras", 1),
        ("tensorflow", "native", 2), ("keras2", "keras", 2), ("tensorflow", "keras", 2),
    ]  # fmt: skip


def _steps(noise):
    """A fake worker's record: TensorFlow's steady step 1 s, PyTorch's 2 s times
    `noise(round)`; each run takes a minute of a fake clock."""
    clock = [0.0]

    def result_of(spec):
        clock[0] += 60.0
        step = 1.0 if spec.backend == "tensorflow" else 2.0 * noise(spec.round)
        return {"epochs_s": (4 * step,) * 4, "round": spec.round}

    return result_of, lambda: clock[0]


def test_rounds_auto_stops_once_every_ratio_is_within_its_width(
    fake_workers, monkeypatch, tmp_path, capsys
):
    from harness.commands import run as run_command

    fake_workers.result_of, clock = _steps(lambda r: 1.0 if r % 2 else 1.01)
    monkeypatch.setattr(run_command, "now", clock)
    argv = ["run", "--backend", "tf,torch", "--rounds", "auto", "--results", str(tmp_path)]
    assert cli.main([*argv, "--no-report"]) == 0
    # steady within 1 %: settled at the first look, after the third round
    assert [s.round for s in fake_workers.specs] == [1, 1, 2, 2, 3, 3]
    out = capsys.readouterr().out
    said = "==> --rounds auto: every compared ratio's 95 % interval within ±5 % after 3 rounds"
    assert said in out
    assert "run 6 of 6" in out


def test_rounds_auto_stops_at_its_budget_and_names_the_ratios_not_within(
    fake_workers, monkeypatch, tmp_path, capsys
):
    from harness.commands import run as run_command

    fake_workers.result_of, clock = _steps(lambda r: 0.8 if r % 2 else 1.25)
    monkeypatch.setattr(run_command, "now", clock)
    argv = ["run", "--backend", "tf,torch", "--rounds", "auto:10%", "--round-budget", "9",
            "--results", str(tmp_path), "--no-report"]  # fmt: skip
    assert cli.main(argv) == 0
    # two minutes a round: a fifth would end after 10 minutes, past the 9
    assert [s.round for s in fake_workers.specs] == [1, 1, 2, 2, 3, 3, 4, 4]
    out = capsys.readouterr().out
    assert (
        "==> --rounds auto: the round budget (9 min) ends after 4 rounds; not within ±10 %: "
        "torch / tensorflow 2.00 [" in out
    )


@pytest.mark.parametrize(
    ("rounds", "message"),
    [
        ("auto:0%", "auto:W% needs a width W > 0 and < 100 (per cent), got 'auto:0%'"),
        ("auto:x", "expected a number, got 'x'"),
        ("many", "expected a number of rounds, auto or auto:W% (e.g. auto:5%), got 'many'"),
    ],
)
def test_a_rounds_value_that_is_not_a_count_or_auto_is_refused(rounds, message, capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--backend", "torch", "--rounds", rounds])
    assert message in capsys.readouterr().err


def test_tuned_settings_without_a_tuning_record_say_so_in_one_line_before_the_runs(
    fake_workers, tmp_path, capsys
):
    argv = ["run", "--backend", "torch,keras2", "--settings", "tuned", "--results", str(tmp_path)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    [said] = [line for line in lines if "tuned means" in line]
    assert said.startswith("==> torch: tuned means the torch plugin's fallback: no tuning record")
    assert said.endswith("(`harness tune --backend torch` measures them on this machine)")
    assert lines.index(said) < lines.index(next(x for x in lines if x.startswith("==> run 1")))
    [spec, _] = fake_workers.specs
    assert "fallback: no tuning record" in spec.tuning_source


@pytest.mark.parametrize("budget", ["1e308", "inf", "0", "-1"])
def test_a_tune_budget_beyond_a_week_or_not_above_0_is_refused(budget, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["tune", "--backend", "torch", "--budget", budget])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert "argument --budget: must be a number of minutes > 0 and at most 10,080 (a week)" in err


def test_a_second_tune_into_one_folder_is_refused_while_the_first_holds_it(
    tmp_path, monkeypatch, capsys, own_tmp
):
    import hashlib

    from harness.backends.base import Backend
    from harness.launch import cpus

    monkeypatch.setattr(Backend, "installed", lambda self: True)
    results_dir = tmp_path / "results"
    folder = results_dir / "tuning"
    folder.mkdir(parents=True)
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    with cpus.only_one(f"tune-{key}") as first:
        assert first
        assert cli.main(["tune", "--backend", "torch", "--results", str(results_dir)]) == 2
    assert capsys.readouterr().err == (
        f"error: another `harness tune` is writing to {folder} on this host; wait for it to "
        "end (two at once would time each other's runs, and the second would overwrite the "
        "first's records)\n"
    )
    assert list(folder.iterdir()) == []


def test_a_librarys_warning_in_the_parent_is_one_line_without_its_files_path(
    tmp_path, monkeypatch, capsys
):
    import warnings

    import numpy as np

    from harness.commands import report_command

    def warns(args):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            np.log(np.zeros(1))  # numpy warns from its own file, in site-packages
        return 0

    monkeypatch.setattr(report_command, "main", warns)
    assert cli.main(["report", "--results", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err == "warning: RuntimeWarning: divide by zero encountered in log\n"


def test_run_asks_every_worker_for_its_op_profile(fake_workers, tmp_path):
    # The worker profiles where the run's profile says how many steps (the speed profile).
    argv = ["run", "--backend", "torch,tf", "--profile", "speed", "--results", str(tmp_path)]
    assert cli.main([*argv, "--quiet"]) == 0
    assert fake_workers.profiled == [True, True]
