"""What the tests build: complete records with the numbers a test chooses, hostile
strings, a model of one's own, the cheapest run's options, and the scripts as modules.
Plain functions and constants, imported by the tests; the fixtures are in conftest.py."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.contract.spec import RunSpec
from harness.record import overhead, results, schema, store

# The checkout's root: README, docs/, examples/, results/ and scripts/ are found from it.
ROOT = Path(__file__).resolve().parent.parent


def make_result(
    backend: str = "tensorflow",
    seed: int = 1,
    accuracy: float = 0.99,
    loss: float = 0.03,
    epochs_s: tuple[float, ...] = (30.0, 20.0, 21.0, 19.0),
    profile: str = "seed",
    created: str = "2026-11-25T10:00:00Z",
    digests: tuple[str | None, str | None, str | None] = ("w", "b", "f"),
    dropout_masks: str | None = None,
    artifacts: dict | None = None,
    deterministic: bool = False,
    data_format: str = "channels_last",
    steps: int = 4,
    steps_s: list[list[float]] | None = None,
    peak_gflops: float = 100.0,
    other_share: float = 0.01,
    commit: str = "abc1234def",
    dirty: bool = False,
    invocation: str | None = None,
    host: str | None = None,
    impl: str = "keras",
    anchor_of: str | None = None,
    node: str | None = None,
    machine_id: str = "m1",
    round: int | None = None,
    tuning: tuple[tuple[str, str], ...] | None = None,
    skipped: tuple[str, ...] = (),
    epoch_accuracy: tuple[float, ...] | None = None,
    target: float | None = 0.98,
    stop_at_target: bool = False,
    perturb_init: bool = False,
    evaluate_s: float = 0.0,
    ops: schema.Ops | None = None,
) -> results.RunResult:
    """A complete, valid result record with the numbers a test chooses; `epoch_accuracy`
    the test accuracy after each epoch (default: `accuracy` after each; () for a run that
    evaluated no epoch), each evaluation taking `evaluate_s` inside fit()."""
    spec = RunSpec(
        backend=backend, profile=profile, seed=seed, threads=1, deterministic=deterministic,
        impl=impl, round=round, tuning=tuning,
        tuning_source=None if tuning is None else "a test's tuning record",
        stop_at_target=stop_at_target, perturb_init=perturb_init,
    )  # fmt: skip
    per_epoch, planned = None, len(epochs_s)
    if epoch_accuracy != ():
        per_epoch = make_per_epoch(
            epoch_accuracy or (accuracy,) * len(epochs_s),
            epochs_s,
            target,
            stop_at_target,
            evaluate_s,
        )
        epochs_s = epochs_s[: len(per_epoch.accuracy)]
    fit_s = sum(epochs_s) + evaluate_s * len(epochs_s) + 0.5
    # The op profile's phase only where there is one.
    profiled = schema.PHASES if ops else tuple(p for p in schema.PHASES if p != "ops_s")
    phases = dict.fromkeys(profiled, 0.1) | {
        "interpreter_s": 0.3, "import_s": 2.0, "data_load_s": 0.5, "fit_s": fit_s,
        "evaluate_s": 1.5,
    }  # fmt: skip
    return results.RunResult(
        run_id=store.new_run_id(backend, spec.model, spec.dataset, profile, seed),
        created=created,
        spec=spec,
        recipe=schema.Recipe(
            epochs=planned,
            batch_size=500,
            train_images=500 * steps,
            test_images=10000,
            classes=10,
            optimizer={"class_name": "Adadelta", "config": {"learning_rate": 1.0}},
            loss="categorical_crossentropy",
            data_format=data_format,
            jit_compile=backend == "jax",
            parameters=1045576,
            reference_accuracy=0.9906,
            anchor_of=anchor_of,
        ),
        environment=schema.Environment(
            python="3.11.7",
            cpu_model="Test CPU",
            cpus_used=[0],
            libraries={"keras": "3.15.1", backend: "1.0"},
            variables={"KERAS_BACKEND": backend},
            git=schema.Git(commit=commit, dirty=dirty),
            host=host,
            node=node,
        ),
        backend_settings={},
        timings=schema.Timings(
            **phases,
            wall_s=sum(phases.values()) + 0.05,
            unaccounted_s=0.05,
            epochs_s=list(epochs_s),
            # `steps` equal steps an epoch
            steps_s=steps_s or [[e / steps] * steps for e in epochs_s],
            latency_calls_s={"1": [0.002, 0.003, 0.002], "500": [0.3, 0.31, 0.29]},
            ops=ops,
        ),
        metrics=schema.Metrics(
            history={"loss": [0.3] * len(epochs_s), "accuracy": [0.9] * len(epochs_s)},
            test_loss=loss,
            test_accuracy=accuracy,
            skipped=list(skipped),
            per_epoch=per_epoch,
        ),
        memory=schema.Memory(peak_rss_mib=1000.0),
        machine=schema.Machine(
            matmul=schema.Matmul(
                threads=1, n=2048, gflops=[peak_gflops], median_gflops=peak_gflops
            ),
            during_fit=schema.DuringFit(
                cpus=[0],
                interval_s=fit_s,
                other_cpu_s=other_share * fit_s,
                other_share=other_share,
                loadavg_1min=[0.1, 0.2],
            ),
            fingerprint=schema.Fingerprint(
                machine_id=machine_id,
                vendor="GenuineIntel",
                family=6,
                model=207,
                stepping=2,
                isa=["avx2", "avx512f"],
                memory_gib=23.5,
                kernel="6.18",
                vm=True,
            ),  # fmt: skip
        ),
        reproducibility=schema.Reproducibility(
            **dict(zip(schema.DIGESTS, digests, strict=True)), dropout_masks=dropout_masks
        ),
        artifacts=schema.Artifacts(**(artifacts or {})),
        invocation=invocation,
    )


def make_per_epoch(
    accuracy: tuple[float, ...],
    epochs_s: tuple[float, ...],
    target: float | None,
    stop: bool,
    evaluate_s: float,
) -> schema.PerEpoch:
    """Each epoch's test accuracy as `accuracy` gives it, its evaluation `evaluate_s`
    after the epoch's `epochs_s`; cut at the target's epoch where the run stops there."""
    elapsed = list(itertools.accumulate(e + evaluate_s for e in epochs_s))
    reached = next((i for i, a in enumerate(accuracy) if target and a >= target), None)
    kept = len(accuracy) if reached is None or not stop else reached + 1
    return schema.PerEpoch(
        target=target,
        target_from=None if target is None else "model",
        accuracy=list(accuracy[:kept]),
        evaluate_s=[evaluate_s] * kept,
        elapsed_s=elapsed[:kept],
        reached_epoch=None if reached is None else reached + 1,
        reached_s=None if reached is None else elapsed[reached],
        stopped=stop and reached is not None,
    )


def seed_recipe(data_format: str, images: int, batch_size: int) -> schema.Recipe:
    """The seed model's recipe (its optimizer and loss) for a short in-process run of
    one epoch on `images` synthetic images."""
    from models import mnist_cnn

    return schema.Recipe(
        epochs=1, batch_size=batch_size, train_images=images, test_images=images, classes=10,
        optimizer=mnist_cnn.DEFAULTS["optimizer"], loss=mnist_cnn.DEFAULTS["loss"],
        data_format=data_format,
    )  # fmt: skip


def make_failure(reason: str, exit_code: int = 2, **kwargs) -> results.FailedRun:
    """The record of the run `make_result(**kwargs)` describes, had it failed for `reason`."""
    made = make_result(**kwargs)
    return results.FailedRun(
        run_id=made.run_id,
        created=made.created,
        spec=made.spec,
        failure=schema.Failure(reason=reason, exit_code=exit_code, output_tail=[]),
        invocation=made.invocation,
    )


# What a hostile user puts in a name or a message, each of which would run (change the
# page's title or log to its console) or be markup if a page took it as HTML or Markdown.
HOSTILE = (
    "<img src=x onerror=\"console.log('ran');document.title='ran'\">",
    "<script>console.log('ran');document.title='ran'</script>",
    "<body onload=\"console.log('ran')\" data-ran=1>",
    "**bold** __strong__ `code` [link](javascript:console.log('ran')) ![pic](x.png) a|b",
)


def make_ops(
    *ops: tuple[str, float], op_s: float, steps: int = 2, wall_s: float = 1.0
) -> schema.Ops:
    """An op profile of `steps` steps: the longest ops (name, seconds) and every op's time."""
    return schema.Ops(
        profiler="a test's profiler",
        steps=steps,
        wall_s=wall_s,
        op_s=op_s,
        top=[schema.OpTime(name=n, seconds=t, calls=steps) for n, t in ops],
    )


