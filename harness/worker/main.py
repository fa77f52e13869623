"""Runs ONE cell in this process, whose backend was fixed by the parent's environment.

    python -m harness.worker --spec '<RunSpec as JSON>' --out results/runs/<run_id>.json
    python -m harness.worker --spec '<RunSpec as JSON>' --out probe.npz --parity STEPS

The parent (`harness.launcher`) sets KERAS_BACKEND, the thread variables and the CPUs
before this interpreter starts; keras is imported here and nowhere in the parent.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import numpy as np

from harness import native, plugins
from harness.backends import resolve
from harness.config import ConfigError, RunSpec, check_images
from harness.datasets.base import DatasetError, Split, prepare
from harness.record import results, schema
from harness.worker import environment, machine, modelinfo, starting_points, timing
from harness.worker.handover import pinned_cpus
from harness.worker.stopping import STOP, Stopped, die_with_parent, exit_now
from harness.worker.training import (
    Session,
    TrainingDiverged,
    evaluate,
    fit,
    predict,
    prediction_latency,
)


def start(spec: RunSpec, dropout: bool = True) -> Session:
    """Pin CPUs, import keras (or the native implementation), load and prepare the data,
    build the model (uncompiled; without dropout if `dropout` is False)."""
    # Its clock starts with the process: the interpreter's start-up and the harness's
    # own imports are its first phase.
    sections = timing.Sections()
    # Pin first: thread pools created during the imports below size themselves from it.
    os.sched_setaffinity(0, pinned_cpus(spec.threads))
    backend = resolve(spec.backend)
    tuning = backend.tuning if spec.tuned else None
    with sections("import_s"):
        settings = backend.configure(spec.threads, spec.deterministic, spec.tuned)
        if spec.impl == "native":
            keras, implementation = None, native.load(spec.model, backend.name)
        else:
            keras, implementation = backend.keras(), None
    if keras is not None and keras.backend.backend() != backend.keras_backend:
        raise RuntimeError(
            f"keras loaded the {keras.backend.backend()!r} backend, not "
            f"{backend.keras_backend!r}: start the worker through `python -m harness run`, "
            "which sets KERAS_BACKEND"
        )
    model_plugin = plugins.load("model", spec.model)
    defaults = model_plugin.DEFAULTS
    batch_size = spec.batch_size or defaults["batch_size"]
    optimizer = defaults["optimizer"]
    if spec.learning_rate:
        config = {**optimizer["config"], "learning_rate": spec.learning_rate}
        optimizer = {**optimizer, "config": config}

    dataset = plugins.load("dataset", spec.dataset)()
    with sections("data_load_s"):
        loaded = dataset.load(spec.data_dir)
        available = len(loaded.train.y)
        recipe_of = None if spec.batch_size else spec.model
        check_images(dataset.name, available, spec.train_images, batch_size, recipe_of)
        train_images = spec.train_images or available
        data_format = spec.data_format or (tuning and tuning.data_format)
        if implementation is not None:
            if data_format not in (None, implementation.data_format):
                raise ConfigError(
                    f"the native {spec.model} on {backend.name} takes "
                    f"{implementation.data_format} images, got data_format {data_format}"
                )
            data_format = implementation.data_format
        else:
            # keras.backend's, not keras.config's: Keras 2 has the same functions there.
            if data_format:
                keras.backend.set_image_data_format(data_format)
            data_format = keras.backend.image_data_format()
        one_hot = defaults["loss"] == "categorical_crossentropy"
        train = Split(loaded.train.x[:train_images], loaded.train.y[:train_images])
        x_train, y_train = prepare(train, data_format, dataset.num_classes, one_hot)
        x_test, y_test = prepare(loaded.test, data_format, dataset.num_classes, one_hot)
    recipe = schema.Recipe(
        epochs=spec.epochs or defaults["epochs"],
        batch_size=batch_size,
        train_images=train_images,
        test_images=len(y_test),
        classes=dataset.num_classes,
        optimizer=optimizer,
        loss=defaults["loss"],
        data_format=data_format,
        dataset=defaults.get("dataset"),
        data_source=loaded.origin,
        tuning=tuning.to_dict() if tuning else None,
        reference_accuracy=defaults.get("reference_accuracy"),
        # The Keras 3 backend whose row this run's anchors (explains), if it is an anchor.
        anchor_of=backend.name if implementation else backend.anchor_of,
    )
    session = Session(
        spec, backend, keras, settings, sections, tuning, recipe, x_train, y_train, x_test, y_test
    )
    with sections("build_s"):
        if implementation is not None:
            session.model = implementation(
                x_train.shape[1:], dataset.num_classes, spec.seed, dropout
            )
        else:
            keras.utils.set_random_seed(spec.seed)
            session.model = model_plugin.build(x_train.shape[1:], dataset.num_classes)
            if not dropout:
                disable_dropout(session)
    return session


def set_starting_point(s: Session) -> None:
    """With init "harness", overwrite Keras's draw with the backend-independent one."""
    if s.spec.init == "harness":
        plan = modelinfo.weight_plan(s.keras, s.model) if s.keras else s.model.weight_plan()
        s.model.set_weights(starting_points.initial_weights(plan, s.spec.seed))


