"""`python -m harness parity`: the same model, weights and batches on each backend (and
each anchor), dropout off; each probe is a worker that returns the untrained outputs and
the first steps' losses, compared here within `numerics.PARITY_TOLERANCES`. The
record it makes is typed and versioned like a run's (`harness.record.parity_record`). This
process never imports keras.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness.backends import resolve
from harness.commands import options
from harness.contract import native
from harness.contract.checks import check_data_dir
from harness.contract.spec import ConfigError, Impl, Init, RunSpec, System, system
from harness.contract.task import WorkerTask
from harness.launch import process
from harness.origin import provenance
from harness.record import parity_record, store
from harness.report import tables
from harness.summary import numerics


class ProbeFailed(RuntimeError):
    """A probe's worker failed; the message says where and why."""


def probe(label: System, spec: RunSpec, steps: int) -> numerics.Probe:
    """One probe: `spec`'s worker trained `steps` steps from the harness's starting
    point, dropout off; a ProbeFailed naming `label` if it failed."""
    print(f"==> parity probe on {label}, {steps} steps", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.npz"
        code, tail = process.start_worker(WorkerTask(out, spec, parity_steps=steps))
        if code != 0:
            reason = process.failure_reason(code, tail)
            raise ProbeFailed(f"the parity probe failed on {label}: {reason}")
        with np.load(out) as f:
            return numerics.Probe(outputs=f["outputs"], losses=f["losses"])


def measure(
    specs: dict[System, tuple[RunSpec, System | None]], steps: int
) -> parity_record.ParityRecord:
    """The parity record of `specs` (probe label -> its spec, and the label of the Keras 3
    probe it anchors, or None), each probed for `steps` training steps."""
    first = next(iter(specs.values()))[0]
    probes = {label: probe(label, spec, steps) for label, (spec, _) in specs.items()}
    return parity_record.ParityRecord(
        created=store.utc_now(),
        git=provenance.code(first.model, model_path=first.model_path),
        libraries={label: resolve(s.backend).versions() for label, (s, _) in specs.items()},
        spec={
            k: v for k, v in first.recorded_form().to_dict().items() if k not in ("backend", "impl")
        },
        steps=steps,
        tolerances=numerics.PARITY_TOLERANCES,
        losses={label: p.losses.tolist() for label, p in probes.items()},
        pairs=numerics.parity(probes, {k: a for k, (_, a) in specs.items() if a}),
    )


def probe_specs(args: argparse.Namespace) -> dict[System, tuple[RunSpec, System | None]]:
    """Probe label -> (its spec, the label of the Keras 3 probe it anchors, or None).
    The named backends run on Keras 3, each named one with a native implementation of
    the model natively too, and a Keras 2 backend beside Keras 3 on TensorFlow (added
    if not named), unless --no-anchors."""
    backends = options.backends(args)
    named = {b.name for b in backends}
    anchored = [b.anchor_of for b in backends if b.anchor_of and args.anchors]
    backends += [resolve(name) for name in anchored if name not in {b.name for b in backends}]
    args.init, args.profile, args.seeds = Init.HARNESS, "seed", [args.seed]
    specs: dict[System, tuple[RunSpec, System | None]] = {}
    for spec, b in zip(options.specs(args, backends), backends, strict=True):
        anchor_of = system(b.anchor_of, Impl.KERAS) if b.anchor_of and args.anchors else None
        specs[system(spec.backend, spec.impl)] = (spec, anchor_of)
    for label, (spec, _) in list(specs.items()):
        if args.anchors and spec.backend in named and native.exists(spec.model, spec.backend):
            twin = dataclasses.replace(spec, impl=Impl.NATIVE)
            specs[system(twin.backend, twin.impl)] = (twin, label)
    if len(specs) < 2:
        raise ConfigError(
            "parity compares two or more: name two backends with --backend, or one with a "
            "native implementation of the model"
        )
    return specs


def main(args: argparse.Namespace) -> int:
    specs = probe_specs(args)
    check_data_dir(args.data_dir)
    options.writable(args.results)
    try:
        record = measure(specs, args.steps)
    except ProbeFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    path = Path(args.results) / "parity.json"
    parity_record.write(record, path)
    print(tables.parity_text(record))
    print(f"parity: {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "parity", help="compare backends' numerics from the same weights, with dropout off"
    )
    options.cell_options(p)
    p.add_argument("--seed", type=options.seed, default=1, help="seed of the weights and batches")
    p.add_argument("--steps", type=options.positive_int, default=50, help="training steps (50)")
    p.add_argument(
        "--no-anchors",
        dest="anchors",
        action="store_false",
        help="compare the named backends on Keras 3 only: no native implementation, and "
        "Keras 2 without Keras 3 on TensorFlow beside it",
    )
    p.set_defaults(func=main)
