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
import hashlib
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness.backends.base import Backend
from harness.commands import options, parity
from harness.commands.tune_search import (
    CandidateFailed,
    Choice,
    Measure,
    Parity,
    Search,
    Trial,
    search,
)
from harness.contract.spec import Impl, RunSpec, System
from harness.contract.task import WorkerTask
from harness.launch import cpus, process
from harness.origin import fingerprint, provenance
from harness.record import places, results, store, tuning
from harness.summary import numerics, timing_figures

# A parity probe's training steps: the tolerances judge the first 10.
PARITY_STEPS = 10


def _spec(base: RunSpec, choice: Choice, source: str) -> RunSpec:
    return dataclasses.replace(base, tuning=tuple(choice.items()), tuning_source=source)


def _unplaced(reason: str, base: RunSpec) -> str:
    """A failure's reason for the tuning record: its local folders as placeholders."""
    return places.unplaced(reason, places.local_folders(base))


def measurer(base: RunSpec, folder: Path, invocation: str) -> Measure:
    """One round: the candidate's and the best's steady step, each a fresh worker of the
    speed profile; the best runs first in even rounds, the candidate in odd ones, so that
    a drift of the machine within a round falls on both alike."""

    def step_of(choice: Choice) -> float:
        out = folder / f"{uuid.uuid4().hex}.json"
        spec = _spec(base, choice, "a tune candidate")
        outcome = process.launch(WorkerTask(out, spec, quiet=True, invocation=invocation))
        if outcome is None:
            raise KeyboardInterrupt
        if outcome.result is None:
            raise CandidateFailed(_unplaced(outcome.reason or "the run failed", base))
        step = timing_figures.step_s(outcome.result)
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


def parity_check(base: RunSpec, default: Choice) -> Parity:
    """A candidate's parity probe against the defaults' (probed once): the largest
    differences of its untrained outputs and first steps' losses, judged by the parity
    tolerances."""
    defaults: list[numerics.Probe] = []
    label = System("default"), System("candidate")
    # The probe's steps, whatever a measuring run's (`--steps`) are.
    base = dataclasses.replace(base, steps=PARITY_STEPS)

    def check(candidate: Choice) -> tuning.ParityCheck:
        try:
            if not defaults:
                defaults.append(
                    parity.probe(label[0], _spec(base, default, "the defaults"), PARITY_STEPS)
                )
            probe = parity.probe(label[1], _spec(base, candidate, "a tune candidate"), PARITY_STEPS)
        except parity.ProbeFailed as e:
            return tuning.ParityCheck(
                PARITY_STEPS,
                None,
                None,
                None,
                numerics.PARITY_TOLERANCES,
                False,
                error=_unplaced(str(e), base),
            )
        [pair] = numerics.parity(dict(zip(label, (defaults[0], probe), strict=True)))
        return tuning.ParityCheck(
            steps=PARITY_STEPS,
            forward_max_abs=pair.forward_max_abs,
            loss_rel_max=pair.loss_rel_max,
            first_step_beyond=pair.first_step_beyond,
            tolerances=numerics.PARITY_TOLERANCES,
            within=pair.within_tolerance,
        )

    return check


def previous(folder: Path, backend: str, machine_id: str) -> tuning.TuningRecord | None:
    """The tuning record this machine already has for `backend` (any framework versions:
    it only orders the candidates), or None."""
    file = tuning.path(folder, backend, machine_id)
    if not file.is_file():
        return None
    try:
        return tuning.read(file)
    except results.ResultError as e:
        print(f"warning: {e}: the candidates are ordered by a first pass", file=sys.stderr)
        return None


def history_of(record: tuning.TuningRecord | None) -> dict[tuple[str, str], float]:
    """Each candidate's step ratio in a previous record: its rounds', else its first
    pass's (an interrupted or short tune's first passes still order the next one)."""
    found = {}
    for t in record.trials if record else []:
        if t.ratio is not None:
            found[t.knob, t.value] = t.ratio
        elif t.first_pass:
            found[t.knob, t.value] = t.first_pass[0] / t.first_pass[1]
    return found


