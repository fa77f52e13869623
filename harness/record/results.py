"""The result record of one run: versioned, written atomically, read strictly.

This module and `harness.record.schema` are the only contract between measuring (worker) and
reporting (summary, report, compare): they read nothing but what `read_all` returns.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import glob
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, ClassVar, TypeVar

import numpy as np

from harness.config import Impl, Init, RunSpec
from harness.record import schema
from harness.record.schema import FILE_NAME, TIME, ruled
from harness.rules import Rule, mapping, nullable, one_of, shown

SCHEMA_VERSION = 7
KNOWN_SCHEMA_VERSIONS = (1, 2, 3, 4, 5, 6, 7)


T = TypeVar("T")


class ResultError(ValueError):
    """A result file is unreadable, incomplete, of an unknown schema version, or holds a
    value its schema does not allow."""


def _section(kind: type[schema.Section]) -> Any:
    """A section of a record: a JSON object in the file, checked by its own rules."""
    return dataclasses.field(metadata={"section": kind})


@dataclass(frozen=True, kw_only=True)
class _Common:
    """What every record holds, each field with the rule it follows in a file (the spec
    by RunSpec's own, `schema.spec_problems`)."""

    run_id: str = ruled(FILE_NAME)
    created: str = ruled(TIME)  # UTC, ISO 8601
    spec: RunSpec
    # The `harness run` it came from (None before schema version 5): the report shows
    # each cell's results of its latest invocation.
    invocation: str | None = ruled(nullable(FILE_NAME), None)
    # The backend's own settings (threads, determinism, ...), as its plugin reports them;
    # null in a failed run's record.
    backend_settings: dict | None = ruled(nullable(mapping()), None)
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, kw_only=True)
class RunResult(_Common):
    """The record of a run that completed: every section of it, the recipe first (the
    others' lengths follow it)."""

    status: ClassVar[schema.Status] = schema.Status.OK
    recipe: schema.Recipe = _section(schema.Recipe)
    environment: schema.Environment = _section(schema.Environment)
    timings: schema.Timings = _section(schema.Timings)
    metrics: schema.Metrics = _section(schema.Metrics)
    memory: schema.Memory = _section(schema.Memory)
    machine: schema.Machine = _section(schema.Machine)
    reproducibility: schema.Reproducibility = _section(schema.Reproducibility)
    artifacts: schema.Artifacts = dataclasses.field(
        default=schema.Artifacts(), metadata={"section": schema.Artifacts}
    )

    @property
    def determinism(self) -> str:
        """The determinism controls the backend plugin reported ("off": none)."""
        return str((self.backend_settings or {}).get("determinism", "off"))

    def to_dict(self) -> dict:
        return {**_recorded(self), "failure": None}


@dataclass(frozen=True, kw_only=True)
class FailedRun(_Common):
    """The record of a run that failed: its spec and its failure; a file of it holds the
    sections of a completed run as null."""

    status: ClassVar[schema.Status] = schema.Status.FAILED
    failure: schema.Failure = _section(schema.Failure)

    def to_dict(self) -> dict:
        return {
            **_recorded(self),
            **dict.fromkeys(sections(RunResult)),
            "artifacts": dataclasses.asdict(schema.Artifacts()),
        }


@functools.cache
def sections(kind: type[_Common]) -> dict[str, type[schema.Section]]:
    """The sections of a record of `kind`, by name, in the order they are checked."""
    return {
        f.name: f.metadata["section"] for f in dataclasses.fields(kind) if "section" in f.metadata
    }


@functools.cache
def top_rules(kind: type[_Common]) -> dict[str, Rule]:
    """The rules of the values at the top of a record of `kind`, by name."""
    return {f.name: f.metadata["rule"] for f in dataclasses.fields(kind) if "rule" in f.metadata}


def check(record: dict) -> list[str]:
    """What is wrong with a record of the current schema version, field by field; an
    empty list when nothing is. The sections after the recipe are checked only once it
    holds, since their lengths follow it."""
    status = record.get("status")
    if problem := one_of(*schema.STATUSES).problem(status):
        return [f"status {problem}"]
    kind = RunResult if status == schema.Status.OK else FailedRun
    problems = []
    for name, rule in top_rules(kind).items():
        if name not in record:
            problems.append(f"{name} is missing")
        elif problem := rule.problem(record[name], record):
            problems.append(f"{name} {problem}")
    problems += schema.spec_problems(record.get("spec"))
    for name, section in sections(kind).items():
        value = record.get(name)
        if name not in record:
            found = [f"{name} is missing"]
        elif not isinstance(value, dict):
            found = [f"{name} must be an object, got {shown(value)}"]
        else:
            found = section.problems(value, record, f"{name}.")
        problems += found
        if name == "recipe" and found:
            return problems
    return problems


