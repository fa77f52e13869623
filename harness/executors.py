"""Where the runs of one invocation go: one after another (`Local`, the default, for the
cleanest timings) or N at once on this machine, each pinned to its own CPUs (`Jobs`,
`--jobs N`). Either way a run is the same worker process started by `harness.launcher`;
nothing else in the harness knows which executor ran it.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from harness import launcher
from harness.config import ConfigError, RunSpec, available_cpus

# Starts one run on the CPUs given (None: the first --threads of this process's CPUs),
# its worker registered with the executor's `Workers` (None: it stops on Ctrl-C alone);
# None when the run was stopped from outside.
Start = Callable[
    [RunSpec, "list[int] | None", "launcher.Workers | None"], "launcher.Outcome | None"
]


class Local:
    """One run at a time, in the order given."""

    def map(self, specs: Iterable[RunSpec], start: Start) -> Iterator[launcher.Outcome]:
        for spec in specs:
            outcome = start(spec, None, None)
            if outcome is not None:
                yield outcome


class Jobs:
    """`n` runs at once, each on its own disjoint set of `threads` CPUs."""

    def __init__(self, n: int, threads: int) -> None:
        cpus = available_cpus()
        if n * threads > len(cpus):
            raise ConfigError(
                f"--jobs {n} with {threads} threads each needs {n * threads} CPUs; this "
                f"process may use {len(cpus)}: lower --jobs or --threads"
            )
        self.n = n
        self.slots = [cpus[i * threads : (i + 1) * threads] for i in range(n)]

    def map(self, specs: Iterable[RunSpec], start: Start) -> Iterator[launcher.Outcome]:
        """Outcomes as runs finish. Leaving early (a failure with --fail-fast, Ctrl-C)
        starts nothing more and stops the runs in progress, which write nothing."""
        free: queue.Queue[list[int]] = queue.Queue()
        for slot in self.slots:
            free.put(slot)
        workers = launcher.Workers()

        def one(spec: RunSpec) -> launcher.Outcome | None:
            cpus = free.get()
            try:
                return None if workers.stopped else start(spec, cpus, workers)
            finally:
                free.put(cpus)

        pool = ThreadPoolExecutor(self.n, thread_name_prefix="harness-job")
        pending = {pool.submit(one, spec) for spec in specs}
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
                workers.stop()
            pool.shutdown(wait=True)
