"""How a command ends when it is stopped. Ctrl-C raises KeyboardInterrupt; SIGTERM (`kill`,
a scheduler, a CI timeout) is made to raise `Terminated`, its subclass, so that both leave
the same way: one line that says what was kept, and the shell's status for the signal,
128 + its number (130 for Ctrl-C, 143 for SIGTERM), as a stopped worker's own."""

from __future__ import annotations

import signal
import sys


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be."""


def on_sigterm(signum: int, frame: object) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}")


def status(e: KeyboardInterrupt) -> int:
    return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)


def said(e: KeyboardInterrupt, what: str) -> int:
    """Say in one line what the interruption left, and return the status to exit with.
    The line starts on a line of its own: at a terminal, Ctrl-C's ^C ends none."""
    print(f"\n==> interrupted {what}", file=sys.stderr)
    return status(e)
