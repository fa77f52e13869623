"""The summary of a set of runs: records grouped into rows (one per backend and
variant, with medians and spreads over seeds and repeats) and the comparisons between
them (starting points, run-to-run determinism, agreement across backends, differences
against seed-to-seed noise). Both `report` and `compare` read these; neither computes
its own.
"""

from __future__ import annotations

import calendar
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import reproducibility, results, schema, speed, stats
from harness.results import ResultError, RunResult
from harness.stats import Spread

# A "variant" is everything that shapes a run but its seed: one row of the main table.
# A "comparison group" is a variant without the backend: the runs that can be compared
# across backends. data_format and jit_compile are left out: they change how a backend
# computes, not what, and the tuned profile sets them per backend (torch channels_first).
GROUP_FIELDS = (
    "model", "dataset", "profile", "init", "deterministic", "threads", "epochs",
    "batch_size", "train_images",
)  # fmt: skip


VARIANT_FIELDS = ("backend", *GROUP_FIELDS, "data_format", "jit_compile")


# Below this p-value, a difference between backends is called larger than seed noise.
ALPHA = 0.05


def variant(r: RunResult) -> dict:
    spec, recipe = r.spec, r.recipe
    return {
        "backend": spec["backend"],
        "model": spec["model"],
        "dataset": spec["dataset"],
        "profile": spec["profile"],
        "init": spec["init"],
        "deterministic": spec["deterministic"],
        "data_format": recipe["data_format"],
        "threads": spec["threads"],
        "epochs": recipe["epochs"],
        "batch_size": recipe["batch_size"],
        "train_images": recipe["train_images"],
        "jit_compile": recipe["jit_compile"],
    }


def group(r: RunResult) -> tuple:
    v = variant(r)
    return tuple(v[k] for k in GROUP_FIELDS)


def versions(r: RunResult) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(r.environment["libraries"].items()))


def by(runs: Iterable[RunResult], key) -> dict:
    grouped: dict = {}
    for r in runs:
        grouped.setdefault(key(r), []).append(r)
    return grouped


def _median_of(figure: Spread | None) -> float | None:
    return None if figure is None else figure.median


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _dirty(r: RunResult) -> bool:
    return bool((r.environment.get("git") or {}).get("dirty"))


def not_converged(r: RunResult) -> str | None:
    """Why a completed run did not learn, or None: its test accuracy is within chance
    for its classes (`stats.chance_accuracy`; unknown before schema version 5), or its
    last epoch's training loss is above its first's."""
    classes, accuracy = r.recipe["classes"], r.metrics["test_accuracy"]
    if classes and accuracy <= (bar := stats.chance_accuracy(classes, r.recipe["test_images"])):
        return (
            f"test accuracy {100 * accuracy:.2f} % is at chance level for {classes} classes "
            f"(at most {100 * bar:.2f} % on {r.recipe['test_images']:,} test images)"
        )
    loss = r.metrics["history"].get("loss") or []
    if len(loss) > 1 and loss[-1] > loss[0]:
        return f"the last epoch's training loss {loss[-1]:.4g} is above the first's {loss[0]:.4g}"
    return None


def code(r: RunResult) -> str:
    """The commit a run's code came from (short), marked when its tree had changes."""
    commit = ((r.environment.get("git") or {}).get("commit") or "unknown")[:7]
    return commit + ("+dirty" if _dirty(r) else "")


@dataclass(frozen=True)
class Selection:
    """The records a report shows. By default, each cell (a RunSpec: backend, variant and
    seed as asked for) shows the results of the latest invocation that ran it, and
    `left_out` counts its older results; `superseded` are failures whose cell succeeded
    later. Records from before invocations were recorded count as one invocation."""

    runs: list[RunResult]
    failures: list[RunResult]
    superseded: list[RunResult]
    left_out: int


# What a user asks for when they name a cell: its RunSpec but for where the data is (a
# field an older schema lacks counts as not given).
CELL_FIELDS = (
    "backend", "model", "dataset", "profile", "seed", "threads", "epochs", "batch_size",
    "train_images", "data_format", "init", "deterministic", "learning_rate",
)  # fmt: skip


