"""The machine as a run measures it (harness/worker/machine.py): the matmul yardstick on
its CPUs, and the other processes' use of them during training."""

import os
import subprocess
import sys
import time
from pathlib import Path

from harness.worker import machine


def test_matmul_peak_is_measured_in_this_process():
    record = machine.matmul_peak(1, n=256, repeats=3)
    assert record.threads == 1 and record.n == 256
    assert len(record.gflops) == 3 and all(g > 0 for g in record.gflops)
    assert min(record.gflops) <= record.median_gflops <= max(record.gflops)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _cpu_s(pid: int) -> float:
    """A process's CPU time so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# /proc/stat counts in ticks of 10 ms: a few of them either way.
TICKS_S = 0.05


def test_other_load_sees_another_process_on_our_cpu_and_not_our_own_work():
    # Whatever else the machine runs meanwhile: the checks compare with what this test
    # itself measures, not with an idle machine.
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
        # a process spinning on the same CPU while we wait: its time is other work
        hog = subprocess.Popen([sys.executable, "-c", code])
        busy = machine.OtherLoad([cpu])
        time.sleep(0.2)
        before = _cpu_s(hog.pid)
        busy.start()
        time.sleep(1.0)
        other = busy.stop()
        hog_s = _cpu_s(hog.pid) - before
        hog.wait()
    finally:
        os.sched_setaffinity(0, old)
    assert own.other_cpu_s <= own.interval_s - 1.0 + TICKS_S  # our spun second left out
    assert other.other_cpu_s >= hog_s - TICKS_S  # the hog's time counted
    assert other.cpus == [cpu] and other.other_cpu_s <= other.interval_s * 1.1
    assert len(other.loadavg_1min) == 2
