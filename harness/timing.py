"""Every clock of a run, and its memory high-water mark."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

now = time.perf_counter


class Sections:
    """Wall time of named, non-repeating phases of a run (import, data load, ...)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

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


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
