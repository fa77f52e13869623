"""The clocks, the machine yardstick and the timing figures built from raw samples."""

import dataclasses
import os
import subprocess
import sys
import time

import pytest
from conftest import make_result

from harness.summary import speed
from harness.worker import machine, timing


def test_steps_are_back_to_back_in_step_order_and_restart_each_epoch(monkeypatch):
    ticks = iter([10.0, 11.25, 10.5, 20.0, 21.0])
    monkeypatch.setattr(timing, "now", lambda: next(ticks))
    clock = timing.StepClock()
    clock.start()
    clock.mark(1)  # marked first, from another thread
    clock.mark(0)
    first = clock.durations()
    clock.start()
    clock.mark(0)
    assert first == [0.5, 0.75] and clock.durations() == [1.0]


def test_a_step_noted_a_hair_late_never_makes_a_negative_duration(monkeypatch):
    ticks = iter([0.0, 2.0, 1.999, 3.0])
    monkeypatch.setattr(timing, "now", lambda: next(ticks))
    clock = timing.StepClock()
    clock.start()
    for step in range(3):
        clock.mark(step)
    assert clock.durations() == [2.0, 0.0, 1.0]


def test_durations_before_start_are_refused():
    with pytest.raises(RuntimeError, match="before start"):
        timing.StepClock().durations()


def test_time_calls_times_each_call(monkeypatch):
    ticks = iter([0.0, 1.0, 1.0, 3.0])
    monkeypatch.setattr(timing, "now", lambda: next(ticks))
    calls = []
    assert timing.time_calls(lambda: calls.append(1), 2) == [1.0, 2.0]
    assert len(calls) == 2


def test_process_age_counts_the_interpreters_life_before_the_call():
    code = (
        "import time; time.sleep(0.5); from harness.worker import timing;"
        "print(timing.process_age_s())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # /proc counts in clock ticks (10 ms): the sleep alone is 0.5 s
    assert 0.48 <= float(done.stdout) < 60


def test_matmul_peak_is_measured_in_this_process():
    record = machine.matmul_peak(1, n=256, repeats=3)
    assert record.threads == 1 and record.n == 256
    assert len(record.gflops) == 3 and all(g > 0 for g in record.gflops)
    assert min(record.gflops) <= record.median_gflops <= max(record.gflops)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_other_load_sees_another_process_on_our_cpu_and_not_our_own_work():
    cpu = sorted(os.sched_getaffinity(0))[0]
    # spins for 1.5 s of wall time on `cpu`
    code = (
        f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\nend = time.time() + 1.5\n"
        "while time.time() < end: pass"
    )
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        # our own busy second on the CPU: not someone else's
        alone = machine.OtherLoad([cpu])
        alone.start()
        _spin(1.0)
        own = alone.stop()
        # a process spinning on the same CPU while we wait: about all of it is other work
        hog = subprocess.Popen([sys.executable, "-c", code])
        busy = machine.OtherLoad([cpu])
        time.sleep(0.2)
        busy.start()
        time.sleep(1.0)
        other = busy.stop()
        hog.wait()
    finally:
        os.sched_setaffinity(0, old)
    assert own.other_share < 0.5 < other.other_share
    assert other.cpus == [cpu] and other.other_cpu_s <= other.interval_s * 1.1
    assert len(other.loadavg_1min) == 2


def test_sections_account_for_the_whole_process_life(monkeypatch):
    clock = iter([100.0, 101.0, 103.5, 104.0, 110.0])
    monkeypatch.setattr(timing, "now", lambda: next(clock))
    monkeypatch.setattr(timing, "process_age_s", lambda: 0.25)
    sections = timing.Sections()  # at 100.0, the process 0.25 s old
    with sections("import_s"):  # 101.0 to 103.5
        pass
    wall, unaccounted = sections.account()  # at 104.0
    assert sections.seconds == {"interpreter_s": 0.25, "import_s": 2.5}
    assert wall == 4.25 and unaccounted == 1.5


def test_figures_pool_the_runs_and_leave_the_first_epoch_out_of_steady_steps():
    a = make_result(epochs_s=(40.0, 20.0, 24.0))
    b = make_result(epochs_s=(44.0, 22.0, 26.0))
    f = speed.figures([a, b])
    assert f["first_epoch_s"].median == 42.0 and f["first_epoch_s"].n == 2
    assert f["steady_epoch_s"].n == 4 and f["steady_epoch_s"].median == 23.0
    # four steps an epoch, first epochs (10 and 11 s steps) left out
    assert f["step_s"].n == 16 and max(speed.steady_steps(a)) == 6.0
    assert f["predict_1_s"].n == 6 and f["import_s"].n == 2


def test_training_flops_come_from_the_recorded_forward_flops_and_factor():
    r = make_result()
    assert speed.training_flops_per_image(r) is None  # not recorded: no efficiency
    recipe = dataclasses.replace(
        r.recipe, forward_flops_per_image=23_676_040, training_flops_factor=3
    )
    r = dataclasses.replace(r, recipe=recipe)
    assert speed.training_flops_per_image(r) == 71_028_120
    # a batch of 500 images of 71.03 MFLOP in a 0.2 s step
    assert speed.images_per_s(r, 0.2) == pytest.approx(2500)
    assert speed.training_gflops(r, 0.2) == pytest.approx(177.5703)
    assert speed.training_gflops(r, None) is None
