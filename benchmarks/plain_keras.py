"""The seed model trained by a plain Keras script, as a user would write it: the
yardstick of harness_overhead.py. Prints the epoch times as JSON.

    KERAS_BACKEND=jax python benchmarks/plain_keras.py MNIST_NPZ IMAGES EPOCHS
"""

import json
import sys
import time

import keras
import numpy as np

from models import mnist_cnn

path, images, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with np.load(path) as data:
    x = data["x_train"][:images, :, :, None].astype("float32") / 255
    y = keras.utils.to_categorical(data["y_train"][:images], 10)
keras.utils.set_random_seed(1)
model = mnist_cnn.build((28, 28, 1), 10)
model.compile(keras.optimizers.Adadelta(1.0), "categorical_crossentropy", metrics=["accuracy"])
epoch_s = []


class EpochTimes(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        epoch_s.append(time.perf_counter() - self.start)


model.fit(x, y, batch_size=500, epochs=epochs, verbose=0, callbacks=[EpochTimes()])
print(json.dumps(epoch_s))
