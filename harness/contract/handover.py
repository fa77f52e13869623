"""What the parent hands a worker besides its task (`harness.contract.task`): every
variable the launcher sets for it, named here once. The launcher (`harness.launch`)
writes them, the worker reads them.
"""

from __future__ import annotations

import os

from harness.contract.spec import available_cpus

# The CPUs a launcher chose for its worker (--jobs: each run its own), as "0,1".
CPUS_ENV = "HARNESS_CPUS"
# The parent names itself (its pid) to the worker it starts, which stops when it dies.
PARENT_ENV = "HARNESS_PARENT_PID"
# The Ray node a run's task ran on (--executor ray), named by that task to its worker.
NODE_ENV = "HARNESS_RAY_NODE"


def thread_env(threads: int) -> dict[str, str]:
    """The variables that size the math libraries' thread pools when they load."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}


def worker_env(backend_env: dict[str, str], cpus: list[int] | None) -> dict[str, str]:
    """The variables a worker starts with: this process's, its backend's (`Backend.env`,
    threads included), the parent's pid and, if chosen, its CPUs."""
    return {
        **os.environ,
        **backend_env,
        PARENT_ENV: str(os.getpid()),
        **({CPUS_ENV: ",".join(map(str, cpus))} if cpus else {}),
    }


def pinned_cpus(threads: int) -> list[int]:
    """The CPUs a worker pins itself to: those its launcher chose, else the first
    `threads` of the CPUs this process may use."""
    chosen = os.environ.get(CPUS_ENV)
    if chosen:
        return [int(c) for c in chosen.split(",")]
    return available_cpus()[:threads]
