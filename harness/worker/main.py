"""Runs ONE cell in this process, whose backend was fixed by the parent's environment:
the task its command line names (`harness.contract.task.WorkerTask`, which the parent,
`harness.launch`, made).

The parent sets KERAS_BACKEND, the thread variables and the CPUs before this interpreter
starts; keras is imported here and nowhere in the parent.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.backends import resolve, tuning_of
from harness.backends.base import Backend, Tuning, threads_of
from harness.contract import plugins
from harness.contract.checks import check_images
from harness.contract.handover import pinned_cpus
from harness.contract.recipe import ModelRecipe
from harness.contract.spec import ConfigError, RunSpec, get_profile
from harness.contract.task import WorkerTask
from harness.datasets.base import Dataset, DatasetError, Split, prepare
from harness.origin import fingerprint
from harness.record import atomic, described, places, results, schema, store
from harness.record.described import ModelSize
from harness.worker import environment, machine, modelinfo, onefile, starting_points, timing
from harness.worker.quality import EpochEvaluation
from harness.worker.stopping import STOP, Stopped, die_with_parent, exit_now
from harness.worker.trainers import Trainer, TrainingDiverged, trainer_for


@dataclass(frozen=True)
class Data:
    """A run's images and labels, prepared in the layout its trainer takes."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    data_format: str
    source: str  # the file it was read from, by name


@dataclass(frozen=True)
class Session:
    """Everything a run sets up before it trains."""

    spec: RunSpec
    backend: Backend
    trainer: Trainer
    backend_settings: dict
    sections: timing.Sections
    recipe: schema.Recipe  # as resolved; what only the model as it ran knows comes later
    data: Data
    target: float | None  # the test accuracy to reach: --target, else the model's


def start(spec: RunSpec, dropout: bool = True) -> Session:
    """Pin CPUs, import the trainer's library, load and prepare the data, build the model
    (uncompiled; without dropout if `dropout` is False)."""
    # Its clock starts with the process: the interpreter's start-up and the harness's
    # own imports are its first phase.
    sections = timing.Sections()
    backend = resolve(spec.backend)
    tuning = tuning_of(spec)
    # The run's CPUs, or the share of them its tuning uses. Pinned first: thread pools
    # created during the imports below size themselves from it.
    threads = threads_of(tuning.threads if tuning else None, spec.threads)
    os.sched_setaffinity(0, pinned_cpus(spec.threads)[:threads])
    trainer = trainer_for(spec, backend, tuning)
    with sections("import_s"):
        settings = backend.configure(threads, spec.deterministic, tuning)
        trainer.load()
    model = onefile.model(spec)
    defaults = ModelRecipe.parse(model.DEFAULTS)
    batch_size = spec.batch_size or defaults.batch_size
    with sections("data_load_s"):
        dataset = onefile.dataset(spec)  # a file's arrays are read here
        one_hot = defaults.loss == "categorical_crossentropy"
        data = load_data(spec, dataset, trainer, batch_size, one_hot)
    recipe = resolve_recipe(spec, defaults, batch_size, data, tuning, trainer.anchor_of)
    with sections("build_s"):
        trainer.build(model, data.x_train.shape[1:], data.classes, dropout)
    target = defaults.target_of(spec)
    return Session(spec, backend, trainer, settings, sections, recipe, data, target)


def resolve_recipe(
    spec: RunSpec,
    defaults: ModelRecipe,
    batch_size: int,
    data: Data,
    tuning: Tuning | None,
    anchor_of: str | None,
) -> schema.Recipe:
    """The model's recipe (its DEFAULTS) with the spec's overrides, for `data`."""
    optimizer = defaults.optimizer
    if spec.learning_rate:
        config = {**optimizer["config"], "learning_rate": spec.learning_rate}
        optimizer = {**optimizer, "config": config}
    return schema.Recipe(
        epochs=spec.epochs or defaults.epochs,
        batch_size=batch_size,
        train_images=len(data.y_train),
        test_images=len(data.y_test),
        classes=data.classes,
        optimizer=optimizer,
        loss=defaults.loss,
        data_format=data.data_format,
        dataset=defaults.dataset,
        data_source=data.source,
        tuning=tuning.to_dict() if tuning else None,
        reference_accuracy=defaults.reference_accuracy,
        anchor_of=anchor_of,
    )


