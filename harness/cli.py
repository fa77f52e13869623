"""`python -m harness run | tune | report | compare | parity | list`: the command line, one
module per command in `harness.commands` (its options and what it does). The parent
process: it never imports keras; runs are workers that `harness.launch` starts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from typing import TextIO

from harness.commands import compare, interrupts, parity, report_command, run, tune
from harness.commands import list as listing
from harness.contract import plugins
from harness.contract.spec import ConfigError
from harness.record import atomic


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for command in (run, tune, parity, compare, report_command, listing):
        command.add_parser(sub)
    return p


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A library's warning in the parent, in one line of the harness's: without the file
    and line it came from, a path in the environment's site-packages."""
    print(f"warning: {category.__name__}: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    # A path given with a byte that is not UTF-8 (`--results $'r\xff'`) reaches Python as
    # a lone surrogate, which a UTF-8 stdout refuses with a traceback: such a path is
    # printed as the bytes it was given, as stderr already does in its own way.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    args = parser().parse_args(argv)
    # SIGTERM ends a run like Ctrl-C: the worker is stopped and nothing half-done is kept.
    previous = signal.signal(signal.SIGTERM, interrupts.on_sigterm)
    shown = warnings.showwarning
    warnings.showwarning = _warning_line
    try:
        return args.func(args)
    except KeyboardInterrupt as e:  # where no command says more of what it left
        return interrupts.said(e, f"({args.command})")
    except (ConfigError, plugins.PluginError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # A full disk, a folder that turned read-only: said in one line, not a traceback.
        print(f"error: {atomic.os_error(e)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.showwarning = shown
