"""The seed model trained by a plain Keras script: one fit() call and nothing around it
(no callbacks, clocks, stop checks, evaluation or record). The yardstick of
harness_overhead.py; prints the seconds of each of its parts as JSON.

FEED is what fit() is given. `harness`: the batches the harness gives it, in its batch
order (seed 1), fed by the backend plugin's `feed()` with steps_per_epoch, and the
dropout masks it draws (harness/worker/dropout_masks.py), as harness/worker/trainers.py
does, so that the two processes differ in what the harness adds and not in what fit()
trains. `arrays`: the arrays, Keras's own shuffling and masks, as a user would write it;
on TensorFlow a different input pipeline, which README's overhead section explains.

    KERAS_BACKEND=jax python benchmarks/plain_keras.py MNIST_NPZ IMAGES EPOCHS FEED
"""

import json
import sys
import time

start = time.perf_counter()
import keras  # noqa: E402
import numpy as np  # noqa: E402

from harness.backends import resolve  # noqa: E402
from harness.worker import dropout_masks, starting_points  # noqa: E402
from models import mnist_cnn  # noqa: E402

seconds = {"import_s": time.perf_counter() - start}
path, images, epochs, feed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if feed not in ("harness", "arrays"):
    sys.exit(f"FEED must be harness or arrays, got {feed!r}")
batch = mnist_cnn.DEFAULTS["batch_size"]

start = time.perf_counter()
with np.load(path) as data:
    x = data["x_train"][:images, :, :, None].astype("float32") / 255
    y = keras.utils.to_categorical(data["y_train"][:images], 10)
seconds["data_load_s"] = time.perf_counter() - start

start = time.perf_counter()
keras.utils.set_random_seed(1)
model = mnist_cnn.build((28, 28, 1), 10)
if feed == "harness":
    dropout_masks.replace(keras, model, 1)
model.compile(keras.optimizers.Adadelta(1.0), "categorical_crossentropy", metrics=["accuracy"])
seconds["build_s"] = time.perf_counter() - start

start = time.perf_counter()
if feed == "arrays":
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
else:
    # Made inside the clock, as the harness makes its feed inside its fit() phase.
    plan = starting_points.batch_plan(1, epochs, len(x), batch)
    data = resolve(keras.backend.backend()).feed(x, y, plan).data
    model.fit(data, steps_per_epoch=len(plan) // epochs, shuffle=False, epochs=epochs, verbose=0)
seconds["fit_s"] = time.perf_counter() - start
print(json.dumps(seconds))
