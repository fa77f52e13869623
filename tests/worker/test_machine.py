"""The machine as a run measures it (harness/worker/machine.py): the matmul yardstick on
its CPUs, and the other processes' use of them during training."""

import contextlib
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


def _pin_threads(cpus: set[int]) -> dict[int, set[int]]:
    """Pin every thread of this process to `cpus`; each one's CPUs before."""
    old = {}
    for task in Path("/proc/self/task").iterdir():
        tid = int(task.name)
        try:
            old[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # a thread that ended meanwhile
            old.pop(tid, None)
    return old


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
    # Every thread of this process on `cpu`, as a worker's are on its CPUs: a thread left
    # by an earlier test (a browser's driver) would otherwise run elsewhere meanwhile, and
    # this process's CPU time, which OtherLoad takes as the CPU's own work, would hold it.
    old = _pin_threads({cpu})
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
        for tid, cpus in old.items():
            with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                os.sched_setaffinity(tid, cpus)
    assert own.other_cpu_s <= own.interval_s - 1.0 + TICKS_S  # our spun second left out
    assert other.other_cpu_s >= hog_s - TICKS_S  # the hog's time counted
    assert other.cpus == [cpu] and other.other_cpu_s <= other.interval_s * 1.1
    assert len(other.loadavg_1min) == 2
