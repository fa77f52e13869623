"""The results folder: where runs' records and arrays lie (`runs/`), their names, and
reading and writing them: a run's files published together, every record of a folder
read with a warning for each file that is not one.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import re
import stat
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from harness.record import atomic
from harness.record.results import Record, ResultError, RunResult, check, from_dict

T = TypeVar("T")


def new_run_id(backend: str, model: str, dataset: str, profile: str, seed: int) -> str:
    """A name no other run gets: time, the run's cell, and a random suffix; a character
    a file name of its own should not have (a model file's "my model.py") as "_"."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    cell = re.sub(r"[^\w.+-]", "_", f"{backend}-{model}-{dataset}-{profile}")
    return f"{stamp}-{cell}-seed{seed}-{uuid.uuid4().hex[:8]}"


def new_invocation_id() -> str:
    """A name for one `harness run`, shared by the records of all its runs."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def runs_dir(results_dir: Path) -> Path:
    return Path(results_dir) / "runs"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class RunFiles:
    """The files of one run, which appear together or not at all: its arrays are written
    under temporary names (while the run is still timed), then published with the result,
    the result file last. Whatever was not published is removed by `discard`, which the
    worker calls on every way out."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._staged: list[tuple[Path, Path]] = []  # (temporary, final)

    @contextmanager
    def _stage(self, name: str) -> Iterator[IO]:
        final = self.out.parent / name
        with atomic.staged(final, "wb") as (f, tmp):
            yield f
        # Only once it is whole (a file that could not be written is gone); a stop
        # before this line leaves it to the parent's `remove_leftovers`.
        self._staged.append((tmp, final))

    def stage_arrays(self, name: str, arrays: list[np.ndarray]) -> None:
        """Arrays to publish as `name` (.npz: arr_0, arr_1, ...) beside the result."""
        with self._stage(name) as f:
            np.savez(f, *arrays)

    def stage_optional(self, name: str, arrays: list[np.ndarray], what: str) -> str | None:
        """As `stage_arrays`, for `what` a run is complete without (its final weights,
        4 MB for the seed model): a full disk leaves it out, not the run; returns why it
        was left out, or None."""
        try:
            self.stage_arrays(name, arrays)
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            return f"{what} left out, the run kept without them: {atomic.os_error(e)}"
        return None

    def stage_bytes(self, name: str, data: bytes) -> None:
        """A file to publish as `name` beside the result, as it was written elsewhere
        (by a run on a Ray node)."""
        with self._stage(name) as f:
            f.write(data)

    def publish(self, result: Record) -> None:
        published = []
        try:
            for tmp, final in self._staged:
                os.replace(tmp, final)
                published.append(final)
            write(result, self.out)
        except BaseException:
            for final in published:
                final.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []


def remove_leftovers(out: Path) -> None:
    """Remove the temporary files of the run whose result is `out`: a worker killed while
    it saved (SIGKILL, out of memory) cannot, and every later report would warn of them;
    the parent that started it knows its name. Call it once that worker has ended."""
    run_id = Path(out).name.removesuffix(".json")
    for path in Path(out).parent.glob(f".{glob.escape(run_id)}.*.tmp"):
        try:
            path.unlink()
        except OSError:  # gone already, or not ours to remove: the report names it
            pass


def read_record(path: Path, build: Callable[[dict], T]) -> T:
    """A record of another kind (tuning, parity, overhead) from its JSON file: `build`
    makes it from the object the file holds; any failure a ResultError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ResultError("a record is a JSON object")
        return build(data)
    except (OSError, ValueError) as e:  # ResultError is a ValueError
        raise ResultError(f"{path}: {e}") from e


def write(result: Record, path: Path) -> None:
    """Write a record that `read` will take: one it would refuse is a bug, never a file."""
    data = result.to_dict()
    problems = check(data)
    if problems:
        raise ResultError(f"refusing to write {path}: " + "; ".join(problems))
    atomic.write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextmanager
def _open_regular(path: Path, mode: str) -> Iterator[IO]:
    """`path` opened for reading if it is a regular file. A named pipe among the results
    would block the reader until something writes into it (forever): it is opened
    without waiting, and refused with the rest that is not a file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            what = "a named pipe" if stat.S_ISFIFO(kind) else "not a regular file"
            raise ResultError(f"{what}, not a file a run writes")
        yield f


def read(path: Path) -> Record:
    try:
        with _open_regular(path, "r") as f:
            data = json.loads(f.read())
    except (OSError, ValueError) as e:  # ValueError: not JSON, or a number of 4,300 digits
        raise ResultError(f"{path}: {e}") from e
    except RecursionError as e:
        raise ResultError(f"{path}: nested too deeply to be a result") from e
    try:
        return from_dict(data)
    except ResultError as e:
        raise ResultError(f"{path}: {e}") from e


# Stray files named in the warning that counts them.
STRAYS_NAMED = 3


def read_all(results_dir: Path) -> tuple[list[Record], list[str]]:
    """Every readable result under `results_dir`/runs, oldest first, and one warning per
    file that could not be read. A result whose predictions are gone is skipped; final
    weights are optional (they are large, and only run-to-run comparisons use them)."""
    found: list[Record] = []
    warnings: list[str] = []
    named: set[str] = set()
    skipped: list[str] = []  # the files' stems: their arrays are theirs, not strays
    first: dict[str, Path] = {}  # each run_id's file
    folder = runs_dir(results_dir)
    for path in sorted(folder.glob("*.json")):
        try:
            result = read(path)
            if result.run_id in first:
                raise ResultError(
                    f"{path}: a copy of run {result.run_id}, which {first[result.run_id].name} "
                    "holds (a run counts once)"
                )
            if isinstance(result, RunResult):
                named.update(result.artifacts.names())
                name = result.artifacts.predictions
                if name and not (path.parent / name).is_file():
                    raise ResultError(f"{path}: its predictions are missing: {name}")
        except ResultError as e:
            warnings.append(f"skipped {e}")
            skipped.append(f"{path.stem}.")
        else:
            first[result.run_id] = path
            found.append(result)
    found.sort(key=lambda r: (r.created, r.run_id))
    strays = [
        path
        for path in (sorted(folder.iterdir()) if folder.is_dir() else ())
        if path.suffix != ".json"
        and path.name not in named
        and not path.is_dir()
        and not path.name.startswith(tuple(skipped))
    ]
    why = "(left by an interrupted run, or still being written)"
    if len(strays) == 1:
        warnings.append(
            f"stray file {strays[0]}: no result names it {why}; delete it if no run is going on"
        )
    elif strays:
        # Thousands of them make one line, not thousands (nor a report of 300 kB).
        more = len(strays) - STRAYS_NAMED
        names = ", ".join(p.name for p in strays[:STRAYS_NAMED]) + (
            f" and {more:,} more" if more > 0 else ""
        )
        warnings.append(
            f"{len(strays):,} stray files in {folder}: {names}; no result names them {why}; "
            "delete them if no run is going on"
        )
    return found, warnings


def load_arrays(results_dir: Path, result: RunResult, name: str) -> list[np.ndarray]:
    """The arrays of one of `result`'s files (a name from its `artifacts`: its predictions
    or its final weights); ResultError if the file is gone or broken."""
    path = runs_dir(results_dir) / name
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return [loaded[f"arr_{i}"] for i in range(len(loaded.files))]
    except OSError as e:
        raise ResultError(f"{path} (of run {result.run_id}): {atomic.os_error(e)}") from e
    except (ValueError, KeyError, EOFError, AttributeError, zipfile.BadZipFile) as e:
        # numpy takes whatever is not an archive for pickled data, and suggests loading
        # it unsafely: a file a run wrote that is not its archive is damaged.
        raise ResultError(
            f"{path} (of run {result.run_id}) is damaged: it is not the .npz archive of "
            "arrays that a run writes; delete it, or rerun that run"
        ) from e
