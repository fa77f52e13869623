from __future__ import annotations

from harness.backends.base import Backend, Tuning


class TorchBackend(Backend):
    name = "torch"
    module = "torch"
    extra = "torch"
    distributions = ("torch",)
    tox_env = "torch"
    tuning = Tuning(
        data_format="channels_first",
        jit_compile=True,
        why=(
            "profile of a steady step: 19 % in copies (Keras permutes channels_last to "
            "torch's NCHW around every convolution and pooling), 17 % convolution backward, "
            "18 % the optimizer's per-variable element-wise ops",
            "channels_first with jit_compile=True (torch.compile): 0.88x the default step "
            "time, at 20-45 s of compilation in the first epoch; either alone: 1.06x, 0.98x",
        ),
    )

    def configure(self, threads: int, deterministic: bool, tuned: bool) -> dict[str, object]:
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