def write_hostile(results_dir: Path) -> None:
    """A run and a failed run in results_dir/runs whose every string a report shows holds
    HOSTILE markup: the model's file name, the machine's id, Python, the CPU's model, the
    library versions, variables, keras.json, settings, the ops' profiler and names and
    the failure's reason."""
    hostile = " ".join(HOSTILE)
    ops = dataclasses.replace(make_ops(*((h, 0.1) for h in HOSTILE), op_s=1.0), profiler=hostile)
    made = make_result(backend="torch", machine_id=hostile, ops=ops)
    made = dataclasses.replace(
        made,
        spec=dataclasses.replace(made.spec, model=f"{HOSTILE[0]}.py"),
        environment=dataclasses.replace(
            made.environment,
            python=f"3.12.3 {hostile}",
            cpu_model=hostile,
            libraries={"keras": hostile, "torch": HOSTILE[1]},
            variables={"KERAS_BACKEND": "torch", "XLA_FLAGS": hostile},
            keras_json={"image_data_format": hostile},
        ),
        backend_settings={"threads": hostile},
    )
    failed = make_failure(f"build() raised ValueError: {hostile}", backend="jax")
    for r in (made, failed):
        store.write(r, store.runs_dir(results_dir) / f"{r.run_id}.json")


class Started(list):
    """(backend, whether it is quiet, stdout) of each worker started; `pinned`: its CPUs;
    `specs`: its spec; `profiled`: whether it was asked to profile its ops; `checked`:
    the spec of each model file built before the runs; `result_of(spec)`: what its
    record holds beyond `make_result`'s defaults (a test sets it)."""

    def __init__(self) -> None:
        super().__init__()
        self.pinned: list[list[int] | None] = []
        self.specs: list[RunSpec] = []
        self.profiled: list[bool] = []
        self.checked: list[RunSpec] = []
        self.result_of: Callable[[RunSpec], dict] = lambda spec: {}


