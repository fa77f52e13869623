"""Where a long `run` stands: each run's place ("run 3 of 12") and, once a run of each
kind still to come has finished, the time left, estimated from the finished runs' own
times. A kind is what decides a run's time here: its backend, implementation and
settings (`config.system`); the seeds and rounds of one invocation share the rest.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable

BASIS = "from the finished runs' times per backend"


def duration(seconds: float) -> str:
    """A time in the words a person reads at a glance: "under a minute", "12 min",
    "2 h 05 min"."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """The runs of one invocation, by kind, as they start and finish. `at_once`: how many
    run together (1 one after another, N with --jobs N; None where the executor places
    them itself, as Ray does: then no time is estimated); `clock`: seconds, monotonic."""

    def __init__(
        self,
        kinds: list[str],
        at_once: int | None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.total = len(kinds)
        self.at_once = at_once
        self.clock = clock or time.monotonic
        self._waiting = Counter(kinds)  # not started yet
        self._running: dict[int, tuple[str, float]] = {}  # number -> kind, start time
        self._times: dict[str, list[float]] = {}  # kind -> seconds of its finished runs
        self._started = 0
        self._lock = threading.Lock()  # --jobs starts and ends runs from their threads

    def add(self, kinds: list[str]) -> None:
        """Runs planned after the first ones (--rounds auto's further rounds)."""
        with self._lock:
            self.total += len(kinds)
            self._waiting.update(kinds)

    def start(self, kind: str) -> tuple[int, str | None]:
        """A run of `kind` starts: its number (from 1) and the time left, in words, with
        what it is estimated from; None until a run of a kind still to come has finished,
        or where the executor places the runs."""
        with self._lock:
            self._started += 1
            self._waiting[kind] -= 1
            self._running[self._started] = (kind, self.clock())
            return self._started, self._left()

    def finish(self, number: int, ok: bool) -> None:
        """Run `number` ended; its time counts for its kind if it completed (a failure's
        time, often seconds, says nothing of how long a run takes)."""
        with self._lock:
            kind, started = self._running.pop(number)
            if ok:
                self._times.setdefault(kind, []).append(self.clock() - started)

    def _left(self) -> str | None:
        typical = {k: statistics.mean(ts) for k, ts in self._times.items()}
        to_come = {k for k, n in self._waiting.items() if n} | {
            k for k, _ in self._running.values()
        }
        if self.at_once is None or not to_come & typical.keys():
            return None
        now = self.clock()
        left = sum(n * typical.get(k, 0.0) for k, n in self._waiting.items())
        # A run in progress takes what its kind takes, less what it has run.
        left += sum(max(typical.get(k, 0.0) - (now - t), 0.0) for k, t in self._running.values())
        left /= self.at_once
        at_once = f", {self.at_once} at a time" if self.at_once > 1 else ""
        unknown = sorted(to_come - typical.keys())
        if not unknown:
            about = "about " if left >= 60 else ""
            return f"{about}{duration(left)} left, {BASIS}{at_once}"
        if left < 60:  # "at least under a minute" says nothing
            return None
        return (
            f"at least {duration(left)} left, {BASIS}{at_once} "
            f"({', '.join(unknown)}: none finished yet)"
        )
