"""Where the runs of one invocation go (harness/launch/executors.py): one after another,
or `--jobs N` at once on this machine, each on its own CPUs; and the options of one
executor refused with another. The Ray executor's unit tests are in
tests/launch/test_ray_cluster.py."""

import threading

import pytest

from harness import cli
from harness.contract.spec import available_cpus
from harness.launch import cpus as cpu_locks
from harness.launch import executors, process
from harness.record import store


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--retries", "1"], "--retries is for --executor ray"),
        (["--exclusive"], "--exclusive is for --executor ray"),
        (["--address", "head:6379"], "--address is for --executor ray"),
        (["--executor", "ray"], "--executor ray needs --address HOST:PORT"),
        (["--executor", "ray", "--address", "h:1", "--jobs", "2"], "--jobs is for this machine"),
    ],
)
def test_options_of_one_executor_are_refused_with_another(
    no_run, tmp_path, capsys, options, message
):
    argv = ["run", "--backend", "torch", "--threads", "1", *options, "--results", str(tmp_path)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")


def test_jobs_run_at_once_each_on_its_own_cpus(fake_workers, tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "available_cpus", lambda: [0, 1, 2, 3])
    # Each worker starts only beside another (a fake one ends at once, and the same job
    # could otherwise take the next run and its slot before the other job had one).
    beside = threading.Barrier(2, timeout=30)
    fake = process.start_worker

    def start_worker(*args, **kwargs):
        beside.wait()
        return fake(*args, **kwargs)

    monkeypatch.setattr(process, "start_worker", start_worker)
    argv = ["run", "--backend", "tf,torch", "--seeds", "1,2", "--jobs", "2", "--threads", "2"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    assert sorted(b for b, _, _ in fake_workers) == ["tensorflow"] * 2 + ["torch"] * 2
    assert sorted(map(tuple, fake_workers.pinned)) == [(0, 1), (0, 1), (2, 3), (2, 3)]
    found, _ = store.read_all(tmp_path)
    assert len(found) == 4 and len({r.invocation for r in found}) == 1


def test_jobs_that_need_more_cpus_than_there_are_are_refused(fake_workers, tmp_path, capsys):
    cpus = len(available_cpus())
    argv = ["run", "--backend", "torch", "--jobs", str(cpus), "--threads", "2"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"error: --jobs {cpus} with 2 threads each needs {2 * cpus} CPUs" in err
    assert fake_workers == []


def test_a_local_run_takes_cpus_no_other_run_holds_or_says_it_shares(fake_workers, own_tmp, capsys):
    if len(available_cpus()) < 2:
        pytest.skip("needs two CPUs")
    first, *others = available_cpus()
    argv = ["run", "--backend", "torch", "--threads", "1", "--results", str(own_tmp)]
    with cpu_locks.free(1) as held:  # another run holds the first CPU
        assert held == [first]
        assert cli.main(argv) == 0
        assert fake_workers.pinned == [[others[0]]]
        with cpu_locks.free(len(others)):  # and now every CPU
            assert cli.main(argv) == 0
    assert fake_workers.pinned[1] is None  # the worker pins itself, sharing
    assert capsys.readouterr().err.splitlines()[0] == (
        "warning: other harness runs on this machine hold every CPU (a run holds its CPUs "
        "while it runs): this run shares CPUs with them, and its record says how much of "
        "them others used"
    )
