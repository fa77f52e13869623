"""What a worker is asked to do, and the one place its command line is made: the parent
builds a `WorkerTask` and starts `task.argv()`; the worker (`python -m harness.worker`)
reads it back with `WorkerTask.parse`. No other module spells a worker's flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.contract.spec import ConfigError, RunSpec

DESCRIPTION = """Runs ONE cell in this process, whose backend was fixed by the parent's
environment (KERAS_BACKEND, the thread variables and the CPUs, set before this interpreter
starts; keras is imported here and nowhere in the parent): trains and evaluates a spec
into its result file, probes its first steps (--parity), builds its model for its data
(--check), or describes models."""


@dataclass(frozen=True)
class WorkerTask:
    """One worker's job, written into `out`: train and evaluate `spec` (its result file),
    or probe its first `parity_steps` steps (a .npz), or only `check` that its model
    builds for its data (a file that says so: a model's file is tried before any run),
    or build the models `describe` names and count their parameters and FLOPs (a JSON
    file). `quiet`: no progress output; `invocation`: the `harness run` a run belongs
    to; `profile_ops`: profile the ops of its profile's `op_steps` steps after the run
    (`harness run` asks, `harness tune` does not)."""

    out: Path
    spec: RunSpec | None = None
    describe: tuple[str, ...] = ()
    parity_steps: int | None = None
    check: bool = False
    quiet: bool = False
    invocation: str | None = None
    profile_ops: bool = False

    def __post_init__(self) -> None:
        if (self.spec is None) == (not self.describe):
            raise ConfigError("a worker task trains a spec or describes models: give one")

    def argv(self) -> list[str]:
        """The worker's command line, this interpreter first."""
        command = [sys.executable, "-m", "harness.worker"]
        if self.spec is not None:
            command += ["--spec", json.dumps(self.spec.to_dict())]
        else:
            command += ["--describe", *self.describe]
        command += ["--out", str(self.out)]
        if self.invocation is not None:
            command += ["--invocation", self.invocation]
        if self.parity_steps is not None:
            command += ["--parity", str(self.parity_steps)]
        if self.check:
            command.append("--check")
        if self.quiet:
            command.append("--quiet")
        if self.profile_ops:
            command.append("--profile-ops")
        return command

    @classmethod
    def parse(cls, argv: list[str] | None = None) -> WorkerTask:
        """The task a worker's command line (`argv()` less the interpreter) names; a
        ConfigError if its spec is not one."""
        args = _parser().parse_args(argv)
        return cls(
            out=args.out,
            spec=RunSpec.from_dict(json.loads(args.spec)) if args.spec else None,
            describe=tuple(args.describe or ()),
            parity_steps=args.parity,
            check=args.check,
            quiet=args.quiet,
            invocation=args.invocation,
            profile_ops=args.profile_ops,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness.worker", description=DESCRIPTION)
    parser.add_argument("--out", required=True, type=Path, help="where to write the result")
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument("--spec", help="the RunSpec as a JSON object")
    task.add_argument("--describe", nargs="+", metavar="MODEL", help="describe models")
    parser.add_argument("--parity", type=int, metavar="STEPS", help="run the parity probe")
    parser.add_argument("--check", action="store_true", help="only build the spec's model")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--invocation", help="the `harness run` this run belongs to")
    parser.add_argument(
        "--profile-ops", action="store_true", help="profile its profile's op_steps steps after it"
    )
    return parser