def load_data(
    spec: RunSpec, dataset: Dataset, trainer: Trainer, batch_size: int, one_hot: bool
) -> Data:
    """The dataset's first `spec.train_images` training images (all if None) and its
    test set, in the trainer's data format; a ConfigError if there are too few."""
    loaded = dataset.load(spec.data_dir)
    available = len(loaded.train.y)
    train_images = spec.steps * batch_size if spec.steps else spec.train_images
    recipe_of = None if spec.batch_size else spec.model
    check_images(dataset.name, available, train_images, batch_size, recipe_of)
    train_images = train_images or available
    data_format = trainer.choose_data_format()
    train = Split(loaded.train.x[:train_images], loaded.train.y[:train_images])
    x_train, y_train = prepare(train, data_format, dataset.num_classes, one_hot)
    # A speed-only profile evaluates the test set's first images alone.
    checked = get_profile(spec.profile).check_images
    test = Split(loaded.test.x[:checked], loaded.test.y[:checked])
    x_test, y_test = prepare(test, data_format, dataset.num_classes, one_hot)
    return Data(x_train, y_train, x_test, y_test, dataset.num_classes, data_format, loaded.origin)


def train_and_evaluate(
    spec: RunSpec,
    files: store.RunFiles,
    quiet: bool = False,
    invocation: str | None = None,
    profile_ops: bool = False,
) -> results.RunResult:
    """The run, every part of it in a phase of `sections`: what no phase covers is the
    record's unaccounted time. Its arrays are staged in `files`, to be published with
    the result it returns. With `profile_ops`, its profile's `op_steps` steps are
    profiled op by op last, after the final weights are taken."""
    s = start(spec)
    sections, trainer, recipe, data = s.sections, s.trainer, s.recipe, s.data
    with sections("init_s"):
        trainer.set_starting_point()
        initial_digest = starting_points.digest(trainer.get_weights())
    with sections("compile_s"):
        trainer.compile(recipe)
    # The yardstick right before training, on the CPUs the run uses (a tuning's share
    # of its thread budget, `threads=half`, uses fewer) and their thread count.
    with sections("peak_s"):
        peak = machine.matmul_peak(len(os.sched_getaffinity(0)))
    evaluation = epoch_evaluation(s)
    others = machine.OtherLoad(sorted(os.sched_getaffinity(0)))
    others.start()
    with sections("fit_s"):
        history, clocks, batch_digest = trainer.fit(
            data.x_train, data.y_train, recipe.epochs, recipe.batch_size, quiet, evaluation
        )
    load = others.stop()
    # A speed-only profile's test set is its first images already (`load_data`); it
    # predicts nothing more, so that its process compiles no more than it must.
    speed_only = get_profile(spec.profile).check_images is not None
    skipped = list(schema.SKIPPABLE) if speed_only else []
    with sections("evaluate_s"):
        test_loss, test_accuracy = trainer.evaluate(data.x_test, data.y_test, recipe.batch_size)
    predictions, latency = None, None
    if not speed_only:
        with sections("predict_s"):
            predictions = trainer.predict(data.x_test, recipe.batch_size)
        with sections("latency_s"):
            latency = trainer.prediction_latency(data.x_test)

    with sections("save_s"):
        final_weights = trainer.get_weights()
        run_id = files.out.name.removesuffix(".json")
        kept = f"{run_id}.predictions.npz", f"{run_id}.weights.npz"
        if predictions is not None:
            files.stage_arrays(kept[0], [predictions.astype("float32")])
        trajectory = None
        if evaluation is not None:
            trajectory = f"{run_id}.trajectory.npz"
            files.stage_arrays(trajectory, evaluation.trajectory())
        dropped = files.stage_optional(kept[1], final_weights, "final weights")
        if dropped:
            print(f"warning: {dropped}", file=sys.stderr)
        artifacts = schema.Artifacts(
            predictions=None if predictions is None else kept[0],
            final_weights=None if dropped else kept[1],
            trajectory=trajectory,
        )
        recipe = dataclasses.replace(recipe, **trainer.facts())
        libraries = {"numpy": np.__version__, **trainer.versions()}
        settings = {**s.backend_settings, **s.backend.after_training()}
        env = environment.capture(
            libraries, s.backend.kernels(), spec.model, spec.model_path,
            places.local_folders(spec, files.out.parent.parent),
        )  # fmt: skip
        final_digest = starting_points.digest(final_weights)
        order_digest = batch_digest() if batch_digest else None
    # Before the op profile, whose profiler takes memory of its own.
    peak_rss = timing.peak_rss_mib()
    ops = None
    op_steps = get_profile(spec.profile).op_steps
    if profile_ops and op_steps:
        with sections("ops_s"):
            ops = profiled_ops(s, op_steps)
    wall, unaccounted = sections.account()
    return results.RunResult(
        run_id=run_id,
        created=store.utc_now(),
        spec=spec,
        recipe=recipe,
        environment=env,
        backend_settings=settings,
        timings=schema.Timings(
            **sections.seconds,
            wall_s=wall,
            unaccounted_s=unaccounted,
            epochs_s=clocks.epochs.samples,
            steps_s=clocks.steps_per_epoch,
            latency_calls_s=latency,
            ops=ops,
        ),
        metrics=schema.Metrics(
            history={k: [float(v) for v in vs] for k, vs in history.items()},
            test_loss=float(test_loss),
            test_accuracy=float(test_accuracy),
            skipped=skipped,
            per_epoch=evaluation.section() if evaluation else None,
        ),
        memory=schema.Memory(peak_rss_mib=peak_rss),
        machine=schema.Machine(matmul=peak, during_fit=load, fingerprint=fingerprint.fingerprint()),
        reproducibility=schema.Reproducibility(
            initial_weights_digest=initial_digest,
            batch_order_digest=order_digest,
            final_weights_digest=final_digest,
            dropout_masks=trainer.dropout_masks(),
        ),
        artifacts=artifacts,
        invocation=invocation,
    )


