"""The code a record was made by, asked where the record is made: the run's worker, the
parity probe, the overhead benchmark."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.record.schema import Git


def git_commit(cwd: Path | None = None) -> Git | None:
    """The commit of the working directory's repository and whether it had changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return Git(commit=git("rev-parse", "HEAD"), dirty=bool(git("status", "--porcelain")))
    except (OSError, subprocess.SubprocessError):
        return None