def cell_of(r: RunResult) -> tuple:
    return tuple(r.spec.get(name) for name in CELL_FIELDS)


def select(records: list[RunResult], everything: bool = False) -> Selection:
    """`records` oldest first, as `results.read_all` gives them; `everything`: show
    every result, not only each cell's latest invocation."""
    shown, superseded = set(), set()
    for members in by(records, cell_of).values():
        # A record without an invocation (before schema version 5, or a worker started
        # by hand) counts as older than any recorded one.
        members = sorted(members, key=lambda r: (r.invocation is not None, r.created, r.run_id))
        latest = members[-1].invocation
        for i, r in enumerate(members):
            if r.status == "failed" and any(o.status == "ok" for o in members[i + 1 :]):
                superseded.add(r.run_id)
            elif everything or r.invocation == latest:
                shown.add(r.run_id)
    return Selection(
        runs=[r for r in records if r.run_id in shown and r.status == "ok"],
        failures=[r for r in records if r.run_id in shown and r.status == "failed"],
        superseded=[r for r in records if r.run_id in superseded],
        left_out=len(records) - len(shown) - len(superseded),
    )


@dataclass(frozen=True)
class Comparison:
    """One comparison group (everything but the backend and how it computes): its rows,
    fastest training first, and its agreement and noise results."""

    group: tuple
    ranked: list[dict]
    agreement: list[dict]
    noise: dict | None


def comparisons(table: list[dict], pairs: list[dict], spread: list[dict]) -> list[Comparison]:
    """`table` from `rows`, `pairs` from `agreement`, `spread` from `noise`."""
    out = []
    grouped = by(table, lambda row: tuple(row[k] for k in GROUP_FIELDS))
    for key, members in sorted(grouped.items(), key=lambda kv: str(kv[0])):
        ranked = sorted(members, key=lambda row: (row["fit_s"] is None, row["fit_s"] or 0.0))
        out.append(
            Comparison(
                group=key,
                ranked=ranked,
                agreement=[p for p in pairs if p["group"] == key],
                noise=next((n for n in spread if n["group"] == key), None),
            )
        )
    return out


def interval(r: RunResult) -> tuple[str, float, float] | None:
    """Where and when a run's worker lived: its machine, and its start and end in seconds
    since the epoch (the record is made at the end; its wall time reaches back to the
    start); None without a host (before schema version 5) or a wall time. The machine is
    the host, not the Ray node: two nodes on one host share its cores and memory."""
    host, wall = r.environment.get("host"), r.timings.get("wall_s")
    if host is None or wall is None:
        return None
    end = calendar.timegm(time.strptime(r.created, schema.TIME_FORMAT))
    return host, end - wall, end


def shared(runs: list[RunResult]) -> dict[str, list[str]]:
    """run id -> the other runs that ran on the same machine at the same time (by more
    than the second to which records are stamped): two `--jobs`, or two `run`s at once."""
    spans = {r.run_id: span for r in runs if (span := interval(r))}
    out = {}
    for a, (host, start, end) in spans.items():
        beside = [
            b
            for b, (h, s, e) in spans.items()
            if b != a and h == host and min(end, e) - max(start, s) > 1
        ]
        if beside:
            out[a] = beside
    return out


def placement(runs: list[RunResult]) -> list[dict]:
    """Where each run ran, by host, Ray node and CPUs, in the order they started, and how
    many other runs shared its host meanwhile; empty when all ran on one host without
    Ray (then there is nothing to tell)."""
    envs = {r.run_id: r.environment for r in runs}
    if len({e.get("host") for e in envs.values()}) < 2 and not any(
        e.get("node") for e in envs.values()
    ):
        return []
    beside = shared(runs)
    placed = [
        {
            "host": envs[r.run_id].get("host"),
            "node": envs[r.run_id].get("node"),
            "cpus": envs[r.run_id]["cpus_used"],
            "start": span[1] if (span := interval(r)) else None,
            "run_id": r.run_id,
            "beside": len(beside.get(r.run_id, [])),
        }
        for r in runs
    ]
    return sorted(placed, key=lambda p: (p["host"] or "", p["node"] or "", p["start"] or 0.0))


