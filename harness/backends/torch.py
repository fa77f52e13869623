from __future__ import annotations

from harness.backends.base import Backend


class TorchBackend(Backend):
    name = "torch"
    module = "torch"
    extra = "torch"
    tox_env = "torch"

    def configure(self, threads: int) -> dict[str, object]:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        return {
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
        }

    def versions(self) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}
