"""Upgrades of older records: each step takes a record's JSON from one schema version to
the next, so that a file of any known version reads as the current one
(`harness.record.results.from_dict` runs the steps from the file's version on)."""

from __future__ import annotations

from harness.contract.spec import Impl, Init
from harness.record import schema


def _upgrade_from_1(data: dict) -> dict:
    """Version 1 had Keras's own initialisation only, no digests and no saved arrays."""
    spec = data.get("spec")
    if isinstance(spec, dict):
        spec = {**spec, "init": Init.KERAS, "deterministic": False}
    none = dict.fromkeys(schema.DIGESTS)
    return {
        **data,
        "spec": spec,
        "reproducibility": none,
        "artifacts": {},
        "status": schema.Status.OK,
        "failure": None,
        "schema_version": 2,
    }


def _upgrade_from_2(data: dict) -> dict:
    """Version 2 had no step clocks, prediction latency or interpreter start-up time."""
    timings = data.get("timings")
    if isinstance(timings, dict):
        timings = {"interpreter_s": None, "steps_s": None, "predict_s": None, **timings}
    return {**data, "timings": timings, "schema_version": 3}


def _upgrade_from_3(data: dict) -> dict:
    """Version 3 called fit() once per epoch and timed no more than its epochs: no wall
    time, no fit() call, no phase after training but evaluation; its `predict_s` was the
    prediction latency; the machine was not measured at run time."""
    timings = data.get("timings")
    if isinstance(timings, dict):
        timings = {
            **dict.fromkeys((*schema.PHASES, "wall_s", "unaccounted_s")),
            **{k: v for k, v in timings.items() if k != "predict_s"},
            "latency_calls_s": timings.get("predict_s"),
        }
    machine = {"matmul": None, "during_fit": None}
    return {**data, "timings": timings, "machine": machine, "schema_version": 4}


def _upgrade_from_4(data: dict) -> dict:
    """Version 4 did not record how many classes the dataset has, nor the invocation a
    run came from."""
    recipe = data.get("recipe")
    if isinstance(recipe, dict) and data.get("status") == schema.Status.OK:
        recipe = {"classes": None, **recipe}
    return {**data, "recipe": recipe, "invocation": None, "schema_version": 5}


def _upgrade_from_5(data: dict) -> dict:
    """Version 5 kept the backend's settings in the environment, as `threads`, and
    knew Keras runs only: no native implementation."""
    environment, settings, spec = data.get("environment"), None, data.get("spec")
    if isinstance(environment, dict):
        settings = environment.get("threads")
        environment = {k: v for k, v in environment.items() if k != "threads"}
    if isinstance(spec, dict):
        spec = {"impl": Impl.KERAS, **spec}
    return {
        **data,
        "spec": spec,
        "environment": environment,
        "backend_settings": settings,
        "schema_version": 6,
    }


def _upgrade_from_6(data: dict) -> dict:
    """Version 6 had a `tuned` profile: the seed recipe with settings written into the
    backend plugins by hand. It is the seed profile with those settings now, marked as
    the old profile's."""
    spec = data.get("spec")
    if isinstance(spec, dict) and spec.get("profile") == "tuned":
        spec = {
            **spec,
            "profile": "seed",
            "tuning": [["profile", "tuned"]],
            "tuning_source": "the tuned profile of its commit (settings fixed in the plugin)",
        }
    return {**data, "spec": spec, "schema_version": 7}


def _upgrade_from_7(data: dict) -> dict:
    """Every run before version 8 evaluated the whole test set, kept its predictions and
    measured the prediction latency (the speed profile too): it skipped nothing."""
    metrics = data.get("metrics")
    if isinstance(metrics, dict):
        metrics = {**metrics, "skipped": []}
    return {**data, "metrics": metrics, "schema_version": 8}


def _upgrade_from_8(data: dict) -> dict:
    """Version 8 evaluated the test set once, after training: no per-epoch test accuracy
    or time to target, no trajectory file, and no target or perturbation in its spec."""
    spec, metrics = data.get("spec"), data.get("metrics")
    if isinstance(spec, dict):
        spec = {"target": None, "stop_at_target": False, "perturb_init": False, **spec}
    if isinstance(metrics, dict):
        metrics = {"per_epoch": None, **metrics}
    return {**data, "spec": spec, "metrics": metrics, "schema_version": 9}


UPGRADES = (
    _upgrade_from_1, _upgrade_from_2, _upgrade_from_3, _upgrade_from_4, _upgrade_from_5,
    _upgrade_from_6, _upgrade_from_7, _upgrade_from_8,
)  # fmt: skip
