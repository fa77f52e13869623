from __future__ import annotations

import os
import sys

from harness.backends.base import Backend, Tuning


class JaxBackend(Backend):
    name = "jax"
    module = "jax"
    extra = "jax"
    distributions = ("jax", "jaxlib")
    tox_env = "jax"
    asynchronous = True
    tuning = Tuning(
        code=(
            "max-pooling gradient by argmax instead of XLA's select_and_scatter",
            "convolution kernel gradient by shifted matrix products instead of XLA's "
            "backward-filter convolution",
        ),
        why=(
            "profile of a steady step (2 cores): conv2's kernel gradient 39 % plus 10 % of "
            "transposes feeding it, max pooling forward and backward 19 %, conv2 forward "
            "19 %; XLA's plain matrix multiply is as fast as MKL's",
            "both gradients replaced: a steady 10,000-image epoch took 13.6 s against 25.9 s "
            "(0.53x; 0.49x in a second round) on an idle 2-core machine, same loss to 5 "
            "digits; the max-pool gradient alone gave 0.88x on a busy one; a full seed run: "
            "88.6 s against 185.5 s a 60,000-image epoch (0.48x)",
            "no effect (within 3 %): XLA_FLAGS xla_cpu_use_onednn, xla_cpu_use_xnnpack, "
            "xla_cpu_use_thunk_runtime=false, xla_cpu_enable_fast_math and the YNN/XNN/oneDNN "
            "fusion types; channels_first 1.07x slower; rbg PRNGs fail with Keras's seeds",
            "what is left is XLA's own conv2 forward, which no flag changes: 3.7x "
            "TensorFlow's epoch, against 7.3x at the defaults",
        ),
    )

    def framework_env(self, threads: int) -> dict[str, str]:
        # XLA's CPU thread pool is sized from the CPUs the process may use, so the
        # worker's CPU affinity is what limits JAX; there is no thread-count flag.
        return {"JAX_PLATFORMS": "cpu"}

    def configure(self, threads: int, deterministic: bool, tuned: bool) -> dict[str, object]:
        import jax

        settings: dict[str, object] = {
            "devices": [str(d) for d in jax.devices()],
            # XLA has determinism flags for GPUs only; on CPU there is nothing to switch.
            "determinism": "no control exists on CPU" if deterministic else "off",
        }
        if tuned:
            import keras

            from harness.backends import jax_ops

            settings["tuned_ops"] = jax_ops.install(keras.__version__)
            if settings["tuned_ops"][0].startswith("none:"):
                print(f"warning: {settings['tuned_ops'][0]}", file=sys.stderr)
        return settings

    def kernels(self) -> dict[str, str]:
        # XLA:CPU picks its kernels from XLA_FLAGS alone (oneDNN, XNNPACK or its own).
        return {"XLA_FLAGS": os.environ.get("XLA_FLAGS", "none")}

    def after_training(self) -> dict[str, object]:
        from harness.backends import jax_ops

        return {"tuned_calls": dict(jax_ops.CALLS)} if any(jax_ops.CALLS.values()) else {}
