"""The clocks of a run (harness/worker/timing.py): steps, calls, the process's age and
the sections that account for its whole life."""

import subprocess
import sys

import pytest

from harness.worker import timing


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


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        # past the budget after the third call: it stops there
        ([0.6, 0.6, 0.6, 0.6], 3),
        # past the budget after the first call: it still makes `least` calls
        ([2.0, 2.0, 2.0, 2.0], 2),
        # never past the budget: `repeats` calls
        ([0.1] * 6, 4),
    ],
)
def test_time_calls_stop_at_their_budget_after_the_least(monkeypatch, durations, expected):
    # each call starts on a whole second and lasts its duration
    ticks = iter(t for start, d in enumerate(durations) for t in (start, start + d))
    monkeypatch.setattr(timing, "now", lambda: next(ticks))
    calls = []
    samples = timing.time_calls(lambda: calls.append(1), 4, budget_s=1.5, least=2)
    assert samples == pytest.approx(durations[:expected]) and len(calls) == expected


def test_process_age_counts_the_interpreters_life_before_the_call():
    code = (
        "import time; time.sleep(0.5); from harness.worker import timing;"
        "print(timing.process_age_s())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # /proc counts in clock ticks (10 ms): the sleep alone is 0.5 s
    assert 0.48 <= float(done.stdout) < 60


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
