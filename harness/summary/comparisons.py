"""The comparisons between rows and runs: starting points across backends, run-to-run
determinism, agreement of predictions across backends, accuracy differences against
seed-to-seed noise and their equivalence within a margin, each comparison group ranked,
and Keras 3 against its anchor rows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from harness.contract.spec import Impl, System, system
from harness.record.results import ResultError, RunResult
from harness.record.schema import HARNESS_MASKS
from harness.summary import numerics, stats, timing_figures
from harness.summary.grouping import Group, Row, Variant, by, group, system_of, variant
from harness.summary.numerics import PredictionAgreement
from harness.summary.stats import Equivalence, TTest

# Below this p-value, a difference between backends is called larger than seed noise.
ALPHA = 0.05
# Two backends' test accuracies are equivalent when their mean difference over seeds,
# with its 90 % interval, lies within this many percentage points (`--margin`).
DEFAULT_MARGIN = 0.1


def first_per_seed(runs: list[RunResult]) -> dict[System, dict[int, RunResult]]:
    """backend -> seed -> the earliest run, for one comparison group."""
    out: dict[System, dict[int, RunResult]] = {}
    for r in runs:
        out.setdefault(system_of(r), {}).setdefault(r.spec.seed, r)
    return out


@dataclass(frozen=True)
class StartingPoint:
    """One comparison group and seed: each backend's digests of its initial weights and
    batch order, and what drew its dropout masks; whether they are the same on every
    backend."""

    group: Group
    seed: int
    digests: dict[System, tuple[str, str | None]]  # backend -> (weights, batch order)
    masks: dict[System, str | None]  # backend -> the record's dropout_masks

    @property
    def identical(self) -> bool:
        return len(set(self.digests.values())) == 1

    @property
    def masks_identical(self) -> bool:
        """Every backend's masks came from the harness's generator, one version of it."""
        drawn = set(self.masks.values())
        return len(drawn) == 1 and (drawn.pop() or "").startswith(HARNESS_MASKS)

    @property
    def masks_generator(self) -> str | None:
        """The harness's generator (name and version) that drew every backend's masks."""
        if not self.masks_identical:
            return None
        return (next(iter(self.masks.values())) or "").removeprefix(HARNESS_MASKS).strip()

    @property
    def own_masks(self) -> list[System]:
        """The backends whose masks their own generator drew (or that did not say)."""
        return [b for b, m in self.masks.items() if not (m or "").startswith(HARNESS_MASKS)]


def starting_points(runs: list[RunResult]) -> list[StartingPoint]:
    out = []
    for key, members in sorted(by(runs, group).items()):
        for seed, seed_runs in sorted(by(members, lambda r: r.spec.seed).items()):
            # A perturbed start differs by design (--perturb-init): it is not compared.
            latest = {system_of(r): r.reproducibility for r in seed_runs if not r.spec.perturb_init}
            if len(latest) < 2 or None in {d.initial_weights_digest for d in latest.values()}:
                continue
            digests = {
                b: (d.initial_weights_digest, d.batch_order_digest)
                for b, d in sorted(latest.items())
            }
            masks = {b: d.dropout_masks for b, d in sorted(latest.items())}
            out.append(StartingPoint(key, seed, digests, masks))
    return out


@dataclass(frozen=True)
class Repeat:
    """Two or more runs of one backend, variant and seed: are they identical?"""

    backend: System
    group: Group
    seed: int
    runs: int
    settings: object  # the backend's determinism setting, "off" if it has none
    bitwise: bool | None  # the final weights' digests are equal (None: not recorded)
    weights_max_abs: float | None
    predictions_max_abs: float | None


@dataclass(frozen=True)
class ArrayFile:
    """A run's file of arrays (its predictions, its final weights) as the summary loaded
    it before computing anything: its arrays, or why they could not be read; `there`:
    whether the file was there at all (final weights are optional)."""

    there: bool
    arrays: list[np.ndarray] | None = None
    error: ResultError | None = None


# The files of arrays the comparisons read, by (run id, file name).
ArrayFiles = dict[tuple[str, str], ArrayFile]


def _repeated_cells(runs: list[RunResult]) -> dict[tuple[Variant, int], list[RunResult]]:
    """The runs of each cell (variant and seed) run more than once."""
    return {
        k: cell
        for k, cell in by(runs, lambda r: (variant(r), r.spec.seed)).items()
        if len(cell) > 1
    }


def arrays_needed(runs: list[RunResult]) -> list[tuple[RunResult, str]]:
    """The files of arrays `agreement`, `determinism` and `drift.drift` compare: every
    run's predictions and trajectory, and the final weights of the runs of a cell run
    more than once."""
    repeated = {r.run_id for cell in _repeated_cells(runs).values() for r in cell}
    needed = [(r, name) for r in runs if (name := r.artifacts.predictions)]
    needed += [(r, name) for r in runs if (name := r.artifacts.trajectory)]
    return needed + [
        (r, name) for r in runs if r.run_id in repeated and (name := r.artifacts.final_weights)
    ]


def determinism(runs: list[RunResult], arrays: ArrayFiles, warnings: list[str]) -> list[Repeat]:
    out = []
    cells = _repeated_cells(runs)
    for (v, seed), cell in sorted(cells.items()):
        first = cell[0]
        digests = {r.reproducibility.final_weights_digest for r in cell}  # None: not recorded
        differences = {}
        for what, artifact in (
            ("final_weights", lambda r: r.artifacts.final_weights),
            ("predictions", lambda r: r.artifacts.predictions),
        ):
            names = [n for r in cell if (n := artifact(r))]
            if len(names) < len(cell):
                continue  # not saved
            files = [arrays[r.run_id, n] for r, n in zip(cell, names, strict=True)]
            if not all(f.there for f in files):
                continue  # not kept (final weights are optional)
            error = next((f.error for f in files if f.error), None)
            if error:
                warnings.append(f"determinism of {v.backend} without {what}: {error}")
                continue
            loaded = [f.arrays for f in files if f.arrays is not None]
            differences[what] = max(numerics.max_abs_difference(loaded[0], a) for a in loaded[1:])
        out.append(
            Repeat(
                backend=v.backend,
                group=v.group,
                seed=seed,
                runs=len(cell),
                settings=first.determinism,
                bitwise=None if None in digests else len(digests) == 1,
                weights_max_abs=differences.get("final_weights"),
                predictions_max_abs=differences.get("predictions"),
            )
        )
    return out


@dataclass(frozen=True)
class Agreement:
    """The test predictions of one seed on two backends."""

    group: Group
    seed: int
    backends: tuple[System, System]
    predictions: PredictionAgreement
    accuracy_diff: float  # the first's test accuracy less the second's


def agreement(runs: list[RunResult], arrays: ArrayFiles, warnings: list[str]) -> list[Agreement]:
    out = []
    for key, members in sorted(by(runs, group).items()):
        per_backend = first_per_seed(members)
        names = sorted(per_backend)
        predictions: dict[tuple[System, int], np.ndarray | None] = {}
        for b in names:
            for seed, r in per_backend[b].items():
                name = r.artifacts.predictions
                file = arrays[r.run_id, name] if name else None
                if file is not None and file.error:
                    warnings.append(f"agreement without predictions: {file.error}")
                predictions[b, seed] = file.arrays[0] if file and file.arrays else None
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for seed in sorted(set(per_backend[a]) & set(per_backend[b])):
                    pa, pb = predictions[a, seed], predictions[b, seed]
                    if pa is None or pb is None:
                        continue
                    ra, rb = per_backend[a][seed], per_backend[b][seed]
                    out.append(
                        Agreement(
                            group=key,
                            seed=seed,
                            backends=(a, b),
                            predictions=numerics.prediction_agreement(pa, pb),
                            accuracy_diff=ra.metrics.test_accuracy - rb.metrics.test_accuracy,
                        )
                    )
    return out


@dataclass(frozen=True)
class SeedSpread:
    """One backend's test accuracy over seeds."""

    seeds: list[int]
    mean: float
    std: float | None


