"""The op profile after a speed run (harness/worker/main.py `profiled_ops`), with a backend
whose profiler is a test's: which steps it profiles, what the record keeps, and that a
profiler's failure costs the profile only."""

from types import SimpleNamespace

import numpy as np

from harness.backends.base import OpTimes
from harness.worker import main, starting_points


class Trainer:
    """Notes the first label of every batch it trains on: the labels are the images' indices."""

    def __init__(self) -> None:
        self.trained: list[int] = []

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.trained.append(int(y[0]))
        return 0.0


def session(profile_ops, images: int = 40, batch: int = 10) -> SimpleNamespace:
    data = SimpleNamespace(x_train=np.zeros((images, 1)), y_train=np.arange(images))
    return SimpleNamespace(
        spec=SimpleNamespace(seed=1),
        data=data,
        recipe=SimpleNamespace(batch_size=batch),
        trainer=Trainer(),
        backend=SimpleNamespace(profile_ops=profile_ops),
    )


def test_the_profile_takes_the_steps_after_one_outside_it_and_keeps_the_longest_ops():
    inside = []

    def profile_ops(steps, folder):
        assert folder.is_dir()
        steps()
        inside.extend(s.trainer.trained[1:])
        ops = {f"op{i}": (float(i), i) for i in range(1, 21)}
        return OpTimes("a test's profiler", ops)

    s = session(profile_ops)
    ops = main.profiled_ops(s, 2)
    plan = starting_points.batch_plan(1, 1, 40, 10)
    # one step outside the profiler, then the next two batches of the plan inside it
    assert s.trainer.trained == [int(idx[0]) for idx in plan[:3]]
    assert inside == s.trainer.trained[1:]
    assert (ops.profiler, ops.steps, ops.op_s) == ("a test's profiler", 2, 210.0)
    assert [op.name for op in ops.top] == [f"op{i}" for i in range(20, 8, -1)]  # the 12 longest
    assert ops.top[0].calls == 20 and ops.wall_s > 0


def test_a_profiler_that_fails_or_sees_nothing_costs_the_profile_not_the_run(capsys):
    def fails(steps, folder):
        raise RuntimeError("the trace could not be read")

    assert main.profiled_ops(session(fails), 2) is None
    err = capsys.readouterr().err
    assert err == "warning: no op profile: RuntimeError: the trace could not be read\n"
    assert main.profiled_ops(session(lambda steps, folder: OpTimes("p", {})), 2) is None
    assert capsys.readouterr().err == "warning: p measured no op\n"
    # no profiler in the plugin; an epoch of one batch, nothing to profile after it
    assert main.profiled_ops(session(lambda steps, folder: None), 2) is None
    untouched = session(fails, images=10)
    assert main.profiled_ops(untouched, 2) is None and untouched.trainer.trained == []