Record = RunResult | FailedRun


def _recorded(record: Record) -> dict:
    # The data folder and one's own files lie on the user's machine: a record names its
    # data by the source's name (recipe.data_source) and the arrays' digests, and a file
    # of one's own by its name and digest (the spec's), not where they lay.
    recorded = dataclasses.replace(record, spec=record.spec.recorded_form())
    return {**dataclasses.asdict(recorded), "status": record.status}


def from_dict(data: object) -> Record:
    """The record a file's JSON holds, upgraded to the current schema version and
    checked field by field; a ResultError that names what is wrong."""
    if not isinstance(data, dict):
        raise ResultError(f"a result must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise ResultError(
            f"unknown schema_version {version!r}; this harness reads "
            f"{', '.join(map(str, KNOWN_SCHEMA_VERSIONS))}"
        )
    for upgrade in _UPGRADES[KNOWN_SCHEMA_VERSIONS.index(version) :]:
        data = upgrade(data)
    problems = check(data)
    if problems:
        raise ResultError("; ".join(dict.fromkeys(problems)))
    common = {
        **{name: data[name] for name in ("run_id", "created", "invocation", "backend_settings")},
        "spec": RunSpec.recorded(data["spec"]),
    }
    if data["status"] == schema.Status.FAILED:
        return FailedRun(**common, failure=schema.Failure.build(data["failure"]))
    return RunResult(
        **common,
        **{name: section.build(data[name]) for name, section in sections(RunResult).items()},
    )


def _upgrade_from_1(data: dict) -> dict:
    """Version 1 had Keras's own initialisation only, no digests and no saved arrays."""
    spec = data.get("spec")
    if isinstance(spec, dict):
        spec = {**spec, "init": Init.KERAS, "deterministic": False}
    none = dict.fromkeys(schema.DIGESTS)
    return {
        **data,
        "spec": spec,
        "reproducibility": none,
        "artifacts": {},
        "status": schema.Status.OK,
        "failure": None,
        "schema_version": 2,
    }


def _upgrade_from_2(data: dict) -> dict:
    """Version 2 had no step clocks, prediction latency or interpreter start-up time."""
    timings = data.get("timings")
    if isinstance(timings, dict):
        timings = {"interpreter_s": None, "steps_s": None, "predict_s": None, **timings}
    return {**data, "timings": timings, "schema_version": 3}


def _upgrade_from_3(data: dict) -> dict:
    """Version 3 called fit() once per epoch and timed no more than its epochs: no wall
    time, no fit() call, no phase after training but evaluation; its `predict_s` was the
    prediction latency; the machine was not measured at run time."""
    timings = data.get("timings")
    if isinstance(timings, dict):
        timings = {
            **dict.fromkeys((*schema.PHASES, "wall_s", "unaccounted_s")),
            **{k: v for k, v in timings.items() if k != "predict_s"},
            "latency_calls_s": timings.get("predict_s"),
        }
    machine = {"matmul": None, "during_fit": None}
    return {**data, "timings": timings, "machine": machine, "schema_version": 4}


def _upgrade_from_4(data: dict) -> dict:
    """Version 4 did not record how many classes the dataset has, nor the invocation a
    run came from."""
    recipe = data.get("recipe")
    if isinstance(recipe, dict) and data.get("status") == schema.Status.OK:
        recipe = {"classes": None, **recipe}
    return {**data, "recipe": recipe, "invocation": None, "schema_version": 5}


def _upgrade_from_5(data: dict) -> dict:
    """Version 5 kept the backend's settings in the environment, as `threads`, and
    knew Keras runs only: no native implementation."""
    environment, settings, spec = data.get("environment"), None, data.get("spec")
    if isinstance(environment, dict):
        settings = environment.get("threads")
        environment = {k: v for k, v in environment.items() if k != "threads"}
    if isinstance(spec, dict):
        spec = {"impl": Impl.KERAS, **spec}
    return {
        **data,
        "spec": spec,
        "environment": environment,
        "backend_settings": settings,
        "schema_version": 6,
    }


