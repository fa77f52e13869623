"""The seed model trained by a plain Keras script, as a user would write it: one fit()
call on arrays, Keras's own shuffling. The yardstick of harness_overhead.py; prints the
seconds of each of its parts as JSON.

    KERAS_BACKEND=jax python benchmarks/plain_keras.py MNIST_NPZ IMAGES EPOCHS
"""

import json
import sys
import time

start = time.perf_counter()
import keras  # noqa: E402
import numpy as np  # noqa: E402

from models import mnist_cnn  # noqa: E402

seconds = {"import_s": time.perf_counter() - start}
path, images, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

start = time.perf_counter()
with np.load(path) as data:
    x = data["x_train"][:images, :, :, None].astype("float32") / 255
    y = keras.utils.to_categorical(data["y_train"][:images], 10)
seconds["data_load_s"] = time.perf_counter() - start

start = time.perf_counter()
keras.utils.set_random_seed(1)
model = mnist_cnn.build((28, 28, 1), 10)
model.compile(keras.optimizers.Adadelta(1.0), "categorical_crossentropy", metrics=["accuracy"])
seconds["build_s"] = time.perf_counter() - start

start = time.perf_counter()
model.fit(x, y, batch_size=500, epochs=epochs, verbose=0)
seconds["fit_s"] = time.perf_counter() - start
print(json.dumps(seconds))