def summarize(runs: list[RunResult], beside: dict[str, list[str]] | None = None) -> dict:
    """One row: the runs of one backend and variant, over seeds and repeats. Times are
    medians of every sample of the row's runs; `figures` keeps their spreads. `beside`:
    `shared()` of every run, for the runs of this row that shared their machine."""
    row = variant(runs[0])
    accuracies = [r.metrics["test_accuracy"] for r in runs]
    figures = speed.figures(runs)
    steady, step = figures["steady_epoch_s"], figures["step_s"]
    gflops = speed.training_gflops(runs[0], _median_of(step))
    peak = _median(map(speed.peak_gflops, runs))
    others = [s for s in map(speed.other_share, runs) if s is not None]
    outlying = speed.outliers(runs)
    row.update(
        runs=len(runs),
        seeds=" ".join(str(s) for s in sorted({r.spec["seed"] for r in runs})),
        test_accuracy=statistics.mean(accuracies),
        test_accuracy_std=statistics.stdev(accuracies) if len(runs) > 1 else None,
        test_loss=statistics.mean(r.metrics["test_loss"] for r in runs),
        steady_epoch_p10_s=steady.p10 if steady else None,
        steady_epoch_p90_s=steady.p90 if steady else None,
        step_p10_s=step.p10 if step else None,
        step_p90_s=step.p90 if step else None,
        train_images_per_s=speed.images_per_s(runs[0], _median_of(step)),
        training_flops_per_image=speed.training_flops_per_image(runs[0]),
        training_gflops=gflops,
        peak_gflops=peak,
        share_of_peak=gflops / peak if gflops and peak else None,
        other_cpu_share_max=max(others) if others else None,
        disturbed_runs=sum(map(speed.disturbed, runs)),
        not_converged_runs=sum(not_converged(r) is not None for r in runs),
        outlying=outlying,
        outliers=len(outlying),
        commits=" ".join(sorted({code(r) for r in runs})),
        dirty_runs=sum(map(_dirty, runs)),
        shared_runs=sum(r.run_id in (beside or {}) for r in runs),
        peak_rss_mib=max(r.memory["peak_rss_mib"] for r in runs),
        versions=versions(runs[-1]),
        figures=figures,
    )
    row.update({name: _median_of(figure) for name, figure in figures.items()})
    return row


def rows(runs: list[RunResult]) -> list[dict]:
    """One row per backend and variant; each keeps its runs under `members`."""
    groups = by(runs, lambda r: tuple(variant(r).values()))
    beside = shared(runs)
    return [
        {**summarize(g, beside), "members": g}
        for _, g in sorted(groups.items(), key=lambda kv: str(kv[0]))
    ]


def first_per_seed(runs: list[RunResult]) -> dict[str, dict[int, RunResult]]:
    """backend -> seed -> the earliest run, for one comparison group."""
    out: dict[str, dict[int, RunResult]] = {}
    for r in runs:
        out.setdefault(r.spec["backend"], {}).setdefault(r.spec["seed"], r)
    return out


def starting_points(runs: list[RunResult]) -> list[dict]:
    """Per comparison group and seed: the digests of each backend's initial weights and
    batch order, and whether they are the same on every backend."""
    out = []
    for key, members in sorted(by(runs, group).items(), key=lambda kv: str(kv[0])):
        per_seed = by(members, lambda r: r.spec["seed"])
        for seed, seed_runs in sorted(per_seed.items()):
            latest = {r.spec["backend"]: r.reproducibility for r in seed_runs}
            if len(latest) < 2 or None in {d["initial_weights_digest"] for d in latest.values()}:
                continue
            out.append(
                {
                    "group": key,
                    "seed": seed,
                    "digests": {
                        b: (d["initial_weights_digest"], d["batch_order_digest"])
                        for b, d in sorted(latest.items())
                    },
                    "identical": len(
                        {
                            (d["initial_weights_digest"], d["batch_order_digest"])
                            for d in latest.values()
                        }
                    )
                    == 1,  # fmt: skip
                }
            )
    return out


