"""The result record of one run: versioned, written atomically, read strictly.

This module is the only contract between measuring (worker) and reporting (report):
the report reads nothing but what `read_all` returns.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
KNOWN_SCHEMA_VERSIONS = (1,)

# The keys each section must have; the report relies on exactly these.
REQUIRED = {
    "spec": ("backend", "model", "dataset", "profile", "seed", "threads"),
    "recipe": (
        "epochs",
        "batch_size",
        "train_images",
        "test_images",
        "optimizer",
        "loss",
        "data_format",
        "jit_compile",
        "parameters",
    ),
    "environment": ("python", "cpu_model", "cpus_used", "threads", "libraries", "variables"),
    "timings": ("import_s", "data_load_s", "build_s", "epochs_s", "evaluate_s"),
    "metrics": ("history", "test_loss", "test_accuracy"),
    "memory": ("peak_rss_mib",),
}


class ResultError(ValueError):
    """A result file is unreadable, incomplete or of an unknown schema version."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    created: str  # UTC, ISO 8601
    spec: dict
    recipe: dict
    environment: dict
    timings: dict
    metrics: dict
    memory: dict
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> RunResult:
        if not isinstance(data, dict):
            raise ResultError(f"a result must be a JSON object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version not in KNOWN_SCHEMA_VERSIONS:
            raise ResultError(
                f"unknown schema_version {version!r}; this harness reads "
                f"{', '.join(map(str, KNOWN_SCHEMA_VERSIONS))}"
            )
        fields = [f.name for f in dataclasses.fields(cls)]
        missing = [name for name in fields if name not in data]
        for section, keys in REQUIRED.items():
            value = data.get(section)
            if isinstance(value, dict):
                missing += [f"{section}.{key}" for key in keys if key not in value]
            elif section not in missing:
                missing.append(f"{section} (not an object)")
        if missing:
            raise ResultError(f"missing fields: {', '.join(missing)}")
        return cls(**{name: data[name] for name in fields})


def new_run_id(backend: str, model: str, dataset: str, profile: str, seed: int) -> str:
    """A name no other run gets: time, the run's cell, and a random suffix."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{backend}-{model}-{dataset}-{profile}-seed{seed}-{uuid.uuid4().hex[:8]}"


def runs_dir(results_dir: Path) -> Path:
    return Path(results_dir) / "runs"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, then rename: readers see the old
    file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write(result: RunResult, path: Path) -> None:
    write_text_atomic(path, json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")


def read(path: Path) -> RunResult:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultError(f"{path}: {e}") from e
    try:
        return RunResult.from_dict(data)
    except ResultError as e:
        raise ResultError(f"{path}: {e}") from e


def read_all(results_dir: Path) -> tuple[list[RunResult], list[str]]:
    """Every readable result under `results_dir`/runs, oldest first, and one warning per
    file that could not be read."""
    found, warnings = [], []
    for path in sorted(runs_dir(results_dir).glob("*.json")):
        try:
            found.append(read(path))
        except ResultError as e:
            warnings.append(f"skipped {e}")
    found.sort(key=lambda r: (r.created, r.run_id))
    return found, warnings
