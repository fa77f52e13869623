"""The overhead benchmark's record (`benchmarks/harness_overhead.py`): the same training
as a plain Keras script and through the harness, in rounds, on one machine. Typed and
versioned like a run's record, checked field by field on read and before writing,
turned into JSON only here.

Version 1 (the files that say no version) kept each process's parts under `parts` and
beside them what follows from them (each round's ratio, the parts' differences, the
medians), which are computed from the parts now. It recorded the framework's versions
but neither the environment nor the machine, so it reads with both unknown (null); its
plain script fed fit() arrays. Versions 1 and 2 ran a fixed number of rounds against an
upper limit of the fit() ratio (1.03); version 3 adds rounds until the ratio's interval
lies within a band around 1 (±3 %: `band` 0.03), or wholly outside it, or a round limit
is hit, and says which (`stopped`): a version 2 record reads with the band its limit
gave and neither a round limit nor a reason to stop. Version 4 takes the harness's
evaluations after each epoch (time to target, since run records of schema 9), which its
fit() phase holds, out of its fit() into their own part, and its plain script's
`harness` feed draws the harness's dropout masks too, so that both train alike; a
version 3 record (from before either) reads with no epoch evaluation. Version 5 says
which profile the harness ran (`profile`): the seed profile's default path, as every
record before it did, or the speed profile's, which evaluates no epoch and checks 1,000
test images instead of the full evaluation, prediction and latency.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contract.rules import TEXT, Rule, absent_or, integer, number, one_of
from harness.record import atomic, store
from harness.record.results import ResultError
from harness.record.schema import (
    TIME,
    Environment,
    Fingerprint,
    Git,
    Section,
    nested,
    nested_list,
    ruled,
)

SCHEMA_VERSION = 5
KNOWN_SCHEMA_VERSIONS = (1, 2, 3, 4, 5)
# Which process of a round ran first.
KINDS = ("plain", "harness")
# How the plain script fed fit(): as the harness does (its backend plugin's `feed` of the
# harness's batch order; from version 4 with the harness's dropout masks), or arrays with
# Keras's own shuffling and masks (version 1).
FEEDS = ("harness", "arrays")
# The harness run's profile (harness.contract.spec.PROFILES), its images and epochs the
# benchmark's: what it does around fit().
PROFILES = ("seed", "speed")
# Why the rounds stopped: the fit() ratio's interval lies within 1 ± band (the harness
# costs nothing measurable), or wholly outside it (it does, or it is faster: more rounds
# would narrow the interval, not move it in), or neither by the round limit.
STOPS = ("within", "outside", "round limit")


def _part(rule: Rule | None = None) -> Any:
    return ruled(rule or number(0), part=True)


class _Process(Section):
    """A process of a round: its wall time from start to exit, as the benchmark timed
    it, and the parts it timed itself."""

    process_s: float

    @property
    def parts_s(self) -> float:
        return sum(
            getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata.get("part")
        )

    @property
    def rest_s(self) -> float:
        """What no part covers: the interpreter before the first part, the exit, and
        the harness's parent process."""
        return self.process_s - self.parts_s


@dataclass(frozen=True, kw_only=True)
class Plain(_Process):
    """`benchmarks/plain_keras.py`: one fit() call and what it needs."""

    process_s: float = ruled(number(0))
    import_s: float = _part()
    data_load_s: float = _part()
    build_s: float = _part()  # the model built and compiled
    fit_s: float = _part()


@dataclass(frozen=True, kw_only=True)
class Harness(_Process):
    """`python -m harness run`: its worker's phases as its run record has them, but the
    interpreter's start (in `rest_s`, as the plain script's is)."""

    process_s: float = ruled(number(0))
    import_s: float = _part()
    data_load_s: float = _part()
    build_s: float = _part()
    init_s: float = _part()
    compile_s: float = _part()
    peak_s: float = _part()
    fit_s: float = _part()  # the record's fit() phase less its epoch evaluations
    epoch_evaluations_s: float = _part()  # the test set predicted after each epoch
    evaluate_s: float = _part()
    predict_s: float = _part()
    latency_s: float = _part()
    save_s: float = _part()
    unaccounted_s: float = _part(number())


@dataclass(frozen=True, kw_only=True)
class Round(Section):
    first: str = ruled(one_of(*KINDS))
    plain: Plain = nested(Plain)
    harness: Harness = nested(Harness)

    @property
    def fit_ratio(self) -> float:
        """fit() through the harness over fit() in the plain script."""
        return self.harness.fit_s / self.plain.fit_s


@dataclass(frozen=True, kw_only=True)
class Interval(Section):
    """The rounds' fit() ratios (harness / plain) as their geometric mean and its 95 %
    t-interval on the logarithms (`harness.summary.stats.ratio_interval`)."""

    geomean: float = ruled(number(0))
    low: float = ruled(number(0))
    high: float = ruled(number(0))