# The ops a record keeps: those that took the most time, the rest only in its total.
TOP_OPS = 12


def profiled_ops(s: Session, steps: int) -> schema.Ops | None:
    """The framework's profile of `steps` training steps of the harness's first batches
    (fewer where an epoch has fewer), after one step outside it (a step outside fit() may
    trace anew); None where the backend's plugin reads no profiler, or an epoch is one
    batch, or the profiler failed (a warning: the run keeps what it measured). The model
    trains on: take what the record keeps of it first."""
    data, batch = s.data, s.recipe.batch_size
    plan = starting_points.batch_plan(s.spec.seed, 1, len(data.x_train), batch)
    if len(plan) < 2:
        return None
    first, *profiled = plan[: steps + 1]
    s.trainer.train_step(data.x_train[first], data.y_train[first])
    took = []

    def run() -> None:
        started = time.perf_counter()
        for idx in profiled:
            s.trainer.train_step(data.x_train[idx], data.y_train[idx])
        took.append(time.perf_counter() - started)

    try:
        with tempfile.TemporaryDirectory(prefix="harness-ops-") as folder:
            measured = s.backend.profile_ops(run, Path(folder))
    except Exception as e:  # a profiler's failure costs the op profile, not the run
        print(f"warning: no op profile: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    if measured is None:
        return None
    if not measured.ops:
        print(f"warning: {measured.profiler} measured no op", file=sys.stderr)
        return None
    longest = sorted(measured.ops.items(), key=lambda op: op[1][0], reverse=True)
    return schema.Ops(
        profiler=measured.profiler,
        steps=len(profiled),
        wall_s=took[0],
        op_s=sum(seconds for seconds, _ in measured.ops.values()),
        top=[schema.OpTime(name=n, seconds=t, calls=c) for n, (t, c) in longest[:TOP_OPS]],
    )


def epoch_evaluation(s: Session) -> EpochEvaluation | None:
    """The test set after every epoch, unless the run's profile answers speed alone."""
    if not get_profile(s.spec.profile).epoch_evaluation:
        return None
    return EpochEvaluation(
        s.data.x_test,
        s.data.y_test,
        s.recipe.batch_size,
        s.target,
        None if s.target is None else "model" if s.spec.target is None else "option",
        s.spec.stop_at_target,
    )


def parity_probe(spec: RunSpec, steps: int, out: Path) -> None:
    """Numerics without randomness: the untrained model's test-set outputs and the loss
    of the first `steps` training steps, from the harness's weights, with dropout off."""
    s = start(spec, dropout=False)
    trainer, data, batch = s.trainer, s.data, s.recipe.batch_size
    trainer.set_starting_point()
    trainer.compile(s.recipe)
    if steps * batch > len(data.x_train):
        raise ConfigError(
            f"parity steps must be <= {len(data.x_train) // batch} (one epoch of batch {batch}), "
            f"got {steps}"
        )
    outputs = trainer.predict(data.x_test, batch)
    plan = starting_points.batch_plan(spec.seed, 1, len(data.x_train), batch)[:steps]
    losses = [trainer.train_step(data.x_train[idx], data.y_train[idx]) for idx in plan]
    with atomic.atomic_file(out, "wb") as f:
        np.savez(f, outputs=outputs.astype("float32"), losses=np.array(losses, dtype="float64"))


def check(spec: RunSpec, out: Path) -> None:
    """Set the run of `spec` up as far as its model built for its data, and say so in
    `out`: what a model's file does at import and in build() is found before any run."""
    start(spec)
    out.write_text("built\n")


def describe(models: list[str], out: Path) -> None:
    """Parameters and FLOPs of each model, built for the dataset its recipe names."""
    import keras

    sizes = {}
    for name in models:
        plugin = plugins.load("model", name)
        dataset = plugins.load("dataset", ModelRecipe.parse(plugin.DEFAULTS).dataset or "mnist")
        # The channel axis where keras.json's image data format puts it.
        empty = Split(np.zeros((0, *dataset.image_shape), "uint8"), np.zeros(0, "int64"))
        x, _ = prepare(empty, keras.backend.image_data_format(), dataset.num_classes, False)
        model = plugin.build(x.shape[1:], dataset.num_classes)
        sizes[name] = ModelSize(
            dataset=dataset.name,
            parameters=model.count_params(),
            forward_flops_per_image=modelinfo.forward_flops(keras, model),
        )
    described.write(sizes, out)


def main(argv: list[str] | None = None) -> int:
    STOP.install()
    try:
        task = WorkerTask.parse(argv)
        die_with_parent()
        if task.spec is None:
            describe(list(task.describe), task.out)
            return 0
        if task.check:
            check(task.spec, task.out)
            return 0
        if task.parity_steps:
            parity_probe(task.spec, task.parity_steps, task.out)
            return 0
        files = store.RunFiles(task.out)
        try:
            result = train_and_evaluate(
                task.spec, files, task.quiet, task.invocation, task.profile_ops
            )
            STOP.check()
            files.publish(result)
        finally:
            files.discard()
    except Stopped as e:
        exit_now(e)
    except (ConfigError, DatasetError, plugins.PluginError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.filename is None:
            raise
        # Writing the run's files failed (a full disk): nothing of them is left.
        print(f"error: cannot write {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    return 0
