"""Where a long `run` stands (harness/commands/progress.py): each run's number and the
time left, from the finished runs' own times per kind, with literal clocks."""

import types

import pytest

from harness import cli
from harness.commands import progress
from harness.contract.spec import available_cpus
from harness.launch import process

BASIS = "from the finished runs' times per backend"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "under a minute"), (59, "under a minute"), (90, "2 min"), (3599, "1 h 00 min"),
     (3900, "1 h 05 min")],
)  # fmt: skip
def test_a_time_left_reads_at_a_glance(seconds, words):
    assert progress.duration(seconds) == words


def test_the_time_left_comes_once_a_run_of_each_kind_to_come_has_finished():
    clock = Clock()
    tally = progress.Progress(["tensorflow", "jax", "tensorflow", "jax"], 1, clock)
    assert tally.start("tensorflow") == (1, None)  # nothing finished yet
    clock.now = 100
    tally.finish(1, ok=True)
    # jax's runs are not timed yet: what the tensorflow run to come takes, at least
    assert tally.start("jax") == (2, f"at least 2 min left, {BASIS} (jax: none finished yet)")
    clock.now = 400
    tally.finish(2, ok=True)
    # this tensorflow run (100 s) and the jax run after it (300 s)
    assert tally.start("tensorflow") == (3, f"about 7 min left, {BASIS}")
    clock.now = 520
    tally.finish(3, ok=True)  # tensorflow's runs took 100 and 120 s
    assert tally.start("jax") == (4, f"about 5 min left, {BASIS}")


def test_under_a_minute_known_while_a_kind_to_come_is_not_timed_is_not_said():
    clock = Clock()
    tally = progress.Progress(["tensorflow", "tensorflow", "jax"], 1, clock)
    tally.start("tensorflow")
    clock.now = 30
    tally.finish(1, ok=True)
    assert tally.start("tensorflow") == (2, None)  # not "at least under a minute"


def test_a_failed_runs_time_says_nothing_of_how_long_its_kind_takes():
    clock = Clock()
    tally = progress.Progress(["torch"] * 3, 1, clock)
    tally.start("torch")
    clock.now = 3
    tally.finish(1, ok=False)
    assert tally.start("torch") == (2, None)
    clock.now = 603
    tally.finish(2, ok=True)
    assert tally.start("torch") == (3, f"about 10 min left, {BASIS}")


def test_runs_at_once_share_the_time_left_and_those_in_progress_count_what_they_have_left():
    clock = Clock()
    tally = progress.Progress(["torch"] * 4, 2, clock)
    tally.start("torch")
    clock.now = 200
    tally.start("torch")
    clock.now = 600
    tally.finish(1, ok=True)  # 600 s a run
    # run 2 has 200 s left, run 3 and run 4 take 600 s each: 1,400 s on 2 CPUs' sets
    assert tally.start("torch") == (3, f"about 12 min left, {BASIS}, 2 at a time")


def test_where_the_executor_places_the_runs_itself_no_time_is_estimated():
    clock = Clock()
    tally = progress.Progress(["torch"] * 2, None, clock)
    tally.start("torch")
    clock.now = 600
    tally.finish(1, ok=True)
    assert tally.start("torch") == (2, None)


def test_each_run_is_announced_with_its_number_and_the_time_left(
    fake_workers, monkeypatch, own_tmp, capsys
):
    tmp_path = own_tmp  # where the CPU locks are too: no other run holds one
    clock = Clock()
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=clock))
    fake = process.start_worker

    def taking_time(task, **kwargs):
        clock.now += {"tensorflow": 120, "torch": 300}[task.spec.backend]
        return fake(task, **kwargs)

    monkeypatch.setattr(process, "start_worker", taking_time)
    argv = ["run", "--backend", "tf,torch", "--seeds", "1,2", "--threads", "1"]
    assert cli.main([*argv, "--results", str(tmp_path)]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "mnist_cnn on" in line]
    first = available_cpus()[0]  # each run in turn takes the first CPU no other run holds
    cell = f"mnist_cnn on mnist, profile seed, init harness, 1 thread on CPUs {first}"
    assert said == [
        f"==> run 1 of 4: tensorflow (seed 1): {cell}",
        f"==> run 2 of 4: tensorflow (seed 2): {cell}; at least 2 min left, {BASIS} "
        "(torch: none finished yet)",
        f"==> run 3 of 4: torch (seed 1): {cell}",
        f"==> run 4 of 4: torch (seed 2): {cell}; about 5 min left, {BASIS}",
    ]
