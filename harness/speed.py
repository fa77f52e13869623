"""Timing figures of a report row, from the runs' raw samples: medians and spreads,
achieved training throughput, and its share of the machine's matrix-multiply peak.

Pure functions of result records; nothing here reads a clock (see `timing`).
"""

from __future__ import annotations

from itertools import chain

from harness.results import RunResult
from harness.stats import Spread, spread

# Phases measured once per run: their samples are the row's runs (`--repeat N` adds more).
PHASES = ("interpreter_s", "import_s", "data_load_s", "build_s", "evaluate_s")
# Prediction latency batch sizes, as the worker records them.
LATENCY_BATCHES = ("1", "500")


def steady_epochs(r: RunResult) -> list[float]:
    """Every epoch but the first, which carries tracing and compilation."""
    return r.timings["epochs_s"][1:]


def steady_steps(r: RunResult) -> list[float]:
    """Every step of the steady epochs (none for results recorded before step clocks)."""
    return list(chain.from_iterable((r.timings.get("steps_s") or [])[1:]))


def figures(runs: list[RunResult]) -> dict[str, Spread | None]:
    """Each timing of a row of runs as a spread of its samples, pooled over the runs."""
    out: dict[str, Spread | None] = {
        phase: spread([r.timings[phase] for r in runs if r.timings.get(phase) is not None])
        for phase in PHASES
    }
    out["first_epoch_s"] = spread([r.timings["epochs_s"][0] for r in runs])
    out["steady_epoch_s"] = spread(list(chain.from_iterable(steady_epochs(r) for r in runs)))
    out["step_s"] = spread(list(chain.from_iterable(steady_steps(r) for r in runs)))
    for batch in LATENCY_BATCHES:
        calls = ((r.timings.get("predict_s") or {}).get(batch, []) for r in runs)
        out[f"predict_{batch}_s"] = spread(list(chain.from_iterable(calls)))
    return out


def training_flops_per_image(r: RunResult) -> float | None:
    """Forward FLOPs per image times the recorded training factor (None if not recorded)."""
    forward = r.recipe.get("forward_flops_per_image")
    factor = r.recipe.get("training_flops_factor")
    return forward * factor if forward and factor else None


def training_gflops(r: RunResult, steady_epoch_s: float | None) -> float | None:
    """Achieved training GFLOP/s over a steady epoch of the run's training images."""
    flops = training_flops_per_image(r)
    if flops is None or not steady_epoch_s:
        return None
    return flops * r.recipe["train_images"] / steady_epoch_s / 1e9
