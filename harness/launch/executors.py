"""Where the runs of one invocation go: one after another (`Local`, the default, for the
cleanest timings), N at once on this machine, each pinned to its own CPUs (`Jobs`,
`--jobs N`), or to a Ray cluster (`harness.launch.ray_cluster`, `--executor ray`). Whichever,
a run is the same worker process started by `harness.launch.process`; nothing else in the
harness knows which executor ran it.
"""

from __future__ import annotations

import functools
import queue
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from harness.contract.spec import ConfigError, RunSpec, available_cpus
from harness.launch import cpus as cpu_locks
from harness.launch import process


@dataclass(frozen=True)
class Place:
    """Where an executor runs one run: in words for the user (" on CPUs 0,1"), and how
    it launches the run there, with `process.launch`'s arguments and result (None: it
    was stopped from outside, and wrote nothing)."""

    where: str
    launch: Callable[..., process.Outcome | None]


# Announces one run, names its result file and launches it at the place given.
Start = Callable[[RunSpec, Place], "process.Outcome | None"]


class Executor(Protocol):
    """What `Local`, `Jobs` and `harness.launch.ray_cluster.Ray` have in common: each run of
    `specs` handed to `start` at a place of the executor's, the outcomes as they come
    (a run stopped from outside gives none); how many runs it runs at once (None: as
    many as its cluster places, which it does not know)."""

    at_once: int | None

    def map(self, specs: Iterable[RunSpec], start: Start) -> Iterator[process.Outcome]: ...


class Local:
    """One run at a time, in the order given, each on CPUs no other run of this host holds
    (two `harness run`s started at once would otherwise both take the first CPUs while
    the others idle); where too few are free, the run shares them, and says so."""

    at_once: int | None = 1

    def map(self, specs: Iterable[RunSpec], start: Start) -> Iterator[process.Outcome]:
        for spec in specs:
            with cpu_locks.free(spec.threads) as cpus:
                if cpus is None:
                    print(f"warning: {_shared(spec.threads)}", file=sys.stderr)
                    here = Place("", process.launch)
                else:
                    on = f" on CPUs {','.join(map(str, cpus))}"
                    here = Place(on, functools.partial(process.launch, cpus=cpus))
                outcome = start(spec, here)
            if outcome is not None:
                yield outcome


def _shared(threads: int) -> str:
    """Why a run shares CPUs: other harness runs on the machine hold too many of them."""
    held = "every CPU" if threads == 1 else f"so many CPUs that fewer than {threads} are free"
    return (
        f"other harness runs on this machine hold {held} (a run holds its CPUs while it "
        "runs): this run shares CPUs with them, and its record says how much of them "
        "others used"
    )


def as_finished(
    calls: Sequence[Callable[[], process.Outcome | None]], stop: Callable[[], None], threads: int
) -> Iterator[process.Outcome]:
    """The calls, `threads` at a time, their outcomes as they come. Leaving early (a
    failure with --fail-fast, Ctrl-C) starts no more of them, calls `stop`, which must
    make those still going return soon, and waits for them."""
    pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="harness-run")
    pending: set[Future] = {pool.submit(call) for call in calls}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                if outcome is not None:
                    yield outcome
    finally:
        for future in pending:
            future.cancel()
        if pending:
            stop()
        pool.shutdown(wait=True)


class Jobs:
    """`n` runs at once, each on its own disjoint set of `threads` CPUs."""

    def __init__(self, n: int, threads: int) -> None:
        cpus = available_cpus()
        if n * threads > len(cpus):
            raise ConfigError(
                f"--jobs {n} with {threads} threads each needs {n * threads} CPUs; this "
                f"process may use {len(cpus)}: lower --jobs or --threads"
            )
        self.slots = [cpus[i * threads : (i + 1) * threads] for i in range(n)]
        self.at_once: int | None = n

    def map(self, specs: Iterable[RunSpec], start: Start) -> Iterator[process.Outcome]:
        """Outcomes as runs finish. Leaving early starts nothing more and stops the runs
        in progress, which write nothing."""
        free: queue.Queue[list[int]] = queue.Queue()
        for slot in self.slots:
            free.put(slot)
        workers = process.Workers()

        def one(spec: RunSpec) -> process.Outcome | None:
            cpus = free.get()
            try:
                if workers.stopped:
                    return None
                on = f" on CPUs {','.join(map(str, cpus))}"
                return start(spec, Place(on, functools.partial(process.launch, cpus=cpus,
                                                               workers=workers)))  # fmt: skip
            finally:
                free.put(cpus)

        calls = [functools.partial(one, spec) for spec in specs]
        return as_finished(calls, workers.stop, len(self.slots))
