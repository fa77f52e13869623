"""How fast identical starts drift apart: for two runs of one comparison group and seed,
the share of test images they give different classes and the distance of their weights'
sketches (`harness.worker.quality.count_sketch`), epoch by epoch, from their trajectory
files. Two backends are set beside one backend against itself with one initial weight
moved by one ulp (--perturb-init), training's own instability (Summers and Dinneen,
ICML 2021: one bit of one initial weight already leads to another end point).
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass

import numpy as np

from harness.contract.spec import System
from harness.record.results import RunResult
from harness.summary.comparisons import ArrayFiles
from harness.summary.grouping import Group, by, group, system_of


def disagreement(a: np.ndarray, b: np.ndarray) -> list[float]:
    """Per epoch, the share of test images whose predicted classes differ between two
    runs' class arrays (epochs x images), over the epochs both trained."""
    epochs = min(len(a), len(b))
    return [float(np.mean(a[e] != b[e])) for e in range(epochs)]


def distance(a: np.ndarray, b: np.ndarray) -> list[float]:
    """Per epoch, the Euclidean distance of two runs' weight sketches (epochs x size),
    over the epochs both trained: an estimate of the distance of their weights."""
    epochs = min(len(a), len(b))
    return [float(np.linalg.norm(a[e] - b[e])) for e in range(epochs)]


@dataclass(frozen=True)
class Drift:
    """Two runs of one group and seed, epoch by epoch. `control`: one backend against
    itself with a perturbed start (the second of `backends`)."""

    group: Group
    seed: int
    backends: tuple[System, System]
    control: bool
    disagreement: list[float]
    distance: list[float]


def _unperturbed(r: RunResult) -> System:
    """The system `r` would be without its one-ulp change."""
    return dataclasses.replace(r.spec, perturb_init=False, here=False).system


def drift(runs: list[RunResult], arrays: ArrayFiles, warnings: list[str]) -> list[Drift]:
    """Every pair of backends with the same group and seed, and every backend against its
    own one-ulp control, from the runs with a trajectory (the first per system and seed),
    whose files `arrays` holds as loaded (`build.load_arrays`)."""
    out = []
    for key, members in sorted(by(runs, group).items()):
        for seed, seed_runs in sorted(by(members, lambda r: r.spec.seed).items()):
            first: dict[System, tuple[RunResult, str]] = {}
            for r in seed_runs:
                if r.artifacts.trajectory:
                    first.setdefault(system_of(r), (r, r.artifacts.trajectory))
            loaded = {}
            for name, (r, file) in first.items():
                found = arrays[r.run_id, file]
                if found.arrays is not None:
                    loaded[name] = found.arrays
                else:
                    warnings.append(f"drift without a trajectory: {found.error}")
            perturbed = {n for n in loaded if first[n][0].spec.perturb_init}
            plain = sorted(set(loaded) - perturbed)
            pairs = [(a, b, False) for i, a in enumerate(plain) for b in plain[i + 1 :]]
            pairs += [
                (base, n, True)
                for n in sorted(perturbed)
                if (base := _unperturbed(first[n][0])) in plain
            ]
            for a, b, control in pairs:
                (ca, sa), (cb, sb) = loaded[a][:2], loaded[b][:2]
                out.append(
                    Drift(key, seed, (a, b), control, disagreement(ca, cb), distance(sa, sb))
                )
    return out


@dataclass(frozen=True)
class Apart:
    """How far two runs are at one epoch, mean over seeds: the share of test images given
    different classes, and the distance of their weights' sketches."""

    classes: float
    weights: float


@dataclass(frozen=True)
class Verdict:
    """One group's answer: each backend pair's distance at `epoch` (mean over seeds)
    against its one-ulp controls', all at the one epoch that every pair and control of
    the group reached (a pair stopped early is not set beside a control that had longer to
    drift). It is judged on the weights: their distance moves with every step, where a
    class changes only for the few images near a boundary, and from identical starts and
    masks most pairs give every test image the same class."""

    group: Group
    epoch: int  # counted from 1
    pairs: dict[tuple[System, System], Apart]
    controls: dict[tuple[System, System], Apart]

    @property
    def control(self) -> Apart:
        """Training's own instability: the farthest of the controls, on each measure."""
        apart = self.controls.values()
        return Apart(max(a.classes for a in apart), max(a.weights for a in apart))

    @property
    def faster(self) -> list[tuple[System, System]]:
        """The pairs whose weights end further apart than training's own instability
        takes them."""
        farthest = self.control.weights
        return [p for p, a in self.pairs.items() if a.weights > farthest]


def _at(ds: list[Drift], epoch: int) -> Apart:
    """How far apart at `epoch` (from 1), mean over `ds` (one a seed)."""
    return Apart(
        statistics.mean(d.disagreement[epoch - 1] for d in ds),
        statistics.mean(d.distance[epoch - 1] for d in ds),
    )


def verdicts(found: list[Drift]) -> list[Verdict]:
    """Per group with both backend pairs and a one-ulp control."""
    out = []
    for key, members in sorted(by(found, lambda d: d.group).items()):
        pairs = by([d for d in members if not d.control], lambda d: d.backends)
        controls = by([d for d in members if d.control], lambda d: d.backends)
        # the last epoch every pair and control reached, on both measures
        epoch = min(min(len(d.disagreement), len(d.distance)) for d in members)
        if pairs and controls and epoch >= 1:
            out.append(
                Verdict(
                    key,
                    epoch,
                    {p: _at(ds, epoch) for p, ds in sorted(pairs.items())},
                    {p: _at(ds, epoch) for p, ds in sorted(controls.items())},
                )
            )
    return out
