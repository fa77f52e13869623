from __future__ import annotations

from harness.backends.base import Backend


class JaxBackend(Backend):
    name = "jax"
    module = "jax"
    extra = "jax"
    distributions = ("jax", "jaxlib")
    tox_env = "jax"

    def framework_env(self, threads: int) -> dict[str, str]:
        # XLA's CPU thread pool is sized from the CPUs the process may use, so the
        # worker's CPU affinity is what limits JAX; there is no thread-count flag.
        return {"JAX_PLATFORMS": "cpu"}

    def configure(self, threads: int, deterministic: bool) -> dict[str, object]:
        import jax

        return {
            "devices": [str(d) for d in jax.devices()],
            # XLA has determinism flags for GPUs only; on CPU there is nothing to switch.
            "determinism": "no control exists on CPU" if deterministic else "off",
        }
