"""`python -m harness tune --backend tf,jax,torch`: each backend's tuning space measured on
this machine. Every candidate runs the speed profile (the seed recipe, a few dozen
steps) against the best settings so far, in interleaved rounds, and is kept only when it
is faster beyond the rounds' noise and its numerics pass the parity probe against the
defaults (`tune_search`). The result is a tuning record per backend and machine
(`harness.record.tuning`), which `run --settings tuned` uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness.backends.base import Backend
from harness.commands import options, parity
from harness.commands.tune_search import CandidateFailed, Choice, Measure, Search, search
from harness.config import Impl, RunSpec, System
from harness.launch import process
from harness.record import fingerprint, provenance, results, tuning
from harness.summary import speed

# A parity probe's training steps: the tolerances judge the first 10.
PARITY_STEPS = 10


def _spec(base: RunSpec, choice: Choice, source: str) -> RunSpec:
    return dataclasses.replace(base, tuning=tuple(choice.items()), tuning_source=source)


def measurer(base: RunSpec, folder: Path, invocation: str) -> Measure:
    """One round: the candidate's and the best's steady step, each a fresh worker of the
    speed profile; the best runs first in even rounds, the candidate in odd ones, so that
    a drift of the machine within a round falls on both alike."""

    def step_of(choice: Choice) -> float:
        out = folder / f"{uuid.uuid4().hex}.json"
        outcome = process.launch(
            _spec(base, choice, "a tune candidate"), out, invocation, "--quiet"
        )
        if outcome is None:
            raise KeyboardInterrupt
        if outcome.result is None:
            raise CandidateFailed(outcome.reason)
        step = speed.step_s(outcome.result)
        if step is None:
            raise CandidateFailed("the run recorded no steady step")
        return step

    def measure(candidate: Choice, best: Choice, index: int) -> tuple[float, float]:
        if index % 2 == 0:
            b = step_of(best)
            return step_of(candidate), b
        c = step_of(candidate)
        return c, step_of(best)

    return measure


def parity_check(base: RunSpec, default: Choice):
    """None if a candidate's first steps and untrained outputs agree with the defaults'
    within the parity tolerances, else what differs."""

    def check(candidate: Choice) -> str | None:
        probes = {
            System("default"): (_spec(base, default, "the defaults"), None),
            System("candidate"): (_spec(base, candidate, "a tune candidate"), System("default")),
        }
        try:
            [pair] = parity.measure(probes, PARITY_STEPS).pairs
        except parity.ProbeFailed as e:
            return str(e)
        if pair.within_tolerance:
            return None
        return (
            f"outputs differ by {pair.forward_max_abs:.1e}, losses by up to "
            f"{pair.loss_rel_max:.1e} (first beyond tolerance: step {pair.first_step_beyond})"
        )

    return check


def tune_backend(backend: Backend, args: argparse.Namespace) -> tuple[tuning.TuningRecord, Path]:
    given = {k: v for k in ("threads", "steps", "batch_size") if (v := getattr(args, k))}
    base = RunSpec.from_profile(
        backend.name, "speed", seed=1, data_dir=args.data_dir, impl=Impl.KERAS,
        **options.subject(args).fields, **given,
    )  # fmt: skip
    unusable, space = {}, []
    for knob in backend.tuning_space:
        values = []
        for label, setting in knob.values.items():
            why = backend.unusable(setting)
            if why:
                unusable[f"{knob.name}={label}"] = why
                print(f"==> {backend.name}: {knob.name}={label} cannot run here: {why}")
            else:
                values.append(label)
        if len(values) > 1:
            space.append((knob.name, values))
    default = {name: values[0] for name, values in space}
    print(
        f"==> {backend.name}: {len(space)} knobs, {args.budget:.0f} minutes at most; each "
        f"candidate against the best so far, {base.steps} steps a run",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        found: Search = search(
            space,
            measurer(base, Path(tmp), results.new_invocation_id()),
            parity_check(base, default),
            budget_s=60 * args.budget,
            progress=lambda line: print(f"==> {backend.name}: {line}", flush=True),
        )
    machine = fingerprint.fingerprint()
    record = tuning.TuningRecord(
        backend=backend.name,
        machine_id=machine.machine_id,
        fingerprint=machine,
        versions=backend.versions(),
        code=provenance.code(base.model, model_path=base.model_path),
        created=results.utc_now(),
        steps=base.steps or 0,
        threads=base.threads,
        budget_s=60 * args.budget,
        spent_s=found.spent_s,
        interrupted=found.interrupted,
        default=default,
        chosen=found.chosen,
        trials=[_trial_record(t) for t in found.trials],
        unusable=unusable,
    )
    return record, tuning.write(record, args.results / "tuning")


def _trial_record(t) -> tuning.TrialRecord:
    interval = t.interval
    return tuning.TrialRecord(
        knob=t.knob,
        value=t.value,
        candidate=t.candidate,
        against=t.against,
        rounds=[list(r) for r in t.rounds],
        ratio=interval.geomean if interval else None,
        low=interval.low if interval else None,
        high=interval.high if interval else None,
        kept=t.kept,
        why=t.why,
    )


def main(args: argparse.Namespace) -> int:
    backends = [b for b in options.backends(args) if b.tuning_space]
    if not backends:
        print("error: none of these backends has anything to tune", file=sys.stderr)
        return 2
    options.writable(args.results / "tuning")
    began = time.monotonic()
    for backend in backends:
        record, path = tune_backend(backend, args)
        chosen = ", ".join(f"{k}={v}" for k, v in record.chosen.items() if record.default[k] != v)
        print(
            f"==> {backend.name}: {chosen or 'the defaults'} "
            f"({record.spent_s / 60:.1f} minutes); {path}",
            flush=True,
        )
        if record.interrupted:
            print("==> interrupted: what was measured is kept", file=sys.stderr)
            return 130
    print(f"tune: {(time.monotonic() - began) / 60:.1f} minutes")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune", help="measure each backend's tuning space on this machine and keep what pays"
    )
    p.add_argument("--backend", required=True, help="comma-separated, e.g. tf,jax,torch")
    p.add_argument("--model", default="mnist_cnn", help="a model plugin, or path/to/model.py")
    p.add_argument("--dataset", default="mnist", help="a dataset plugin, or path/to/data.npz")
    p.add_argument("--threads", type=options.positive_int, help="CPU threads (default: all)")
    p.add_argument("--data-dir", help="where the dataset files are (or set HARNESS_DATA_DIR)")
    p.add_argument(
        "--steps",
        type=options.positive_int,
        help="training steps of a measuring run (default: the speed profile's 30)",
    )
    p.add_argument("--batch-size", type=options.positive_int, help="default: the recipe's")
    p.add_argument(
        "--budget",
        type=options.positive_float,
        default=10.0,
        help="minutes per backend (default 10): candidates that would not fit are not tried",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="the tuning records go to RESULTS/tuning/<backend>-<machine id>.json",
    )
    p.set_defaults(func=main)