@dataclass(frozen=True)
class PairTest:
    backends: tuple[System, System]
    test: TTest


@dataclass(frozen=True)
class Noise:
    """One comparison group with two or more seeds on some backend: each backend's
    accuracy over seeds, and for each pair of backends a two-sided t-test of the
    difference (paired by seed where the seeds match)."""

    group: Group
    backends: dict[System, SeedSpread]
    tests: list[PairTest]


def backend_runs(runs: list[RunResult]) -> list[RunResult]:
    """`runs` less the one-ulp controls (`--perturb-init`): a control measures training's
    own instability beside its backend (`drift`), and is never paired with a backend."""
    return [r for r in runs if not r.spec.perturb_init]


def noise(runs: list[RunResult]) -> list[Noise]:
    out = []
    for key, members in sorted(by(backend_runs(runs), group).items()):
        per_backend = first_per_seed(members)
        acc = {
            b: {s: r.metrics.test_accuracy for s, r in seeds.items()}
            for b, seeds in per_backend.items()
        }
        if max(len(v) for v in acc.values()) < 2:
            continue
        names = sorted(acc)
        tests = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                common = sorted(set(acc[a]) & set(acc[b]))
                if len(common) >= 2:
                    test = stats.paired_t_test(
                        [acc[a][s] for s in common], [acc[b][s] for s in common]
                    )
                else:
                    test = stats.welch_t_test(list(acc[a].values()), list(acc[b].values()))
                if test is not None:
                    tests.append(PairTest((a, b), test))
        spreads = {
            b: SeedSpread(
                seeds=sorted(v),
                mean=statistics.mean(v.values()),
                std=statistics.stdev(v.values()) if len(v) > 1 else None,
            )
            for b, v in sorted(acc.items())
        }
        out.append(Noise(key, spreads, tests))
    return out