def disable_dropout(s: Session) -> None:
    for layer in modelinfo.all_layers(s.model):
        if isinstance(layer, s.keras.layers.Dropout):
            layer.rate = 0.0


def compile_model(s: Session) -> None:
    if s.keras is None:
        s.model.compile(s.recipe)
        return
    jit_compile = s.tuning.jit_compile if s.tuning else None
    if jit_compile is None:
        jit_compile = s.backend.jit_compile_default
    s.model.compile(
        # deserialize() rewrites the config it is given; the recipe must stay as written.
        optimizer=s.keras.optimizers.deserialize(copy.deepcopy(s.recipe.optimizer)),
        loss=s.recipe.loss,
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )


def model_facts(s: Session) -> dict[str, object]:
    """What the recipe records of the model as it ran."""
    keras, model = s.keras, s.model
    if keras is None:
        facts = {
            "jit_compile": model.jit_compile,
            "parameters": model.parameters(),
            "forward_flops_per_image": model.forward_flops(),
            "optimizer_class": model.optimizer,
        }
    else:
        optimizer = type(model.optimizer)
        facts = {
            # Keras 2 keeps the value it was given (None: no XLA); Keras 3 resolves it.
            "jit_compile": bool(model.jit_compile),
            "parameters": model.count_params(),
            "forward_flops_per_image": modelinfo.forward_flops(keras, model),
            "optimizer_class": f"{optimizer.__module__}.{optimizer.__name__}",
        }
    return {**facts, "training_flops_factor": modelinfo.TRAINING_FLOPS_FACTOR}


def library_versions(s: Session) -> dict[str, str]:
    """Keras's version (Keras 2's in a keras2 run; none in a native run), the backend's
    packages and a native implementation's own libraries."""
    found = s.backend.versions()
    if s.keras is not None:
        return {"keras": s.keras.__version__, **found}
    for dist in s.model.distributions:
        found[dist] = importlib.metadata.version(dist)
    return found


