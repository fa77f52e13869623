"""How a worker stops when it is asked to: by SIGTERM, which its launcher sends to stop
it (Ctrl-C, --fail-fast) and Linux sends when its parent dies. The run ends through
`Stopped` (a SystemExit), so that its half-written files are removed on the way out.

The signal handler raises `Stopped` wherever the interpreter happens to be, and there
it can be swallowed: JAX's tracing runs code under bare `except:` clauses (for one,
`jax._src.core.is_constant_dim`), so a SIGTERM during the first step's trace was lost
and the run trained to its end and published its result. The request is therefore also
kept, and the run asks for it again at every training step and before it publishes.
This module imports no framework.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from harness.contract.handover import PARENT_ENV

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Stopped(SystemExit):
    """The run was asked to stop by `signum`; exits with 128 + signum, as a shell says."""

    code: int

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


class StopRequest:
    """Whether (and by which signal) this process was asked to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        first = self.signum is None
        self.signum = signum
        # Raised once: a second SIGTERM (the launcher's, after the parent's death) must
        # not break off the removal of the run's files that the first one started.
        if first:
            raise Stopped(signum)

    def check(self) -> None:
        """Raise `Stopped` if a stop was asked for, even if its first raise was lost."""
        if self.signum is not None:
            raise Stopped(self.signum)


STOP = StopRequest()


def die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when the process that started it dies (a
    SIGKILLed parent can no longer stop it), so that no orphan trains on for minutes and
    writes a result nobody asked for. A parent that died before this call is caught by
    comparing the pid it named with the one the worker has now."""
    parent = os.environ.get(PARENT_ENV)
    if parent is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        print(f"warning: the worker cannot follow its parent: errno {ctypes.get_errno()}",
              file=sys.stderr)  # fmt: skip
    if os.getppid() != int(parent):
        raise Stopped(signal.SIGTERM)


def exit_now(stopped: Stopped) -> None:
    """Leave at once, the run's files already removed: a normal exit would first wait
    for the helper threads in which Keras finishes the steps it dispatched (JAX), and
    train on for seconds after the stop."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(stopped.code)
