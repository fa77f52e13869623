from __future__ import annotations

from harness.backends.base import Backend


class TorchBackend(Backend):
    name = "torch"
    module = "torch"
    extra = "torch"
    distributions = ("torch",)
    tox_env = "torch"

    def configure(self, threads: int, deterministic: bool) -> dict[str, object]:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        if deterministic:
            torch.use_deterministic_algorithms(True)
        return {
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "determinism": "torch.use_deterministic_algorithms(True)" if deterministic else "off",
        }
