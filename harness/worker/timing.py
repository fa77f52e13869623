"""Every clock of a run, and its memory high-water mark. Nothing else in the harness
reads a clock to measure something."""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import accumulate

now = time.perf_counter


class Sections:
    """Wall time of named, non-repeating phases of a run (import, data load, ...), and of
    the whole process: the clock starts with the process, so the interpreter's start-up
    and whatever no phase covers are counted too (`account`)."""

    def __init__(self) -> None:
        age = process_age_s()
        # The interpreter's start-up and every import before this call.
        self.seconds: dict[str, float] = {"interpreter_s": age}
        self._origin = now() - age

    def account(self) -> tuple[float, float]:
        """The process's wall time so far, and the part of it no phase covers."""
        wall = now() - self._origin
        return wall, wall - sum(self.seconds.values())

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = now()
        try:
            yield
        finally:
            self.seconds[name] = now() - start


class Laps:
    """Durations of a repeated interval, such as an epoch, in the order they happened."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._start: float | None = None

    def start(self) -> None:
        self._start = now()

    def stop(self) -> None:
        if self._start is None:
            raise RuntimeError("Laps.stop() called before start()")
        self.samples.append(now() - self._start)
        self._start = None


class StepClock:
    """When each step of an epoch finished, marked by step index from any thread and in
    any order, as back-to-back durations: each step's time runs from the previous step's
    end (or the epoch's start), so the steps of an epoch add up to it."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._ends: dict[int, float] = {}

    def start(self) -> None:
        self._start = now()
        self._ends = {}

    def mark(self, step: int) -> None:
        self._ends[step] = now()

    def mark_next(self) -> None:
        """The step after the last one marked ended (marked from one thread, in order)."""
        self._ends[len(self._ends)] = now()

    def durations(self) -> list[float]:
        if self._start is None:
            raise RuntimeError("StepClock.durations() called before start()")
        # Steps finish in order; threads may note two ends a hair out of order.
        ends = list(accumulate((self._ends[k] for k in sorted(self._ends)), max))
        return [b - a for a, b in zip([self._start, *ends], ends, strict=False)]


def time_calls(
    fn: Callable[[], object], repeats: int, budget_s: float = math.inf, least: int = 1
) -> list[float]:
    """Duration of each of `repeats` calls of `fn`, or of fewer (`least` at the least) once
    the calls have taken `budget_s` together; `fn` must return only once the work is done
    (return host values, not handles to pending device work)."""
    samples: list[float] = []
    while len(samples) < repeats and (len(samples) < least or sum(samples) < budget_s):
        start = now()
        fn()
        samples.append(now() - start)
    return samples


def process_age_s() -> float:
    """Seconds since this process started: the interpreter's start-up and every import
    before this call (Linux: /proc, in clock ticks of 10 ms)."""
    with open("/proc/self/stat", encoding="ascii") as f:
        # The command name (field 2) may hold spaces; fields after its ')' are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    with open("/proc/uptime", encoding="ascii") as f:
        uptime = float(f.read().split()[0])
    return max(0.0, uptime - started)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_gflops(n: int, repeats: int) -> list[float]:
    """This process's float32 matrix-multiply throughput (numpy's BLAS), GFLOP/s per
    repeat of an n x n by n x n product, after one warm-up product."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    return [2 * n**3 / s / 1e9 for s in time_calls(lambda: np.matmul(a, b, out=out), repeats)]
