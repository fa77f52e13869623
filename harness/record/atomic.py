"""Files that appear whole or not at all, for every writer (the worker's records and
arrays, the report, tuning and parity records): written under a temporary name beside
their place, synced, then renamed; a folder's files published together, with Ctrl-C and
SIGTERM held until the last is in place."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO


def os_error(e: OSError) -> str:
    """A file-system error in one line: what failed, on which file."""
    return f"{e.strerror or e}: {e.filename}" if e.filename else str(e.strerror or e)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def staged(path: Path, mode: str) -> Iterator[tuple[IO, Path]]:
    """A temporary file beside `path`, written, synced and given the permissions open()
    would; yields it and its name. Removed if writing it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        # The temporary name is the harness's own: the file that could not be written
        # is the one asked for.
        raise type(e)(e.errno, e.strerror, str(path)) from None
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
    with staged(path, mode) as (f, tmp):
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


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as f:
        f.write(text)
