"""The CPUs of this host that a run holds while it runs, shared by every run of this
user on the host, whatever started it (a local `run`, `--jobs`, a Ray task): each CPU is
a lock file that the kernel releases when its holder ends, however it ends."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.contract.spec import available_cpus


def _root() -> Path:
    """The lock files' folder, shared by this user's runs on this host."""
    root = Path(tempfile.gettempdir()) / f"keras-harness-{os.getuid()}"
    root.mkdir(exist_ok=True)
    return root


def _lock_free(threads: int, among: list[int]) -> list[tuple[int, IO]] | None:
    """`threads` of the CPUs `among` that no other run holds, locked; None if fewer are
    free (nothing is then held)."""
    root = _root()
    held: list[tuple[int, IO]] = []
    for cpu in among:
        lock = open(root / f"cpu{cpu}.lock", "a")  # held, open, while the run runs
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        held.append((cpu, lock))
        if len(held) == threads:
            return held
    for _, f in held:
        f.close()
    return None


@contextlib.contextmanager
def only_one(name: str) -> Iterator[bool]:
    """Whether this process holds the lock `name`, shared by this user's processes on this
    host, until the block ends; False while another holds it."""
    with open(_root() / f"{name}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@contextlib.contextmanager
def free(threads: int) -> Iterator[list[int] | None]:
    """`threads` CPUs that no other run of this host holds, held while the run runs; None
    when fewer are free: the run then shares CPUs with another."""
    held = _lock_free(threads, available_cpus())
    try:
        yield [cpu for cpu, _ in held] if held else None
    finally:
        for _, f in held or []:
            f.close()


@contextlib.contextmanager
def host_cpus(threads: int, poll_s: float = 1.0) -> Iterator[tuple[list[int], Path]]:
    """`threads` CPUs of this host held for one run, and an empty folder for its files:
    Ray counts CPUs but does not place runs on them, and two nodes may share a host.
    Each CPU is a lock file that the kernel releases when its holder ends, however it
    ends; the folder belongs to the run's first CPU, so that what a killed run left there
    (a forced cancel, a lost node) is removed by the next run on that CPU."""
    while (held := _lock_free(threads, available_cpus())) is None:
        time.sleep(poll_s)  # more runs on this host than it has CPUs: wait for one
    cpus = [cpu for cpu, _ in held]
    folder = _root() / f"run-on-cpu{cpus[0]}"
    try:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        yield cpus, folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for _, f in held:
            f.close()