@dataclass(frozen=True)
class PairEquivalence:
    """Two backends of one comparison group, their test accuracies (in percentage points)
    paired by seed: the seeds both ran, and the two one-sided tests of the first's less
    the second's against ±margin points (`stats.equivalence`); None with fewer than two
    such seeds."""

    group: Group
    backends: tuple[System, System]
    seeds: list[int]
    margin: float  # in points
    equivalence: Equivalence | None


def accuracy_equivalence(
    a: list[RunResult], b: list[RunResult], margin: float = DEFAULT_MARGIN
) -> tuple[list[int], Equivalence | None]:
    """The seeds both `a` and `b` ran, and the two one-sided tests of a's test accuracy
    less b's (in points, the earliest run of each seed) against ±`margin` points."""
    # Runs come oldest first: the earliest of each seed is written last.
    first_a, first_b = ({r.spec.seed: r for r in reversed(runs)} for runs in (a, b))
    seeds = sorted(set(first_a) & set(first_b))
    found = stats.equivalence(
        [100 * first_a[s].metrics.test_accuracy for s in seeds],
        [100 * first_b[s].metrics.test_accuracy for s in seeds],
        margin,
    )
    return seeds, found


def equivalence(runs: list[RunResult], margin: float = DEFAULT_MARGIN) -> list[PairEquivalence]:
    """Every pair of backends of each comparison group that compares accuracies (not a
    profile of a few steps), judged within ±`margin` points over the seeds both ran; a
    one-ulp control is no backend (`backend_runs`)."""
    out = []
    for key, members in sorted(by(backend_runs(runs), group).items()):
        if key.steps_only:
            continue
        per_backend = by(members, system_of)
        names = sorted(per_backend)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                seeds, found = accuracy_equivalence(per_backend[a], per_backend[b], margin)
                out.append(PairEquivalence(key, (a, b), seeds, margin, found))
    return out


def _round_of(r: RunResult) -> tuple[str | None, int, int] | None:
    """Where a run stands in interleaved rounds: its invocation, round and seed (None for
    a run made without rounds)."""
    return None if r.spec.round is None else (r.invocation, r.spec.round, r.spec.seed)


def paired_step_ratios(a: list[RunResult], b: list[RunResult]) -> list[float]:
    """The steady step time of each run of `a` over that of the run of `b` in the same
    round (same invocation, round and seed): one ratio per round both ran in."""
    steps_b = {k: s for r in b if (k := _round_of(r)) and (s := timing_figures.step_s(r))}
    return [
        s / steps_b[k]
        for r in a
        if (k := _round_of(r)) in steps_b and (s := timing_figures.step_s(r)) is not None
    ]


@dataclass(frozen=True)
class Speed:
    """A row's speed against another's (the comparison's fastest, or an anchor's): its
    steady step time over theirs. From interleaved rounds, the geometric mean of the
    ratios paired by round with its 95 % interval; without two rounds, the ratio of the
    rows' median steps alone (`interval` None)."""

    ratio: float | None
    interval: stats.RatioInterval | None

    @property
    def beyond_noise(self) -> bool:
        return self.interval is not None and self.interval.excludes_one


def speed_of(a: Row, b: Row) -> Speed:
    interval = stats.ratio_interval(paired_step_ratios(a.members, b.members))
    if interval is not None:
        return Speed(interval.geomean, interval)
    sa, sb = a.step_s, b.step_s
    return Speed(sa / sb if sa and sb else None, None)


