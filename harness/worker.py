"""Runs ONE cell in this process, whose backend was fixed by the parent's environment.

    python -m harness.worker --spec '<RunSpec as JSON>' --out results/runs/<run_id>.json

The parent (`harness.cli`) sets KERAS_BACKEND and the thread variables before this
interpreter starts; keras is imported here and nowhere in the parent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness import environment, plugins, results, timing
from harness.backends import resolve
from harness.config import ConfigError, RunSpec, available_cpus
from harness.datasets.base import DatasetError, Split, prepare


def train_and_evaluate(spec: RunSpec, run_id: str) -> results.RunResult:
    # Pin first: thread pools created during the imports below size themselves from it.
    os.sched_setaffinity(0, available_cpus()[: spec.threads])
    backend = resolve(spec.backend)
    sections = timing.Sections()
    with sections("import_s"):
        threads = backend.configure(spec.threads)
        import keras
    if keras.backend.backend() != backend.name:
        raise RuntimeError(
            f"keras loaded the {keras.backend.backend()!r} backend, not {backend.name!r}: "
            "start the worker through `python -m harness run`, which sets KERAS_BACKEND"
        )

    dataset = plugins.load("dataset", spec.dataset)()
    model_plugin = plugins.load("model", spec.model)
    recipe = dict(model_plugin.DEFAULTS)
    recipe["epochs"] = spec.epochs or recipe["epochs"]
    recipe["batch_size"] = spec.batch_size or recipe["batch_size"]

    with sections("data_load_s"):
        loaded = dataset.load(spec.data_dir)
        available = len(loaded.train.y)
        train_images = spec.train_images or available
        if train_images > available:
            raise ConfigError(
                f"train_images must be <= {available} (the {dataset.name} training set), "
                f"got {train_images}"
            )
        if spec.data_format:
            keras.config.set_image_data_format(spec.data_format)
        data_format = keras.config.image_data_format()
        one_hot = recipe["loss"] == "categorical_crossentropy"
        train = Split(loaded.train.x[:train_images], loaded.train.y[:train_images])
        x_train, y_train = prepare(train, data_format, dataset.num_classes, one_hot)
        x_test, y_test = prepare(loaded.test, data_format, dataset.num_classes, one_hot)

    keras.utils.set_random_seed(spec.seed)
    with sections("build_s"):
        model = model_plugin.build(x_train.shape[1:], dataset.num_classes)
        model.compile(
            optimizer=keras.optimizers.deserialize(recipe["optimizer"]),
            loss=recipe["loss"],
            metrics=["accuracy"],
        )

    epochs = timing.Laps()

    class EpochClock(keras.callbacks.Callback):
        # Keras turns the epoch's logs into Python floats before on_epoch_end, so the
        # backend has finished the epoch's work when the lap stops.
        def on_epoch_begin(self, epoch, logs=None):
            epochs.start()

        def on_epoch_end(self, epoch, logs=None):
            epochs.stop()

    history = model.fit(
        x_train,
        y_train,
        batch_size=recipe["batch_size"],
        epochs=recipe["epochs"],
        verbose=2,
        callbacks=[EpochClock()],
    )
    with sections("evaluate_s"):
        test_loss, test_accuracy = model.evaluate(
            x_test, y_test, batch_size=recipe["batch_size"], verbose=0
        )

    recipe.update(
        train_images=train_images,
        test_images=len(y_test),
        data_format=data_format,
        jit_compile=model.jit_compile,
        parameters=model.count_params(),
        data_source=loaded.source,
    )
    libraries = {"keras": keras.__version__, "numpy": sys.modules["numpy"].__version__}
    return results.RunResult(
        run_id=run_id,
        created=results.utc_now(),
        spec=spec.to_dict(),
        recipe=recipe,
        environment=environment.capture({**libraries, **backend.versions()}, threads),
        timings={**sections.seconds, "epochs_s": epochs.samples},
        metrics={
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
        },
        memory={"peak_rss_mib": timing.peak_rss_mib()},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.worker", description=__doc__)
    parser.add_argument("--spec", required=True, help="the RunSpec as a JSON object")
    parser.add_argument("--out", required=True, type=Path, help="where to write the result")
    args = parser.parse_args(argv)
    try:
        spec = RunSpec.from_dict(json.loads(args.spec))
        result = train_and_evaluate(spec, run_id=args.out.stem)
    except (ConfigError, DatasetError, plugins.PluginError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results.write(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