def tune_backend(backend: Backend, args: argparse.Namespace) -> tuple[tuning.TuningRecord, Path]:
    given = {k: v for k in ("threads", "steps", "batch_size") if (v := getattr(args, k))}
    base = RunSpec.from_profile(
        backend.name, "speed", seed=1, data_dir=args.data_dir, impl=Impl.KERAS,
        **options.subject(args).fields, **given,
    )  # fmt: skip
    unusable, space = {}, []
    for knob in backend.tuning_space:
        if args.knobs and knob.name not in args.knobs:
            continue
        values = []
        for label, setting in knob.values.items():
            why = backend.unusable(setting, base.threads)
            if why:
                unusable[f"{knob.name}={label}"] = why
                print(f"==> {backend.name}: {knob.name}={label} not tried: {why}")
            else:
                values.append(label)
        if len(values) > 1:
            space.append((knob.name, values))
    default = {name: values[0] for name, values in space}
    machine = fingerprint.fingerprint()
    before = previous(args.results / "tuning", backend.name, machine.machine_id)
    history = history_of(before)
    if before is not None and before.interrupted:
        print(
            f"==> {backend.name}: the previous tune here was interrupted; what it measured "
            f"orders the candidates ({len(history)} of them), whose rounds start again",
            flush=True,
        )
    print(
        f"==> {backend.name}: {len(space)} knobs, {args.budget:g} minutes at most, "
        f"{base.steps} steps a run; candidates ordered by "
        + ("this machine's previous tuning record" if history else "a first-pass round each"),
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        found: Search = search(
            space,
            measurer(base, Path(tmp), store.new_invocation_id()),
            parity_check(base, default),
            budget_s=60 * args.budget,
            history=history,
            progress=lambda line: print(f"==> {backend.name}: {line}", flush=True),
        )
    record = tuning.TuningRecord(
        backend=backend.name,
        machine_id=machine.machine_id,
        fingerprint=machine,
        versions=backend.versions(),
        code=provenance.code(base.model, model_path=base.model_path),
        created=store.utc_now(),
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


def _trial_record(t: Trial) -> tuning.TrialRecord:
    interval = t.interval
    return tuning.TrialRecord(
        knob=t.knob,
        value=t.value,
        candidate=t.candidate,
        against=t.against,
        expected=t.expected,
        expected_from=t.expected_from,
        first_pass=list(t.first_pass) if t.first_pass else None,
        parity=t.parity,
        rounds=[list(r) for r in t.rounds],
        ratio=interval.geomean if interval else None,
        low=interval.low if interval else None,
        high=interval.high if interval else None,
        verdict=t.verdict,
        kept=t.kept,
        why=t.why,
    )


def main(args: argparse.Namespace) -> int:
    backends = [b for b in options.backends(args) if b.tuning_space]
    if not backends:
        print("error: none of these backends has anything to tune", file=sys.stderr)
        return 2
    knobs = {k.name for b in backends for k in b.tuning_space}
    unknown = sorted(set(args.knobs or ()) - knobs)
    if unknown:
        print(
            f"error: no knob {', '.join(unknown)} on these backends; their knobs: "
            f"{', '.join(sorted(knobs))}",
            file=sys.stderr,
        )
        return 2
    folder = args.results / "tuning"
    options.writable(folder)
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    with cpus.only_one(f"tune-{key}") as alone:
        if not alone:
            print(
                f"error: another `harness tune` is writing to {folder} on this host; wait "
                "for it to end (two at once would time each other's runs, and the second "
                "would overwrite the first's records)",
                file=sys.stderr,
            )
            return 2
        return _tune(backends, args)


def _tune(backends: list[Backend], args: argparse.Namespace) -> int:
    """Each backend tuned in turn, its record written; 130 when interrupted."""
    began = time.monotonic()
    for backend in backends:
        record, path = tune_backend(backend, args)
        chosen = ", ".join(f"{k}={v}" for k, v in record.chosen.items() if record.default[k] != v)
        kept = record.kept
        parity_text = f", parity {kept.parity.text()}" if kept and kept.parity else ""
        print(
            f"==> {backend.name}: {chosen or 'the defaults'}{parity_text} "
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
        "--knobs",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated: tune only these knobs, the others at their defaults "
        "(default: every knob; `python -m harness list` names them)",
    )
    p.add_argument(
        "--budget",
        type=options.budget_minutes,
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
