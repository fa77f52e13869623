"""What this machine can do: float32 matrix-multiply throughput under a thread budget.

    python -m harness.machine --threads 2

prints {"threads": 2, "n": ..., "gflops": [...]} . The report runs it in a fresh process
so that the BLAS thread pool is sized, and the CPUs pinned, exactly as a run's are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from harness import timing
from harness.config import available_cpus

# 2 x 2048^3 = 17 GFLOP a product: long enough to time, short enough to repeat.
MATMUL_N = 2048
MATMUL_REPEATS = 7


def thread_env(threads: int) -> dict[str, str]:
    """The variables that size the math libraries' thread pools when they load."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}


def matmul_peak(threads: int) -> dict:
    """Run the measurement in a fresh process with `threads` threads; its median and spread."""
    completed = subprocess.run(
        [sys.executable, "-m", "harness.machine", "--threads", str(threads)],
        env={**os.environ, **thread_env(threads)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the matmul measurement failed: {completed.stderr.strip()}")
    record = json.loads(completed.stdout)
    record["median_gflops"] = statistics.median(record["gflops"])
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.machine", description=__doc__)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, available_cpus()[: args.threads])
    gflops = timing.matmul_gflops(MATMUL_N, MATMUL_REPEATS)
    print(json.dumps({"threads": args.threads, "n": MATMUL_N, "gflops": gflops}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
