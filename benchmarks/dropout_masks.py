"""What the harness's dropout masks cost a training step: the seed model's steady step
with Keras's own masks and with the harness's (harness/worker/dropout_masks.py), from
the same weights, on one backend, in ROUNDS alternating rounds of STEPS timed steps each
(after one untimed step per model: tracing, compilation). Prints each model's median
step in seconds and their ratio (harness over Keras's), as JSON. Run it on an idle
machine; the figures of a busy one mean nothing.

    KERAS_BACKEND=torch python benchmarks/dropout_masks.py STEPS ROUNDS [BATCH]
"""

import json
import statistics
import sys
import time

import keras
import numpy as np

from harness.worker import dropout_masks
from models import mnist_cnn

steps, rounds = int(sys.argv[1]), int(sys.argv[2])
batch = int(sys.argv[3]) if len(sys.argv) > 3 else mnist_cnn.DEFAULTS["batch_size"]
rng = np.random.default_rng(1)
x = rng.random((batch, 28, 28, 1), dtype=np.float32)
y = keras.utils.to_categorical(rng.integers(0, 10, batch), 10)

models = {}
for masks in ("keras", "harness"):
    keras.utils.set_random_seed(1)
    model = mnist_cnn.build((28, 28, 1), 10)
    if masks == "harness":
        dropout_masks.replace(keras, model, seed=1)
        model.set_weights(models["keras"].get_weights())
    model.compile(keras.optimizers.Adadelta(1.0), "categorical_crossentropy")
    model.train_on_batch(x, y)
    models[masks] = model

samples: dict[str, list[float]] = {masks: [] for masks in models}
for r in range(rounds):
    for masks in list(models)[r % 2 :] + list(models)[: r % 2]:  # the order alternates
        for _ in range(steps):
            start = time.perf_counter()
            float(models[masks].train_on_batch(x, y))  # a float: the step has finished
            samples[masks].append(time.perf_counter() - start)

medians = {f"{masks}_step_s": statistics.median(s) for masks, s in samples.items()}
medians["ratio"] = medians["harness_step_s"] / medians["keras_step_s"]
print(json.dumps({"backend": keras.backend.backend(), "batch": batch, **medians}))
