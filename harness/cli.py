"""`python -m harness run | tune | report | compare | parity | list`: the command line, one
module per command in `harness.commands` (its options and what it does). The parent
process: it never imports keras; runs are workers that `harness.launch` starts.
"""

from __future__ import annotations

import argparse
import signal
import sys

from harness import plugins
from harness.commands import compare, parity, report, run, tune
from harness.commands import list as listing
from harness.config import ConfigError
from harness.record import results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for command in (run, tune, parity, compare, report, listing):
        command.add_parser(sub)
    return p


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # SIGTERM ends a run like Ctrl-C: the worker is stopped and nothing half-done is kept.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return args.func(args)
    except (ConfigError, plugins.PluginError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # A full disk, a folder that turned read-only: said in one line, not a traceback.
        print(f"error: {results.os_error(e)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
