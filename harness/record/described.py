"""A worker's description of models (`python -m harness.worker --describe`, which
`harness list` asks for): each model's size, as built on one backend for the dataset its
recipe names. Typed and versioned like a run's record, checked field by field before
writing and on read, turned into JSON only here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from harness.contract.rules import TEXT, integer, number, one_of
from harness.record import atomic, store
from harness.record.results import ResultError
from harness.record.schema import Section, nested_mapping, ruled

# Version 1 is the first that says its version.
SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class ModelSize(Section):
    dataset: str = ruled(TEXT)  # the dataset it was built for
    parameters: int = ruled(integer(0))
    forward_flops_per_image: float = ruled(number(0))


@dataclass(frozen=True, kw_only=True)
class Described(Section):
    schema_version: int = ruled(one_of(SCHEMA_VERSION), SCHEMA_VERSION)
    kind: str = ruled(one_of("models"), "models")
    models: dict[str, ModelSize] = nested_mapping(ModelSize)  # by the model's name


def write(sizes: dict[str, ModelSize], path: Path) -> None:
    """Write a description that `read` will take (one it would refuse is a bug)."""
    data = dataclasses.asdict(Described(models=sizes))
    problems = Described.problems(data, data, "")
    if problems:
        raise ResultError(f"refusing to write {path}: " + "; ".join(problems))
    atomic.write_text_atomic(path, json.dumps(data))


def _build(data: dict) -> dict[str, ModelSize]:
    problems = Described.problems(data, data, "")
    if problems:
        raise ResultError("; ".join(problems))
    return Described.build(data).models


def read(path: Path) -> dict[str, ModelSize]:
    """Each model's size by name; a ResultError naming the file if it is not a
    description of this version."""
    return store.read_record(path, _build)
