"""The summary of a set of runs, typed: records grouped into rows (`grouping`) and the
comparisons between them (`comparisons`). `build` reads the records and the arrays the
comparisons need first, then computes all of it once from them, reading no file more;
`report` renders it and `compare` reads its rows; neither computes its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.record import places, store
from harness.record.results import ResultError, RunResult
from harness.summary.comparisons import (
    DEFAULT_MARGIN,
    Agreement,
    Anchor,
    ArrayFile,
    ArrayFiles,
    Comparison,
    Noise,
    PairEquivalence,
    Repeat,
    StartingPoint,
    Tuned,
    agreement,
    anchors,
    arrays_needed,
    comparisons,
    determinism,
    equivalence,
    noise,
    starting_points,
    tuned,
)
from harness.summary.drift import Drift, Verdict, drift, verdicts
from harness.summary.grouping import (
    Placement,
    Row,
    Selection,
    not_converged,
    placement,
    rows,
    select,
    shared,
)
from harness.summary.target import TimeEquivalence, TimeToTarget, time_equivalence, time_to_target


@dataclass(frozen=True)
class Summary:
    """Everything a report says of a results folder, computed once."""

    source: Path  # the folder of the records it was made from
    shown: Selection
    rows: list[Row]
    comparisons: list[Comparison]
    starting_points: list[StartingPoint]
    repeats: list[Repeat]
    agreement: list[Agreement]
    noise: list[Noise]
    margin: float  # in points: test accuracies within it count as equivalent
    equivalence: list[PairEquivalence]
    shared: dict[str, list[str]]  # run id -> the runs beside it on its machine
    placement: list[Placement]
    not_converged: list[tuple[RunResult, str]]  # and why
    anchors: list[Anchor]
    tuned: list[Tuned]  # each backend's tuned row against its default
    references: list[float]  # the models' published test accuracies
    time_to_target: list[TimeToTarget]  # each row that evaluated its epochs, MLPerf's score
    time_equivalence: list[TimeEquivalence]  # pairs of rows' times to target, by seed
    drift: list[Drift]  # pairs of runs of one seed, epoch by epoch
    drift_verdicts: list[Verdict]  # backend pairs against the one-ulp control, per group
    warnings: list[str]  # of reading the folder and its arrays


def load_arrays(results_dir: Path, needed: list[tuple[RunResult, str]]) -> ArrayFiles:
    """The files of arrays `needed` (`arrays_needed`), each loaded, or why it could not be."""
    files = {}
    for r, name in needed:
        there = (store.runs_dir(results_dir) / name).is_file()
        try:
            files[r.run_id, name] = ArrayFile(there, store.load_arrays(results_dir, r, name))
        except ResultError as e:
            files[r.run_id, name] = ArrayFile(there, error=e)
    return files


def build(results_dir: Path, everything: bool = False, margin: float = DEFAULT_MARGIN) -> Summary:
    """The summary of a results folder: each cell's latest results (`everything`: all);
    two backends' test accuracies judged equivalent or not within ±`margin` points."""
    records, warnings = store.read_all(results_dir)
    # The folder and the warnings (which name files in it) are shown as the report's
    # words: a local folder stands as its placeholder, as in a record.
    folders = places.local_folders()
    warnings = [places.unplaced(w, folders) for w in warnings]
    shown = select(records, everything)
    runs = shown.runs
    # Beside every run made, shown or superseded: a later run of the same cell does not
    # undo the machine it shared.
    shown_ids = {r.run_id for r in runs}
    beside = {
        run_id: others
        for run_id, others in shared([r for r in records if isinstance(r, RunResult)]).items()
        if run_id in shown_ids
    }
    arrays = load_arrays(results_dir, arrays_needed(runs))
    table = rows(runs, beside)
    pairs, spread = agreement(runs, arrays, warnings), noise(runs)
    equivalent = equivalence(runs, margin)
    drifts = drift(runs, arrays, warnings)
    targets = time_to_target(table)
    return Summary(
        source=Path(places.unplaced(str(store.runs_dir(results_dir)), folders)),
        shown=shown,
        rows=table,
        comparisons=comparisons(table, pairs, spread, equivalent),
        starting_points=starting_points(runs),
        repeats=determinism(runs, arrays, warnings),
        agreement=pairs,
        noise=spread,
        margin=margin,
        equivalence=equivalent,
        shared=beside,
        placement=placement(runs, beside),
        not_converged=[(r, why) for r in runs if (why := not_converged(r))],
        anchors=anchors(table, pairs),
        tuned=tuned(table),
        references=sorted({a for r in runs if (a := r.recipe.reference_accuracy) is not None}),
        time_to_target=targets,
        time_equivalence=time_equivalence(targets),
        drift=drifts,
        drift_verdicts=verdicts(drifts),
        warnings=warnings,
    )
