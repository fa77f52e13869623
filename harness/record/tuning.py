"""The tuning record: what `python -m harness tune` measured for one backend on one
machine, and the settings it chose. `run --settings tuned` takes the record whose
machine id and framework versions match the machine it runs on.

    results/tuning/<backend>-<machine id>.json
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from harness.record import results, schema

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TrialRecord:
    """One candidate against the best settings so far: each round's steady step of both
    (seconds), their ratio with its 95 % interval, and what became of it."""

    knob: str
    value: str
    candidate: dict[str, str]
    against: dict[str, str]
    rounds: list[list[float]]  # [candidate, best] per round
    ratio: float | None
    low: float | None
    high: float | None
    kept: bool
    why: str


@dataclass(frozen=True)
class TuningRecord:
    backend: str
    machine_id: str
    fingerprint: schema.Fingerprint
    versions: dict[str, str]  # the framework's packages: a record fits only these
    code: schema.Git | None
    created: str
    steps: int  # a measuring run's training steps (the speed profile's)
    threads: int
    budget_s: float
    spent_s: float
    interrupted: bool  # Ctrl-C: what was measured is kept
    default: dict[str, str]
    chosen: dict[str, str]
    trials: list[TrialRecord]
    unusable: dict[str, str]  # "knob=value" -> why it cannot run here
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TuningRecord:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise results.ResultError(
                f"unknown tuning record schema_version {version!r}; this harness reads "
                f"{SCHEMA_VERSION}"
            )
        try:
            return cls(
                **{
                    **data,
                    "fingerprint": schema.Fingerprint(**data["fingerprint"]),
                    "code": schema.Git(**data["code"]) if data["code"] else None,
                    "trials": [TrialRecord(**t) for t in data["trials"]],
                }
            )
        except (KeyError, TypeError) as e:
            raise results.ResultError(f"not a tuning record: {e}") from e


def path(folder: Path, backend: str, machine_id: str) -> Path:
    return folder / f"{backend}-{machine_id}.json"


def write(record: TuningRecord, folder: Path) -> Path:
    out = path(folder, record.backend, record.machine_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    results.write_text_atomic(out, json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n")
    return out


def read(file: Path) -> TuningRecord:
    return results.read_record(file, TuningRecord.from_dict)


def find(
    folder: Path, backend: str, machine_id: str, versions: dict[str, str]
) -> tuple[TuningRecord | None, str]:
    """The record for `backend` on this machine with these framework versions, or None
    and why there is none, in a few words."""
    file = path(folder, backend, machine_id)
    if not file.is_file():
        return None, f"no tuning record for {backend} on machine {machine_id} in {folder}"
    record = read(file)
    if record.versions != versions:
        return None, (
            f"{file} was measured with {_versions(record.versions)}, this machine has "
            f"{_versions(versions)}"
        )
    return record, str(file)


def _versions(found: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"
