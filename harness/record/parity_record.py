"""The parity record (`python -m harness parity`, parity.json): the probes' comparison,
pair by pair, the tolerances it was judged by, the code and the frameworks' versions.
Typed like a run's record, converted to JSON only here, refusing a version it does not
know."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from harness.record import atomic, results, store
from harness.record.schema import Git

# Version 1 is the first that says its version.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Tolerances:
    """What parity allows two probes: their untrained outputs apart by forward_max_abs at
    most, their training losses within loss_rel (relative) for the first
    steps_in_agreement steps."""

    forward_max_abs: float
    loss_rel: float
    steps_in_agreement: int


@dataclass(frozen=True)
class ParityPair:
    """Two probes compared: their untrained outputs, and the training loss step by step."""

    backends: list[str]
    forward_max_abs: float
    loss_rel: list[float]  # per step, relative to the larger loss
    loss_rel_max: float
    first_step_beyond: int | None  # the first step (from 1) beyond the loss tolerance
    within_tolerance: bool


@dataclass(frozen=True)
class ParityRecord:
    created: str
    git: Git | None
    libraries: dict[str, dict[str, str]]  # probe -> its framework's versions
    spec: dict  # what the probes share (all but backend and impl)
    steps: int
    tolerances: Tolerances
    losses: dict[str, list[float]]  # probe -> its training loss per step
    pairs: list[ParityPair]
    kind: str = "parity"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ParityRecord:
        if data.get("schema_version") != SCHEMA_VERSION or data.get("kind") != "parity":
            raise results.ResultError(
                f"not a parity record of schema version {SCHEMA_VERSION}: kind "
                f"{data.get('kind')!r}, schema_version {data.get('schema_version')!r}"
            )
        try:
            git = Git(**data["git"]) if data["git"] else None
            pairs = [ParityPair(**p) for p in data["pairs"]]
            tolerances = Tolerances(**data["tolerances"])
            return cls(**{**data, "git": git, "pairs": pairs, "tolerances": tolerances})
        except (KeyError, TypeError) as e:
            raise results.ResultError(f"not a parity record: {e}") from e


def write(record: ParityRecord, path: Path) -> None:
    atomic.write_text_atomic(path, json.dumps(record.to_dict(), indent=2) + "\n")


def read(path: Path) -> ParityRecord:
    return store.read_record(path, ParityRecord.from_dict)
