import pytest

from harness import cli
from harness.commands import compare
from harness.record import store
from harness.summary import stats


@pytest.mark.parametrize(
    ("kind", "lower", "baseline", "current", "expected"),
    [
        ("time", True, 20.0, 21.9, "unchanged"),  # +9.5 %
        ("time", True, 20.0, 22.2, "worse"),  # +11 %
        ("time", True, 20.0, 17.8, "better"),  # -11 %
        ("accuracy", False, 0.9900, 0.9875, "unchanged"),  # -0.25 points
        ("accuracy", False, 0.9900, 0.9860, "worse"),  # -0.4 points
        ("accuracy", False, 0.9860, 0.9900, "better"),
    ],
)
def test_verdict_uses_ten_percent_for_times_and_a_third_of_a_point_for_accuracy(
    kind, lower, baseline, current, expected
):
    assert compare.verdict(kind, lower, baseline, current, 0.10, 0.3) == expected


def test_compare_matches_variants_and_exits_non_zero_when_something_got_worse(
    tmp_path, monkeypatch, capsys
):
    from tests.factories import make_result

    def write(folder, **kwargs):
        r = make_result(**kwargs)
        store.write(r, store.runs_dir(tmp_path / folder) / f"{r.run_id}.json")

    write("base", backend="jax", epochs_s=(30.0, 20.0, 20.0))
    write("base", backend="torch")
    write("now", backend="jax", epochs_s=(30.0, 25.0, 25.0))  # 25 % slower steps
    write("now", backend="tensorflow")
    changes, same, only_base, only_cur, warnings, failed = compare.compare(
        tmp_path / "base", tmp_path / "now"
    )
    assert warnings == [] and failed == [] and same == []  # one seed: no equivalence
    assert {c.metric: c.verdict for c in changes} == {
        "test_accuracy": "unchanged",
        "fit_s": "worse",
        "step_s": "worse",
        "first_epoch_s": "unchanged",
        "evaluate_s": "unchanged",
    }
    assert [v.backend for v in only_base] == ["torch"]
    assert [v.backend for v in only_cur] == ["tensorflow"]

    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "now")]) == 1
    out = capsys.readouterr().out
    assert "WORSE" in out and "1.250" in out and "only in current: tensorflow" in out
    argv = ["compare", str(tmp_path / "base"), str(tmp_path / "now"), "--time-threshold", "0.3"]
    assert cli.main(argv) == 0


def test_compare_refuses_a_folder_without_runs(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path), str(tmp_path)]) == 2
    assert "has no runs/ folder" in capsys.readouterr().err


def test_a_cell_whose_latest_run_failed_makes_compare_fail(tmp_path, capsys):

    from tests.factories import make_failure, make_result

    ok = make_result(backend="jax", created="2026-11-25T10:00:00Z", invocation="a")
    failed = make_failure(
        "killed\nmore", -9, backend="jax", created="2026-11-25T11:00:00Z", invocation="b"
    )
    store.write(ok, store.runs_dir(tmp_path / "base") / f"{ok.run_id}.json")
    for r in (ok, failed):
        store.write(r, store.runs_dir(tmp_path / "now") / f"{r.run_id}.json")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "now")]) == 1
    out = capsys.readouterr().out
    assert "FAILED in current: jax (seed 1, profile seed, mnist_cnn on mnist): killed" in out
    assert "only in baseline: jax" in out


def _write(folder, **kwargs):
    import dataclasses

    from tests.factories import make_result

    model = kwargs.pop("model", "mnist_cnn")
    r = make_result(**kwargs)
    r = dataclasses.replace(r, spec=dataclasses.replace(r.spec, model=model))
    store.write(r, store.runs_dir(folder) / f"{r.run_id}.json")


def test_an_empty_baseline_is_nothing_to_compare_not_a_pass(tmp_path, capsys):
    (tmp_path / "base" / "runs").mkdir(parents=True)
    _write(tmp_path / "now", backend="torch")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "now")]) == 3
    out, err = capsys.readouterr()
    assert "only in current: torch" in out and "compared" not in out
    assert err == (
        f"error: nothing to compare: {tmp_path / 'base'} holds no successful run, "
        f"{tmp_path / 'now'} holds 1 variant (mnist_cnn on mnist, machine m1: torch); no "
        "backend and variant (its model, settings and machine) is in both\n"
    )


def test_folders_of_different_models_are_nothing_to_compare_each_side_listed(tmp_path, capsys):
    for backend in ("jax", "torch"):
        _write(tmp_path / "base", backend=backend)
        _write(tmp_path / "now", backend=backend, model="mnist_bn")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "now")]) == 3
    out, err = capsys.readouterr()
    assert out.count("only in baseline: ") == 2 and out.count("only in current: ") == 2
    assert "holds 2 variants (mnist_cnn on mnist, machine m1: jax, torch)" in err
    assert "holds 2 variants (mnist_bn on mnist, machine m1: jax, torch)" in err
    assert err.count("\n") == 1


def test_two_machines_are_nothing_to_compare_and_the_message_says_which(tmp_path, capsys):
    _write(tmp_path / "base", backend="torch", machine_id="m1")
    _write(tmp_path / "now", backend="torch", machine_id="m2")
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "now")]) == 3
    err = capsys.readouterr().err
    assert "holds 1 variant (mnist_cnn on mnist, machine m1: torch)" in err
    assert "holds 1 variant (mnist_cnn on mnist, machine m2: torch)" in err
    assert err.endswith("no backend and variant (its model, settings and machine) is in both\n")


def test_the_exit_statuses_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "--help"])
    help_text = capsys.readouterr().out
    for code, meaning in compare.EXIT_STATUSES.items():
        assert f"  {code}  {meaning}" in help_text


def test_compare_judges_a_variants_accuracy_paired_by_seed_within_the_margin(tmp_path, capsys):
    from tests.factories import make_result

    def write(folder, seed, accuracy):
        r = make_result(backend="jax", seed=seed, accuracy=accuracy)
        store.write(r, store.runs_dir(tmp_path / folder) / f"{r.run_id}.json")

    # current - baseline, in points: +0.02, -0.03, +0.05, 0, +0.01 (the mean 0.01, its
    # 90 % interval -0.0178 to +0.0378: tests/summary/test_stats.py's literal case); seed 6 is
    # only in the baseline and pairs with nothing
    for seed, (base, now) in enumerate(
        [(0.9894, 0.9896), (0.9894, 0.9891), (0.9894, 0.9899), (0.9894, 0.9894),
         (0.9894, 0.9895), (0.97, None)], start=1,
    ):  # fmt: skip
        write("base", seed, base)
        if now is not None:
            write("now", seed, now)
    _, same, *_ = compare.compare(tmp_path / "base", tmp_path / "now")
    [found] = same
    assert found.equivalence.n == 5 and found.equivalence.mean == pytest.approx(0.01)
    assert found.equivalence.verdict == stats.Verdict.EQUIVALENT
    _, same, *_ = compare.compare(tmp_path / "base", tmp_path / "now", margin=0.03)
    assert same[0].equivalence.verdict == stats.Verdict.UNDECIDED

    argv = ["compare", str(tmp_path / "base"), str(tmp_path / "now"), "--margin", "0.03"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "test accuracy, current − baseline: +0.010 points [90 %: -0.018 to +0.038]" in out
    # sd 0.029155, room 0.02 inside the margin: seven seeds' half-width 1.943180 *
    # 0.029155 / sqrt 7 = 0.0214, eight's 1.894579 * 0.029155 / sqrt 8 = 0.0195
    assert "over 5 paired seeds: undecided: about 8 paired seeds would decide it" in out
