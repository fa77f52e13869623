"""The result record of one run, typed: a finished run or a failed one, its schema
version, the rules every field follows in a file, and the record a file's JSON holds,
upgraded (`harness.record.upgrades`) and checked. Its files are the store's
(`harness.record.store`).

This module and `harness.record.schema` are the only contract between measuring (worker) and
reporting (summary, report, compare): they read nothing but what `store.read_all` returns.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.contract.rules import Rule, mapping, nullable, one_of, shown
from harness.contract.spec import RunSpec
from harness.record import schema, upgrades
from harness.record.schema import FILE_NAME, TIME, ruled

SCHEMA_VERSION = 9
KNOWN_SCHEMA_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9)


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
    return problems or _machine_problems(record)


def _machine_problems(record: dict) -> list[str]:
    """A machine id that is not the one its fingerprint and environment give: a record
    edited by hand, or given another machine's id (`schema.machine_id_of`). A record
    without a host, platform or CPU count (before schema version 5) is not checked."""
    fingerprint = (record.get("machine") or {}).get("fingerprint")
    env = record.get("environment") or {}  # a failed run's record has none
    cpu, cpus, platform, host = (
        env.get(k) for k in ("cpu_model", "cpus_total", "platform", "host")
    )
    if fingerprint is None or cpu is None or cpus is None or platform is None or host is None:
        return []
    derived = schema.machine_id_of(fingerprint, cpu, cpus, platform, host)
    if fingerprint["machine_id"] == derived:
        return []
    return [
        f"machine.fingerprint.machine_id is {shown(fingerprint['machine_id'])}, but its "
        f"fingerprint and environment are machine {derived}'s"
    ]


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
    for upgrade in upgrades.UPGRADES[KNOWN_SCHEMA_VERSIONS.index(version) :]:
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
