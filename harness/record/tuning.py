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

from harness.record import atomic, results, schema, store
from harness.record.parity_record import Tolerances

# Version 2: each candidate's expected gain and where it came from, its verdict and its
# parity result; JAX's two gradients are two knobs (version 1's `ops` was both).
SCHEMA_VERSION = 2
KNOWN_VERSIONS = (1, 2)


@dataclass(frozen=True)
class ParityCheck:
    """A candidate's parity probe against the defaults: the largest difference of the
    untrained outputs and of the training losses (relative) over the probe's steps, and
    the tolerances they were judged by; `error` says why there are no figures (the probe
    failed)."""

    steps: int
    forward_max_abs: float | None
    loss_rel_max: float | None
    first_step_beyond: int | None  # the first step (from 1) beyond the loss tolerance
    tolerances: Tolerances
    within: bool
    error: str = ""

    def text(self) -> str:
        """ "outputs 1.2e-07 (≤ 1e-06), losses 3.0e-06 (≤ 1e-04 for 10 steps)"."""
        if self.error:
            return f"the probe failed: {self.error}"
        t = self.tolerances
        return (
            f"outputs {self.forward_max_abs:.1e} (≤ {t.forward_max_abs:.0e}), losses "
            f"{self.loss_rel_max:.1e} (≤ {t.loss_rel:.0e} for {t.steps_in_agreement} steps"
            + (f"; beyond from step {self.first_step_beyond}" if self.first_step_beyond else "")
            + ")"
        )


# What became of a candidate (`TrialRecord.verdict`).
FASTER, SLOWER, EQUIVALENT, UNDECIDED = "faster", "slower", "equivalent", "undecided"
NUMERICS_DIFFER, FAILED, NOT_TRIED, INTERRUPTED = (
    "numerics differ", "failed", "not tried", "interrupted",
)  # fmt: skip


@dataclass(frozen=True)
class TrialRecord:
    """One candidate against the best settings so far: the gain expected of it and from
    where, its parity probe against the defaults, each round's steady step of both
    (seconds), their ratio with its 95 % interval, its verdict and what became of it."""

    knob: str
    value: str
    candidate: dict[str, str]
    against: dict[str, str]
    expected: float | None  # its step over the defaults' expected before its rounds
    expected_from: str  # "a previous tuning record", "a first-pass round", "" (none)
    first_pass: list[float] | None  # [candidate, defaults]: its first-pass round
    parity: ParityCheck | None
    rounds: list[list[float]]  # [candidate, best] per round
    ratio: float | None
    low: float | None
    high: float | None
    verdict: str
    kept: bool
    why: str

    @classmethod
    def from_dict(cls, data: dict) -> TrialRecord:
        parity = data["parity"]
        if parity is not None:
            parity = ParityCheck(**{**parity, "tolerances": Tolerances(**parity["tolerances"])})
        return cls(**{**data, "parity": parity})


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

    @property
    def kept(self) -> TrialRecord | None:
        """The last candidate kept: its settings are the chosen ones, and its parity
        probe theirs."""
        return next((t for t in reversed(self.trials) if t.kept), None)

    @classmethod
    def from_dict(cls, data: dict) -> TuningRecord:
        version = data.get("schema_version")
        if version not in KNOWN_VERSIONS:
            raise results.ResultError(
                f"unknown tuning record schema_version {version!r}; this harness reads "
                f"{', '.join(map(str, KNOWN_VERSIONS))}"
            )
        try:
            if version == 1:
                data = _upgrade_from_1(data)
            return cls(
                **{
                    **data,
                    "fingerprint": schema.Fingerprint(**data["fingerprint"]),
                    "code": schema.Git(**data["code"]) if data["code"] else None,
                    "trials": [TrialRecord.from_dict(t) for t in data["trials"]],
                }
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise results.ResultError(f"not a tuning record: {e}") from e


# Version 1's JAX knob `ops` installed both of the harness's gradients at once.
_SPLIT = {"jax": {"ops": ("pool_grad", "conv_grad")}}


def _split(backend: str, choice: dict[str, str]) -> dict[str, str]:
    out = {}
    for knob, value in choice.items():
        for name in _SPLIT.get(backend, {}).get(knob, (knob,)):
            out[name] = value
    return out


def _verdict_from_1(trial: dict) -> str:
    """Version 1 said what became of a candidate in words only; "not faster beyond
    noise" was an interval that held 1, which decided nothing."""
    why = trial["why"]
    for start, verdict in (
        ("not tried", NOT_TRIED), ("failed", FAILED), ("interrupted", INTERRUPTED),
        ("too few rounds", UNDECIDED),
    ):  # fmt: skip
        if why.startswith(start):
            return verdict
    if "numerics differ" in why:
        return NUMERICS_DIFFER
    if why.endswith(": slower"):
        return SLOWER
    return FASTER if trial["kept"] else UNDECIDED


def _upgrade_from_1(data: dict) -> dict:
    """Version 1 kept no expected gain and no parity figures: none is made up."""
    backend = data["backend"]
    return {
        **data,
        "default": _split(backend, data["default"]),
        "chosen": _split(backend, data["chosen"]),
        "trials": [
            {
                **t,
                "candidate": _split(backend, t["candidate"]),
                "against": _split(backend, t["against"]),
                "expected": None,
                "expected_from": "",
                "first_pass": None,
                "parity": None,
                "verdict": _verdict_from_1(t),
            }
            for t in data["trials"]
        ],
        "schema_version": SCHEMA_VERSION,
    }


def path(folder: Path, backend: str, machine_id: str) -> Path:
    return folder / f"{backend}-{machine_id}.json"


def write(record: TuningRecord, folder: Path) -> Path:
    out = path(folder, record.backend, record.machine_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text_atomic(out, json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n")
    return out


def read(file: Path) -> TuningRecord:
    return store.read_record(file, TuningRecord.from_dict)


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
