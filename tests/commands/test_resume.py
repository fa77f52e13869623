"""`run --resume`: which runs a campaign stopped part way still makes."""

import dataclasses

import pytest

from harness import cli
from harness.commands import resume, run
from harness.record import schema, store
from tests.factories import make_failure, make_result

HERE = schema.Git(commit="abc1234def", dirty=False)  # make_result's code, on machine m1


def record(backend="tensorflow", seed=1, round=1, invocation="i1", **kwargs):
    """An ok run of make_result's code on machine m1 unless `kwargs` say otherwise."""
    made = make_result(backend=backend, seed=seed, round=round, **kwargs)
    return dataclasses.replace(made, invocation=invocation)


def planned(*cells, rounds=1):
    """The runs `run` plans for `cells` (backend, seed), each in its round."""
    return run.rounds([record(b, s).spec for b, s in cells], rounds)


def test_a_resumed_run_skips_exactly_the_cells_with_an_ok_run_of_this_code_and_machine():
    asked = planned(("tensorflow", 1), ("tensorflow", 2), ("torch", 1), ("torch", 2), ("jax", 1))
    records = [
        record("tensorflow", 1),  # done
        dataclasses.replace(  # failed: runs again
            make_failure("diverged", backend="torch", seed=1, round=1), invocation="i1"
        ),
        record("torch", 2, commit="fff0000aaa"),  # another commit: runs again
        record("tensorflow", 2, machine_id="m2"),  # another machine: runs again
        record("jax", 1, dirty=True),  # the same commit with changes: other code
    ]
    found = resume.resume(asked, records, HERE, "m1")
    assert found.skipped == 1
    assert [(s.backend, s.seed) for s in found.to_run] == [
        ("tensorflow", 2), ("torch", 1), ("torch", 2), ("jax", 1),
    ]  # fmt: skip
    assert resume.resume(asked, records, None, "m1").skipped == 0  # unknown code: no one's


def test_trees_with_changes_are_the_same_code_only_with_the_same_digest():
    def dirty(digest):
        return schema.Git(commit="abc1234def", dirty=True, code_digest=digest)

    ran = record()
    ran = dataclasses.replace(
        ran, environment=dataclasses.replace(ran.environment, git=dirty("a" * 64))
    )
    asked = planned(("tensorflow", 1))
    assert resume.resume(asked, [ran], dirty("a" * 64), "m1").skipped == 1
    assert resume.resume(asked, [ran], dirty("b" * 64), "m1").skipped == 0
    assert resume.same_code(HERE, HERE) and not resume.same_code(None, HERE)


def test_a_cell_done_in_part_runs_all_its_rounds_again_in_one_invocation():
    asked = planned(("tensorflow", 1), rounds=3)
    two = [record(round=1), record(round=2)]
    assert resume.resume(asked, two, HERE, "m1").skipped == 0
    split = [*two, record(round=3, invocation="i2")]  # two invocations: not paired
    assert resume.resume(asked, split, HERE, "m1").skipped == 0
    whole = [*two, record(round=3)]
    found = resume.resume(asked, whole, HERE, "m1")
    assert (found.skipped, found.to_run) == (3, [])


def test_a_campaign_of_rounds_resumed_in_part_runs_whole_so_that_its_ratios_stay_paired():
    asked = planned(("tensorflow", 1), ("torch", 1), rounds=3)
    tf_done = [record(round=r) for r in (1, 2, 3)]
    found = resume.resume(asked, tf_done, HERE, "m1")
    assert (found.skipped, found.to_run) == (0, asked)
    both = [*tf_done, *(record("torch", round=r) for r in (1, 2, 3))]
    assert resume.resume(asked, both, HERE, "m1").skipped == 6


@pytest.fixture
def here(monkeypatch):
    """The code at hand and this machine as make_result's records have them."""
    code = {"git": HERE}
    monkeypatch.setattr(run.provenance, "code", lambda: code["git"])
    machine = make_result().machine.fingerprint
    monkeypatch.setattr(run.fingerprint, "fingerprint", lambda: machine)
    return code


def test_run_resume_reruns_failed_cells_and_cells_of_other_code_and_says_what_it_skips(
    fake_workers, here, tmp_path, capsys
):
    argv = ["run", "--backend", "tf,jax,torch", "--seeds", "1,2", "--results", str(tmp_path)]
    assert cli.main(argv) == 1  # the fake jax worker fails
    capsys.readouterr()
    first = len(fake_workers)
    assert cli.main([*argv, "--resume"]) == 1
    out = capsys.readouterr().out
    assert [(s.backend, s.seed) for s in fake_workers.specs[first:]] == [("jax", 1), ("jax", 2)]
    said = [line for line in out.splitlines() if "--resume" in line]
    assert said == [
        f"==> --resume: 4 of 6 runs skipped: their cells have an ok run of this code "
        f"(abc1234) on this machine in {tmp_path}"
    ]

    here["git"] = schema.Git(commit="fff0000aaa", dirty=False)  # a new commit
    second = len(fake_workers)
    assert cli.main([*argv, "--resume"]) == 1
    assert len(fake_workers) == second + 6
    assert "==> --resume: 0 of 6 runs skipped" in capsys.readouterr().out
    records, _ = store.read_all(tmp_path)
    assert len(records) == 6 + 2 + 6


def test_run_resume_with_every_cell_done_starts_nothing_and_rebuilds_the_report(
    fake_workers, here, tmp_path, capsys
):
    argv = ["run", "--backend", "tf,torch", "--seeds", "1,2", "--results", str(tmp_path)]
    assert cli.main(argv) == 0
    (tmp_path / "REPORT.md").unlink()
    started = len(fake_workers)
    assert cli.main([*argv, "--resume"]) == 0
    assert len(fake_workers) == started
    assert "==> --resume: 4 of 4 runs skipped" in capsys.readouterr().out
    assert (tmp_path / "REPORT.md").is_file()


def test_run_resume_is_refused_under_ray_whose_runs_are_the_nodes(
    fake_workers, here, tmp_path, capsys
):
    argv = ["run", "--backend", "torch", "--executor", "ray", "--address", "127.0.0.1:1"]
    assert cli.main([*argv, "--resume", "--results", str(tmp_path)]) == 2
    assert "--resume skips the runs this machine made" in capsys.readouterr().err
    assert len(fake_workers) == 0
