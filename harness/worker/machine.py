"""The machine's state where and when a run runs, measured by the worker itself: what its
CPUs can do (float32 matrix-multiply throughput under the run's thread budget, the
yardstick of efficiency) and how much of them other processes took while it trained.

A report reads these figures from the run's record and measures nothing, so that it
gives the same figures on any machine.
"""

from __future__ import annotations

import os
import resource
import statistics

from harness.record.schema import MATMUL_N, DuringFit, Matmul
from harness.worker import timing

# 7 products take about half a second before training.
MATMUL_REPEATS = 7


def matmul_peak(threads: int, n: int = MATMUL_N, repeats: int = MATMUL_REPEATS) -> Matmul:
    """numpy's float32 matrix multiply in this process, on its CPUs, with its BLAS pool
    sized by `harness.contract.handover.thread_env(threads)` when numpy loaded: GFLOP/s
    per product, and median."""
    gflops = timing.matmul_gflops(n, repeats)
    return Matmul(threads=threads, n=n, gflops=gflops, median_gflops=statistics.median(gflops))


def _busy_ticks(cpus: list[int]) -> int:
    """Clock ticks the kernel counted as busy on `cpus` since boot (/proc/stat: user,
    nice, system, irq, softirq and steal; idle and iowait are not busy)."""
    wanted = {f"cpu{c}" for c in cpus}
    busy = 0
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            name, *fields = line.split()
            if name in wanted:
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
                busy += user + nice + system + irq + softirq + steal
    return busy


def _own_cpu_s() -> float:
    """CPU seconds this process (all its threads) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class OtherLoad:
    """How much of `cpus` other processes used between `start()` and `stop()`: the CPUs'
    busy time from /proc/stat less this process's own CPU time (its threads are pinned to
    `cpus`, so everything else busy there was someone else)."""

    def __init__(self, cpus: list[int]) -> None:
        self.cpus = sorted(cpus)
        self._start: tuple[float, int, float, float] | None = None

    def start(self) -> None:
        self._start = (timing.now(), _busy_ticks(self.cpus), _own_cpu_s(), os.getloadavg()[0])

    def stop(self) -> DuringFit:
        if self._start is None:
            raise RuntimeError("OtherLoad.stop() called before start()")
        started, busy, own, load = self._start
        interval = timing.now() - started
        busy_s = (_busy_ticks(self.cpus) - busy) / os.sysconf("SC_CLK_TCK")
        # Ticks are 10 ms: a short interval can show a little less busy time than used.
        other = max(0.0, busy_s - (_own_cpu_s() - own))
        return DuringFit(
            cpus=self.cpus,
            interval_s=interval,
            other_cpu_s=other,
            other_share=other / (interval * len(self.cpus)) if interval > 0 else 0.0,
            loadavg_1min=[load, os.getloadavg()[0]],
        )
