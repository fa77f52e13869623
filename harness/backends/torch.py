from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.backends.base import Backend, Feed, Tuning


class DataLoaderFeed(Feed):
    """The batches as a torch DataLoader whose items are whole batches, each gathered by
    its position in the plan from tensors made once: how Keras feeds arrays to torch.
    Fed from Python (a keras PyDataset, commit 0987193), which Keras reads through a
    DataLoader over a generator converting each numpy batch, it was about 5 % slower. A
    batch is noted when the DataLoader gathers it, under its position (Keras's look at
    the first batch gathers position 0 once more, with the same indices)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> None:
        import torch

        served: dict[int, np.ndarray] = {}
        self._served = served
        xs, ys = torch.from_numpy(x), torch.from_numpy(y)

        class Gather(torch.utils.data.Dataset):
            def __getitem__(self, position: int) -> tuple:
                idx = batches[position]
                served[position] = idx
                rows = torch.from_numpy(idx)
                return xs[rows], ys[rows]

            def __len__(self) -> int:
                return len(batches)

        # batch_size=None: each item is already a batch, nothing to collate.
        self.data = torch.utils.data.DataLoader(Gather(), batch_size=None, shuffle=False)


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
            "channels_first with jit_compile=True (torch.compile): a steady 10,000-image "
            "epoch took 8.15 s against 8.88 s (0.92x, both rounds) on an idle 2-core machine, "
            "and prediction of 500 images 84 ms against 192 ms; compiling makes the first "
            "epoch 24 s instead of 9 s; three alternating rounds of 20,000 images gave "
            "0.82x, 0.86x and 0.92x (a full seed run 50 minutes after its default: 1.04x, "
            "while the machine slowed)",
            "on a busy machine either alone gave 1.06x (channels_first) and 0.98x (compile); "
            "OMP_WAIT_POLICY=PASSIVE gave 0.69x there but 1.06-1.13x idle, so it is not used",
        ),
    )

    def kernels(self) -> dict[str, str]:
        import torch

        return {
            # The widest vector ISA ATen dispatches its CPU kernels for (AVX2, AVX512).
            "CPU capability": torch.backends.cpu.get_cpu_capability(),
            "oneDNN": "available" if torch.backends.mkldnn.is_available() else "absent",
            "MKL": "available" if torch.backends.mkl.is_available() else "absent",
        }

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

    def feed(self, x: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray]) -> Feed:
        return DataLoaderFeed(x, y, batches)
