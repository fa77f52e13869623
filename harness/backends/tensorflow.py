from __future__ import annotations

from harness.backends.base import Backend, Tuning


class TensorflowBackend(Backend):
    name = "tensorflow"
    aliases = ("tf",)
    module = "tensorflow"
    extra = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu")
    tox_env = "tf"
    tuning = Tuning(
        why=(
            "the defaults are the fastest found (a steady 10,000-image epoch: 3.55 s on an "
            "idle 2-core machine): jit_compile=True (XLA) made a step 4.2x slower, as slow "
            "as JAX, whose convolutions XLA:CPU also compiles",
        ),
    )

    def framework_env(self, threads: int) -> dict[str, str]:
        n = str(threads)
        return {
            "TF_NUM_INTRAOP_THREADS": n,
            "TF_NUM_INTEROP_THREADS": n,
            # INFO and WARNING lines about CPU instructions and oneDNN on every start.
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }

    def configure(self, threads: int, deterministic: bool, tuned: bool) -> dict[str, object]:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        return {
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "determinism": "tf.config.experimental.enable_op_determinism()"
            if deterministic
            else "off",
        }
