"""`python -m harness parity`: the same model, weights and batches on each backend (and
each anchor), dropout off; each probe is a worker that returns the untrained outputs and
the first steps' losses, compared here within `reproducibility.PARITY_TOLERANCES`. The
record it makes is versioned like a run's (`results.PARITY_SCHEMA_VERSION`). This
process never imports keras.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from harness import environment, launcher, reproducibility, results
from harness.backends import resolve
from harness.config import RunSpec


class ProbeFailed(RuntimeError):
    """A probe's worker failed; the message says where and why."""


def measure(specs: dict[str, tuple[RunSpec, str | None]], steps: int) -> dict:
    """The parity record of `specs` (probe label -> its spec, and the label of the Keras 3
    probe it anchors, or None), each probed for `steps` training steps."""
    probes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (spec, _) in specs.items():
            print(f"==> parity probe on {label}, {steps} steps", flush=True)
            out = Path(tmp) / f"{label.replace(' ', '-')}.npz"
            code, tail = launcher.start_worker(spec, out, "--parity", str(steps))
            if code != 0:
                reason = launcher.failure_reason(code, tail)
                raise ProbeFailed(f"the parity probe failed on {label}: {reason}")
            with np.load(out) as f:
                probes[label] = {"outputs": f["outputs"], "losses": f["losses"]}
    return {
        "kind": "parity",
        "schema_version": results.PARITY_SCHEMA_VERSION,
        "created": results.utc_now(),
        "git": dataclasses.asdict(git) if (git := environment.git_commit()) else None,
        "libraries": {label: resolve(s.backend).versions() for label, (s, _) in specs.items()},
        "spec": {
            k: v
            for k, v in next(iter(specs.values()))[0].to_dict().items()
            if k not in ("backend", "impl")
        },
        "steps": steps,
        "tolerances": reproducibility.PARITY_TOLERANCES,
        "losses": {label: p["losses"].tolist() for label, p in probes.items()},
        "pairs": reproducibility.parity(probes, {k: a for k, (_, a) in specs.items() if a}),
    }