@dataclass(frozen=True)
class Comparison:
    """One comparison group (on one machine): its rows, fastest first (by the steady
    step, paired by round where runs were made in rounds), each row's speed against
    the fastest, and the group's agreement, noise and equivalence results."""

    group: Group
    ranked: list[Row]
    speeds: list[Speed]  # of `ranked`, each against ranked[0]
    agreement: list[Agreement]
    noise: Noise | None
    equivalence: list[PairEquivalence]


def rank(members: list[Row]) -> tuple[list[Row], list[Speed]]:
    """Rows by speed, the fastest first and each with its speed against it (a row without
    steps last). The fastest is the row whose step is the shortest against the row of
    the shortest median step, paired by round where there are rounds: the two may differ
    where rows are close and the machine drifted."""
    timed = sorted((r for r in members if r.step_s), key=lambda r: r.step_s or 0.0)
    untimed = [r for r in members if not r.step_s]
    if not timed:
        return untimed, [Speed(None, None) for _ in untimed]
    fastest = min(timed, key=lambda r: speed_of(r, timed[0]).ratio or 0.0)
    speeds = {id(r): speed_of(r, fastest) for r in timed}
    timed.sort(key=lambda r: (r is not fastest, speeds[id(r)].ratio or 0.0))
    ranked = timed + untimed
    return ranked, [speeds.get(id(r), Speed(None, None)) for r in ranked]


def comparisons(
    table: list[Row],
    pairs: list[Agreement],
    spread: list[Noise],
    equivalent: list[PairEquivalence],
) -> list[Comparison]:
    """`table` from `rows`, `pairs` from `agreement`, `spread` from `noise`, `equivalent`
    from `equivalence`."""
    out = []
    for key, members in sorted(by(table, lambda row: row.variant.group).items()):
        ranked, speeds = rank(members)
        out.append(
            Comparison(
                group=key,
                ranked=ranked,
                speeds=speeds,
                agreement=[p for p in pairs if p.group == key],
                noise=next((n for n in spread if n.group == key), None),
                equivalence=[e for e in equivalent if e.group == key],
            )
        )
    return out


@dataclass(frozen=True)
class Anchor:
    """Keras 3 on one backend against an anchor row of the same comparison: the same
    model without Keras in the backend's framework (kind "native"), or on another Keras
    (kind: its backend, "keras2"). `speed`: Keras 3's steady step over the anchor's,
    paired by round; `same_class`: the agreement of their test predictions, one per
    seed."""

    keras: Row
    anchor: Row
    speed: Speed
    same_class: list[float]

    @property
    def kind(self) -> str:
        return Impl.NATIVE if self.anchor.variant.impl == Impl.NATIVE else self.anchor.backend


def anchors(table: list[Row], pairs: list[Agreement]) -> list[Anchor]:
    """Each anchor row of `table` (`rows`; its runs record the Keras 3 backend they
    anchor, from schema version 6) against its Keras 3 row of the same comparison
    group, with `pairs` (`agreement`) for their predictions."""
    out = []
    for key, members in sorted(by(table, lambda row: row.variant.group).items()):
        keras_rows: dict[System, Row] = {}
        for row in members:
            if row.members[0].recipe.anchor_of is None:
                keras_rows.setdefault(row.backend, row)
        for row in members:
            anchored = row.members[0].recipe.anchor_of
            base = keras_rows.get(system(anchored, Impl.KERAS)) if anchored else None
            if base is None:
                continue
            agree = [
                p.predictions.same_class
                for p in pairs
                if p.group == key and set(p.backends) == {base.backend, row.backend}
            ]
            out.append(Anchor(base, row, speed_of(base, row), agree))
    return out


@dataclass(frozen=True)
class Tuned:
    """A backend's tuned row against its default row of the same comparison: its
    settings in words, where they came from, and its steady step over the default's,
    paired by round (below 1 where tuning pays)."""

    default: Row
    tuned: Row
    settings: str
    source: str
    speed: Speed


def tuned(table: list[Row]) -> list[Tuned]:
    """Each tuned row of `table` beside the default row of its backend and comparison."""
    out = []
    for _, members in sorted(by(table, lambda row: row.variant.group).items()):
        # By backend and implementation: a tuned Keras row is set against Keras's default
        # row, not against the framework without Keras of the same backend.
        defaults = {
            (spec.backend, spec.impl): row
            for row in members
            if not (spec := row.members[0].spec).tuned
        }
        for row in members:
            spec = row.members[0].spec
            default = defaults.get((spec.backend, spec.impl))
            if spec.tuned and default is not None:
                out.append(
                    Tuned(
                        default,
                        row,
                        row.variant.tuning,
                        spec.tuning_source or "",
                        speed_of(row, default),
                    )
                )
    return out