# A model of one's own in one file (`--model path/to/model.py`): a few Dense layers over
# the flattened images, with the contract of a model plugin.
OWN_MODEL = """\
import keras
from keras import layers

DEFAULTS = {
    "epochs": 3,
    "batch_size": 32,
    "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
    "loss": "categorical_crossentropy",
}


def build(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)
"""

# One step of one epoch, one thread, deterministic: the cheapest run that trains.
SMALL = ["--dataset", "synthetic", "--threads", "1", "--epochs", "1", "--train-images", "500",
         "--deterministic"]  # fmt: skip


def stopped_main(argv: list[str]) -> int:
    """`cli.main` of a command that is stopped meanwhile; the interruption escaping it (a
    traceback for the user, status -2) fails the test instead of stopping the session."""
    from harness import cli

    try:
        return cli.main(argv)
    except KeyboardInterrupt as e:
        pytest.fail(f"{type(e).__name__} escaped `{' '.join(argv[:1])}`: a traceback")


def gone(pid: int, timeout: float) -> bool:
    """Whether process `pid` ended (or is a zombie nobody reaped) within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.2)
    return False


def load_script(name: str):
    """scripts/<name>.py as a module: the scripts are run by hand, and tested here."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass of the script looks its module up there
    spec.loader.exec_module(module)
    return module


def make_overhead_record(**changes: object) -> overhead.OverheadRecord:
    """A complete overhead benchmark record of two rounds, with `changes` applied."""
    run = make_result()
    plain = overhead.Plain(process_s=30.0, import_s=3.0, data_load_s=0.2, build_s=0.1, fit_s=20.0)
    harness = overhead.Harness(
        process_s=32.0, import_s=2.9, data_load_s=0.5, build_s=0.1, init_s=0.02,
        compile_s=0.01, peak_s=0.8, fit_s=21.0, epoch_evaluations_s=0.6, evaluate_s=1.5,
        predict_s=1.4,
        latency_s=0.9, save_s=0.02, unaccounted_s=0.03,
    )  # fmt: skip
    record = overhead.OverheadRecord(
        backend="tensorflow",
        created="2026-12-10T09:00:00Z",
        images=10000,
        epochs=3,
        threads=2,
        band=0.03,
        plain_feed="harness",
        profile="seed",
        git=schema.Git(commit="abc1234def", dirty=False),
        environment=dataclasses.replace(run.environment, git=None),
        machine=run.machine.fingerprint,
        rounds=[
            overhead.Round(first="plain", plain=plain, harness=harness),
            overhead.Round(first="harness", plain=plain, harness=harness),
        ],
        fit_ratio=overhead.Interval(geomean=1.05, low=1.05, high=1.05),
        max_rounds=16,
        stopped="outside",
    )
    return dataclasses.replace(record, **changes)
