"""`run --resume`: a campaign stopped part way goes on where it stopped. The same command,
into the same results folder, runs only the cells that have no ok run there of the same
code and on the same machine; a failed cell, and a cell done by other code or on another
machine, runs again (the report shows each cell's latest runs, so the older ones are
left out of its figures)."""

from __future__ import annotations

import dataclasses

from harness.contract.spec import RunSpec
from harness.record.results import Record, RunResult
from harness.record.schema import Git
from harness.summary.grouping import cell, cell_of


def same_code(recorded: Git | None, current: Git | None) -> bool:
    """Whether a record's code is the code at hand: the same commit, with or without
    changes alike, and where both have one, the same digest of the harness's files (two
    trees with changes differ by it). Unknown code is no one's."""
    if recorded is None or current is None:
        return False
    digests = {recorded.code_digest, current.code_digest}
    return (
        recorded.commit == current.commit
        and recorded.dirty == current.dirty
        and (None in digests or len(digests) == 1)
    )


def _done(r: Record, code: Git | None, machine_id: str) -> bool:
    """Whether `r` is an ok run (a RunResult; a failure is a FailedRun) of `code` on the
    machine `machine_id`."""
    if not isinstance(r, RunResult):
        return False
    fingerprint = r.machine.fingerprint
    return (
        fingerprint is not None
        and fingerprint.machine_id == machine_id
        and same_code(r.environment.git, code)
    )


@dataclasses.dataclass(frozen=True)
class Resumed:
    """The runs a resumed command still makes, and how many of those it planned it skips."""

    to_run: list[RunSpec]
    skipped: int


def resume(
    planned: list[RunSpec], records: list[Record], code: Git | None, machine_id: str
) -> Resumed:
    """`planned` (each in its round, `run.rounds`) less the runs of the cells already done
    in `records`: a cell is done where one invocation holds an ok run of it, of `code` on
    the machine `machine_id`, in every round planned for it. With rounds, the campaign
    is one whole: unless every cell is done, every run is made again, in one invocation,
    so that every cell's rounds stay paired with every other's."""
    rounds: dict[RunSpec, set[int | None]] = {}
    for spec in planned:
        rounds.setdefault(cell(spec), set()).add(spec.round)
    held: dict[RunSpec, dict[str | None, set[int | None]]] = {}  # cell -> invocation -> rounds
    for r in records:
        if _done(r, code, machine_id):
            held.setdefault(cell_of(r), {}).setdefault(r.invocation, set()).add(r.spec.round)
    done = {
        c
        for c, wanted in rounds.items()
        if any(wanted <= found for found in held.get(c, {}).values())
    }
    to_run = [spec for spec in planned if cell(spec) not in done]
    # A speed ratio pairs two cells' runs of one invocation and round: a campaign of
    # rounds resumed in part would leave the cells it reran unpaired with those it kept.
    if to_run and any(len(wanted) > 1 for wanted in rounds.values()):
        to_run = list(planned)
    return Resumed(to_run, len(planned) - len(to_run))