def determinism(runs: list[RunResult], results_dir: Path, warnings: list[str]) -> list[dict]:
    """Per backend, variant and seed with two or more runs: are the runs identical?"""
    out = []
    cells = by(runs, lambda r: (tuple(variant(r).values()), r.spec["seed"]))
    for (_, seed), cell in sorted(cells.items(), key=lambda kv: str(kv[0])):
        if len(cell) < 2:
            continue
        first = cell[0]
        digests = {r.reproducibility["final_weights_digest"] for r in cell}  # None: not recorded
        row = {
            "backend": first.spec["backend"],
            "group": group(first),
            "seed": seed,
            "runs": len(cell),
            "settings": first.environment["threads"].get("determinism", "off"),
            "bitwise": None if None in digests else len(digests) == 1,
            "weights_max_abs": None,
            "predictions_max_abs": None,
        }
        for key, field in (
            ("final_weights", "weights_max_abs"),
            ("predictions", "predictions_max_abs"),
        ):
            names = [r.artifacts.get(key) for r in cell]
            if not all(n and (results.runs_dir(results_dir) / n).is_file() for n in names):
                continue  # not saved, or not kept (final weights are optional)
            try:
                arrays = [results.load_artifact(results_dir, r, key) for r in cell]
            except ResultError as e:
                warnings.append(f"determinism of {first.spec['backend']} without {key}: {e}")
                continue
            row[field] = max(reproducibility.max_abs_difference(arrays[0], a) for a in arrays[1:])
        out.append(row)
    return out


def agreement(runs: list[RunResult], results_dir: Path, warnings: list[str]) -> list[dict]:
    """Per comparison group, seed and pair of backends: how far the predictions agree."""
    out = []
    for key, members in sorted(by(runs, group).items(), key=lambda kv: str(kv[0])):
        per_backend = first_per_seed(members)
        names = sorted(per_backend)
        predictions: dict[tuple[str, int], np.ndarray | None] = {}
        for b in names:
            for seed, r in per_backend[b].items():
                try:
                    loaded = results.load_artifact(results_dir, r, "predictions")
                except ResultError as e:
                    warnings.append(f"agreement without predictions: {e}")
                    loaded = None
                predictions[b, seed] = loaded[0] if loaded else None
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for seed in sorted(set(per_backend[a]) & set(per_backend[b])):
                    pa, pb = predictions[a, seed], predictions[b, seed]
                    if pa is None or pb is None:
                        continue
                    ra, rb = per_backend[a][seed], per_backend[b][seed]
                    out.append(
                        {
                            "group": key,
                            "seed": seed,
                            "backends": (a, b),
                            **reproducibility.prediction_agreement(pa, pb),
                            "accuracy_diff": ra.metrics["test_accuracy"]
                            - rb.metrics["test_accuracy"],
                        }
                    )
    return out


def noise(runs: list[RunResult]) -> list[dict]:
    """Per comparison group with two or more seeds on some backend: each backend's
    accuracy over seeds, and for each pair of backends a two-sided t-test of the
    difference (paired by seed where the seeds match)."""
    out = []
    for key, members in sorted(by(runs, group).items(), key=lambda kv: str(kv[0])):
        per_backend = first_per_seed(members)
        acc = {
            b: {s: r.metrics["test_accuracy"] for s, r in seeds.items()}
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
                    tests.append({"backends": (a, b), "test": test})
        out.append(
            {
                "group": key,
                "backends": {
                    b: {
                        "seeds": sorted(v),
                        "mean": statistics.mean(v.values()),
                        "std": statistics.stdev(v.values()) if len(v) > 1 else None,
                    }
                    for b, v in sorted(acc.items())
                },
                "tests": tests,
            }
        )
    return out