def _upgrade_from_6(data: dict) -> dict:
    """Version 6 had a `tuned` profile: the seed recipe with settings written into the
    backend plugins by hand. It is the seed profile with those settings now, marked as
    the old profile's."""
    spec = data.get("spec")
    if isinstance(spec, dict) and spec.get("profile") == "tuned":
        spec = {
            **spec,
            "profile": "seed",
            "tuning": [["profile", "tuned"]],
            "tuning_source": "the tuned profile of its commit (settings fixed in the plugin)",
        }
    return {**data, "spec": spec, "schema_version": 7}


_UPGRADES = (
    _upgrade_from_1, _upgrade_from_2, _upgrade_from_3, _upgrade_from_4, _upgrade_from_5,
    _upgrade_from_6,
)  # fmt: skip


def os_error(e: OSError) -> str:
    """A file-system error in one line: what failed, on which file."""
    return f"{e.strerror or e}: {e.filename}" if e.filename else str(e.strerror or e)


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _staged(path: Path, mode: str) -> Iterator[tuple[IO, Path]]:
    """A temporary file beside `path`, written, synced and given the permissions open()
    would; yields it and its name. Removed if writing it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f, tmp
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600).
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            # A write through the open file (a full disk) names no file: name it.
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file that appears at `path` complete or not at all: written to a temporary name
    in the same directory, synced, then renamed over `path`."""
    with _staged(path, mode) as (f, tmp):
        yield f
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM that arrive during the block take effect when it ends, as they
    would have at its start (only the main thread may set handlers; elsewhere the block
    runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, FrameType | None]] = []
    previous = {
        signum: signal.signal(signum, lambda *caught: held.append(caught))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler set outside Python, which cannot be put back; the default
            # is what such a process had.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if held:
            caught, frame = held[0]
            handler = previous[signal.Signals(caught)]
            if callable(handler):
                handler(caught, frame)
            elif handler != signal.SIG_IGN:
                signal.raise_signal(caught)


@contextmanager
def published_together(folder: Path) -> Iterator[Path]:
    """A private folder inside `folder` to write files into; when the block ends, every
    file written there is moved into `folder`, all of them or, if the block fails or is
    interrupted, none (a reader never sees a report of which half is new). The moves are
    renames within one file system, made with Ctrl-C and SIGTERM held until the last."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staged-", suffix=".tmp"))
    try:
        yield staging
        with _signals_held():
            for path in sorted(staging.iterdir()):
                os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
        with _staged(final, "wb") as (f, tmp):
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
            return f"{what} left out, the run kept without them: {os_error(e)}"
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


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as f:
        f.write(text)


def write(result: Record, path: Path) -> None:
    """Write a record that `read` will take: one it would refuse is a bug, never a file."""
    data = result.to_dict()
    problems = check(data)
    if problems:
        raise ResultError(f"refusing to write {path}: " + "; ".join(problems))
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


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
    folder = runs_dir(results_dir)
    for path in sorted(folder.glob("*.json")):
        try:
            result = read(path)
            if isinstance(result, RunResult):
                named.update(result.artifacts.names())
                name = result.artifacts.predictions
                if name and not (path.parent / name).is_file():
                    raise ResultError(f"{path}: its predictions are missing: {name}")
        except ResultError as e:
            warnings.append(f"skipped {e}")
        else:
            found.append(result)
    found.sort(key=lambda r: (r.created, r.run_id))
    strays = [
        path
        for path in (sorted(folder.iterdir()) if folder.is_dir() else ())
        if path.suffix != ".json" and path.name not in named and not path.is_dir()
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
        raise ResultError(f"{path} (of run {result.run_id}): {os_error(e)}") from e
    except (ValueError, KeyError, EOFError, AttributeError, zipfile.BadZipFile) as e:
        # numpy takes whatever is not an archive for pickled data, and suggests loading
        # it unsafely: a file a run wrote that is not its archive is damaged.
        raise ResultError(
            f"{path} (of run {result.run_id}) is damaged: it is not the .npz archive of "
            "arrays that a run writes; delete it, or rerun that run"
        ) from e
