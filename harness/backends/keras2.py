"""Keras 2 (the `tf_keras` package) on TensorFlow: the seed model's own system, an
anchor row of the report (how much of Keras 3's time on TensorFlow is Keras 3's).

The worker runs the same model plugin file as on every other backend: this plugin puts
tf_keras in `sys.modules["keras"]` before the model is imported, so the model's `import
keras` finds Keras 2; Keras 2 then reads keras.json and handles the image data format
itself. tf_keras's metadata requires the `tensorflow` package, which would install a
second TensorFlow beside tensorflow-cpu: it is installed without its dependencies
(`pip install --no-deps tf_keras==2.21.0`), and the record says what it runs on.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

from harness.backends.base import Tuning
from harness.backends.tensorflow import TensorflowBackend

PIN = "tf_keras==2.21.0"


class Keras2Backend(TensorflowBackend):
    name = "keras2"
    aliases = ("tf_keras",)
    module = "tf_keras"
    extra = "tensorflow"
    distributions = ("tf_keras", "tensorflow", "tensorflow-cpu")
    tox_env = "keras2"
    anchor_of = "tensorflow"
    # Keras 2 compiles with XLA only when asked (its default None); it would take
    # Keras 3's "auto" for a yes.
    jit_compile_default = False
    # An anchor row runs as the seed's own system did: nothing to tune.
    tuning_space = ()

    @property
    def keras_backend(self) -> str:
        return "tensorflow"

    def install_command(self) -> str:
        return f"{super().install_command()} && pip install --no-deps {PIN}"

    def framework_env(self, threads: int) -> dict[str, str]:
        # tf.keras is tf_keras too, should anything reach Keras through TensorFlow.
        return {**super().framework_env(threads), "TF_USE_LEGACY_KERAS": "1"}

    def configure(
        self, threads: int, deterministic: bool, tuning: Tuning | None
    ) -> dict[str, object]:
        return {**super().configure(threads, deterministic, tuning), "tf_keras": installed_how()}

    def keras(self) -> Any:
        import tf_keras

        sys.modules["keras"] = tf_keras
        return tf_keras


def installed_how() -> str:
    """How tf_keras sits beside TensorFlow, for the record: on the `tensorflow` package its
    metadata requires, or (that package absent) installed without its dependencies on
    tensorflow-cpu."""
    version = importlib.metadata.version("tf_keras")
    wanted = [
        r for r in importlib.metadata.requires("tf_keras") or [] if r.startswith("tensorflow")
    ]
    for dist, how in (
        ("tensorflow", "with its dependencies"),
        ("tensorflow-cpu", "without its dependencies (pip --no-deps; tensorflow is not installed)"),
    ):
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        return f"tf_keras {version} (requires {', '.join(wanted)}) {how}, on {dist} {found}"
    return f"tf_keras {version} without TensorFlow"