def train_and_evaluate(
    spec: RunSpec, files: results.RunFiles, quiet: bool = False, invocation: str | None = None
) -> results.RunResult:
    """The run, every part of it in a phase of `sections`: what no phase covers is the
    record's unaccounted time. Its arrays are staged in `files`, to be published with
    the result it returns."""
    s = start(spec)
    sections = s.sections
    with sections("init_s"):
        set_starting_point(s)
        initial_digest = starting_points.digest(s.model.get_weights())
    with sections("compile_s"):
        compile_model(s)
    # The yardstick right before training, on the run's CPUs and thread budget.
    with sections("peak_s"):
        peak = machine.matmul_peak(spec.threads)
    others = machine.OtherLoad(sorted(os.sched_getaffinity(0)))
    others.start()
    with sections("fit_s"):
        history, clocks, batch_digest = fit(s, quiet)
    load = others.stop()
    with sections("evaluate_s"):
        test_loss, test_accuracy = evaluate(s)
    with sections("predict_s"):
        predictions = predict(s, s.x_test)
    with sections("latency_s"):
        latency = prediction_latency(s)

    with sections("save_s"):
        final_weights = s.model.get_weights()
        run_id = files.out.name.removesuffix(".json")
        artifacts = schema.Artifacts(
            predictions=f"{run_id}.predictions.npz", final_weights=f"{run_id}.weights.npz"
        )
        files.stage_arrays(artifacts.predictions, [predictions.astype("float32")])
        dropped = files.stage_optional(artifacts.final_weights, final_weights, "final weights")
        if dropped:
            print(f"warning: {dropped}", file=sys.stderr)
            artifacts = dataclasses.replace(artifacts, final_weights=None)
        recipe = dataclasses.replace(s.recipe, **model_facts(s))
        libraries = {"numpy": np.__version__, **library_versions(s)}
        settings = {**s.backend_settings, **s.backend.after_training()}
        env = environment.capture(libraries, spec.model)
        final_digest = starting_points.digest(final_weights)
        order_digest = batch_digest() if batch_digest else None
    wall, unaccounted = sections.account()
    return results.RunResult(
        run_id=run_id,
        created=results.utc_now(),
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
        ),
        metrics=schema.Metrics(
            history={k: [float(v) for v in vs] for k, vs in history.items()},
            test_loss=float(test_loss),
            test_accuracy=float(test_accuracy),
        ),
        memory=schema.Memory(peak_rss_mib=timing.peak_rss_mib()),
        machine=schema.Machine(matmul=peak, during_fit=load),
        reproducibility=schema.Reproducibility(
            initial_weights_digest=initial_digest,
            batch_order_digest=order_digest,
            final_weights_digest=final_digest,
            dropout_masks="drawn by the backend's own RNG (differ between backends)",
        ),
        artifacts=artifacts,
        invocation=invocation,
    )


def parity_probe(spec: RunSpec, steps: int, out: Path) -> None:
    """Numerics without randomness: the untrained model's test-set outputs and the loss
    of the first `steps` training steps, from the harness's weights, with dropout off."""
    s = start(spec, dropout=False)
    set_starting_point(s)
    compile_model(s)
    batch = s.recipe.batch_size
    if steps * batch > len(s.x_train):
        raise ConfigError(
            f"parity steps must be <= {len(s.x_train) // batch} (one epoch of batch {batch}), "
            f"got {steps}"
        )
    outputs = predict(s, s.x_test)
    losses = []
    for idx in starting_points.batch_plan(spec.seed, 1, len(s.x_train), batch)[:steps]:
        if s.keras is None:
            losses.append(s.model.train_step(s.x_train[idx], s.y_train[idx])[0])
        else:
            logs = s.model.train_on_batch(s.x_train[idx], s.y_train[idx], return_dict=True)
            losses.append(float(logs["loss"]))
    with results.atomic_file(out, "wb") as f:
        np.savez(f, outputs=outputs.astype("float32"), losses=np.array(losses, dtype="float64"))


def describe(models: list[str], out: Path) -> None:
    """Parameters and FLOPs of each model, built for the dataset its recipe names."""
    import keras

    described = {}
    for name in models:
        plugin = plugins.load("model", name)
        dataset = plugins.load("dataset", plugin.DEFAULTS.get("dataset", "mnist"))
        # The channel axis where keras.json's image data format puts it.
        empty = Split(np.zeros((0, *dataset.image_shape), "uint8"), np.zeros(0, "int64"))
        x, _ = prepare(empty, keras.backend.image_data_format(), dataset.num_classes, False)
        model = plugin.build(x.shape[1:], dataset.num_classes)
        described[name] = {
            "dataset": dataset.name,
            "parameters": model.count_params(),
            "forward_flops_per_image": modelinfo.forward_flops(keras, model),
        }
    results.write_text_atomic(out, json.dumps(described))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.worker", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="where to write the result")
    task = parser.add_mutually_exclusive_group(required=True)
    task.add_argument("--spec", help="the RunSpec as a JSON object")
    task.add_argument("--describe", nargs="+", metavar="MODEL", help="describe models")
    parser.add_argument("--parity", type=int, metavar="STEPS", help="run the parity probe")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--invocation", help="the `harness run` this run belongs to")
    args = parser.parse_args(argv)
    STOP.install()
    try:
        die_with_parent()
        if args.describe:
            describe(args.describe, args.out)
            return 0
        spec = RunSpec.from_dict(json.loads(args.spec))
        if args.parity:
            parity_probe(spec, args.parity, args.out)
            return 0
        files = results.RunFiles(args.out)
        try:
            result = train_and_evaluate(spec, files, args.quiet, args.invocation)
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