@dataclass(frozen=True, kw_only=True)
class OverheadRecord(Section):
    schema_version: int = ruled(one_of(SCHEMA_VERSION), SCHEMA_VERSION)
    backend: str = ruled(TEXT)
    created: str | None = ruled(absent_or(TIME))  # UTC; unknown in version 1
    images: int = ruled(integer(1))
    epochs: int = ruled(integer(1))
    threads: int = ruled(integer(1))
    # The aim: the fit() ratio's 95 % interval within 1 ± band.
    band: float = ruled(number(0, 1))
    plain_feed: str = ruled(one_of(*FEEDS))
    profile: str = ruled(one_of(*PROFILES))  # seed before version 5
    # The code, taken from the benchmark's checkout when it started (the environment's
    # own `git` is left null, so that the record holds it once).
    git: Git | None = nested(Git)
    environment: Environment | None = nested(Environment)  # null in version 1
    machine: Fingerprint | None = nested(Fingerprint)  # null in version 1
    rounds: list[Round] = nested_list(Round)
    # Null in version 1, which gave medians only.
    fit_ratio: Interval | None = nested(Interval)
    # The most rounds it would have run, and why it stopped; null before version 3,
    # which ran the rounds asked for.
    max_rounds: int | None = ruled(absent_or(integer(2)))
    stopped: str | None = ruled(absent_or(one_of(*STOPS)))


def _upgrade_from_1(data: dict) -> dict:
    def flat(process: object) -> object:
        if not isinstance(process, dict) or not isinstance(process.get("parts"), dict):
            return process
        return {"process_s": process.get("process_s"), **process["parts"]}

    rounds = data.get("rounds")
    if isinstance(rounds, list):
        rounds = [
            {**r, "plain": flat(r.get("plain")), "harness": flat(r.get("harness"))}
            if isinstance(r, dict)
            else r
            for r in rounds
        ]
    return {
        **{k: data.get(k) for k in ("backend", "images", "epochs", "threads", "limit", "git")},
        "plain_feed": "arrays",
        "environment": None,
        "machine": None,
        "rounds": rounds,
        "fit_ratio": None,
        "schema_version": 2,
    }


def _upgrade_from_2(data: dict) -> dict:
    limit = data.get("limit")
    band = round(limit - 1, 12) if isinstance(limit, int | float) else limit
    rest = {k: v for k, v in data.items() if k != "limit"}
    return {**rest, "band": band, "max_rounds": None, "stopped": None, "schema_version": 3}


def _upgrade_from_3(data: dict) -> dict:
    rounds = data.get("rounds")
    if isinstance(rounds, list):
        rounds = [
            {**r, "harness": {**r["harness"], "epoch_evaluations_s": 0.0}}
            if isinstance(r, dict) and isinstance(r.get("harness"), dict)
            else r
            for r in rounds
        ]
    return {**data, "rounds": rounds, "schema_version": 4}


def _upgrade_from_4(data: dict) -> dict:
    return {**data, "profile": "seed", "schema_version": 5}


_UPGRADES = (_upgrade_from_1, _upgrade_from_2, _upgrade_from_3, _upgrade_from_4)


def from_dict(data: object) -> OverheadRecord:
    if not isinstance(data, dict):
        raise ResultError(f"an overhead record must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", 1)  # version 1 did not say it
    if version not in KNOWN_SCHEMA_VERSIONS or isinstance(version, bool):
        raise ResultError(
            f"unknown schema_version {version!r}; this harness reads "
            f"{', '.join(map(str, KNOWN_SCHEMA_VERSIONS))}"
        )
    for upgrade in _UPGRADES[KNOWN_SCHEMA_VERSIONS.index(version) :]:
        data = upgrade(data)
    problems = OverheadRecord.problems(data, data, "")
    if problems:
        raise ResultError("; ".join(dict.fromkeys(problems)))
    return OverheadRecord.build(data)


def path(folder: Path, backend: str) -> Path:
    """Where a backend's record lies: one a backend, the latest measurement."""
    return Path(folder) / f"{backend}.json"


def write(record: OverheadRecord, folder: Path) -> Path:
    """Write a record that `read` will take (one it would refuse is a bug, never a file);
    returns its path."""
    data = dataclasses.asdict(record)
    problems = OverheadRecord.problems(data, data, "")
    out = path(folder, record.backend)
    if problems:
        raise ResultError(f"refusing to write {out}: " + "; ".join(problems))
    atomic.write_text_atomic(out, json.dumps(data, indent=2) + "\n")
    return out


def read(file: Path) -> OverheadRecord:
    return store.read_record(file, from_dict)


def read_all(folder: Path) -> list[OverheadRecord]:
    """Every record in `folder`; ResultError on the first that cannot be read."""
    return [read(p) for p in sorted(Path(folder).glob("*.json"))]
