"""The machine as a run measures it (harness/worker/machine.py): the matmul yardstick on
its CPUs, and the other processes' use of them during training."""

import os
import subprocess
import sys
import time

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
