from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness.backends.base import (
    MALLOC,
    THP,
    THREADS,
    Backend,
    Knob,
    OpTimes,
    Setting,
    Tuning,
    add_op,
)

# Intel's documented route to oneDNN for XLA:CPU: its experimental custom calls, with
# XLA's own oneDNN rewriting, XNNPACK and YNN fusions off so that they do not claim the
# same ops first. An unknown flag aborts XLA: `unusable` checks them in this jaxlib.
ONEDNN_CUSTOM_CALLS = (
    "--xla_cpu_experimental_onednn_custom_call=true --xla_cpu_use_onednn=false "
    "--xla_cpu_experimental_ynn_fusion_type=invalid --xla_cpu_use_xnnpack=false"
)


class JaxBackend(Backend):
    name = "jax"
    module = "jax"
    extra = "jax"
    distributions = ("jax", "jaxlib")
    tox_env = "jax"
    asynchronous = True
    tuning_space = (
        Knob(
            "xla",
            {
                "default": Setting(),
                "onednn custom calls": Setting(env={"XLA_FLAGS": ONEDNN_CUSTOM_CALLS}),
            },
            "XLA:CPU's convolutions and matrix products as oneDNN custom calls",
        ),
        Knob(
            "pool_grad",
            {"keras": Setting(), "harness": Setting(code=("max_pool",))},
            "the harness's max-pooling gradient (harness/backends/jax_ops.py) instead of "
            "XLA's select_and_scatter",
        ),
        Knob(
            "conv_grad",
            {"keras": Setting(), "harness": Setting(code=("conv",))},
            "the harness's convolution-kernel gradient (harness/backends/jax_ops.py) "
            "instead of XLA's backward-filter convolution",
        ),
        MALLOC,
        THP,
        THREADS,
    )
    # What the earlier, hand-measured profile used (an Intel Xeon, Nov 25).
    fallback = {"pool_grad": "harness", "conv_grad": "harness"}

    def framework_env(self, threads: int) -> dict[str, str]:
        # XLA's CPU thread pool is sized from the CPUs the process may use, so the
        # worker's CPU affinity is what limits JAX; there is no thread-count flag.
        return {"JAX_PLATFORMS": "cpu"}

    def configure(
        self, threads: int, deterministic: bool, tuning: Tuning | None
    ) -> dict[str, object]:
        import jax

        settings: dict[str, object] = {
            "devices": [str(d) for d in jax.devices()],
            # XLA has determinism flags for GPUs only; on CPU there is nothing to switch.
            "determinism": "no control exists on CPU" if deterministic else "off",
        }
        if tuning and tuning.code:
            import keras

            from harness.backends import jax_ops

            ops = jax_ops.install(keras.__version__, tuning.code)
            settings["tuned_ops"] = ops
            if ops[0].startswith("none:"):
                print(f"warning: {ops[0]}", file=sys.stderr)
        return settings

    def unusable(self, setting: Setting, threads: int) -> str | None:
        """An XLA flag this jaxlib does not know aborts XLA at its first computation: try
        one in a process of its own."""
        if "XLA_FLAGS" not in setting.env:
            return super().unusable(setting, threads)
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": setting.env["XLA_FLAGS"]}
        code = "import jax.numpy as jnp; jnp.ones(2).sum().block_until_ready()"
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode == 0:
            return None
        lines = done.stderr.strip().splitlines()
        return f"XLA refuses XLA_FLAGS={setting.env['XLA_FLAGS']!r}: " + (
            lines[-1] if lines else f"exit status {done.returncode}"
        )

    def kernels(self) -> dict[str, str]:
        # XLA:CPU picks its kernels from XLA_FLAGS alone (oneDNN, XNNPACK or its own).
        return {"XLA_FLAGS": os.environ.get("XLA_FLAGS", "none")}

    def after_training(self) -> dict[str, object]:
        from harness.backends import jax_ops

        return {"tuned_calls": dict(jax_ops.CALLS)} if any(jax_ops.CALLS.values()) else {}

    def profile_ops(self, steps: Callable[[], None], folder: Path) -> OpTimes:
        import jax

        with jax.profiler.trace(str(folder), create_perfetto_trace=True):
            steps()
        ops: dict[str, tuple[float, int]] = {}
        for path in sorted(folder.rglob("perfetto_trace.json.gz")):
            trace = json.loads(gzip.decompress(path.read_bytes()))
            events = trace["traceEvents"] if isinstance(trace, dict) else trace
            for event in events:
                # XLA:CPU's thunks name the HLO instruction each one runs (microseconds).
                args = event.get("args") or {}
                if event.get("ph") == "X" and "hlo_op" in args:
                    name = f"{args.get('hlo_module', '?')}/{args['hlo_op']}"
                    add_op(ops, name, event.get("dur", 0) / 1e6)
        return OpTimes("jax.profiler: each XLA instruction, as HLO module/instruction", ops)
