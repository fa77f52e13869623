from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from harness.backends.base import (
    MALLOC,
    THP_TUNABLE,
    THREADS,
    Backend,
    Feed,
    Knob,
    OpTimes,
    Setting,
    Tuning,
)


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
    tuning_space = (
        MALLOC,
        Knob(
            "format",
            {"keras.json": Setting(), "channels_first": Setting(data_format="channels_first")},
            "images as torch's NCHW, so that Keras permutes nothing around each convolution",
        ),
        Knob(
            "compile",
            {"eager": Setting(), "torch.compile": Setting(jit_compile=True)},
            "jit_compile=True: torch.compile, which compiles during the first steps",
        ),
        Knob(
            "thp",
            {"off": Setting(), "on": Setting(env={"THP_MEM_ALLOC_ENABLE": "1", **THP_TUNABLE})},
            "torch's CPU allocator and glibc's malloc on transparent huge pages (where the "
            "kernel lets a process ask)",
        ),
        THREADS,
    )
    # What `tune` kept in the speed campaign (commit 135dd63, an AMD EPYC, Dec 2026):
    # 0.55x [0.48-0.63] the default step, outputs and losses bit for bit; channels_first
    # and torch.compile, the hand-measured choice before (an Intel Xeon, commit 0987193),
    # were no faster there, and torch.compile needs a C++ compiler and minutes to compile.
    fallback = {"malloc": "no mmap"}

    def kernels(self) -> dict[str, str]:
        import torch

        return {
            # The widest vector ISA ATen dispatches its CPU kernels for (AVX2, AVX512).
            "CPU capability": torch.backends.cpu.get_cpu_capability(),
            "oneDNN": "available" if torch.backends.mkldnn.is_available() else "absent",
            "MKL": "available" if torch.backends.mkl.is_available() else "absent",
        }

    def configure(
        self, threads: int, deterministic: bool, tuning: Tuning | None
    ) -> dict[str, object]:
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

    def profile_ops(self, steps: Callable[[], None], folder: Path) -> OpTimes:
        import torch

        activities = [torch.profiler.ProfilerActivity.CPU]
        with torch.profiler.profile(activities=activities) as profiled:
            steps()
        ops = {
            e.key: (e.self_cpu_time_total / 1e6, e.count)
            for e in profiled.key_averages()
            if e.self_cpu_time_total > 0
        }
        return OpTimes("torch.profiler: each ATen op and autograd function, its self CPU time", ops)
