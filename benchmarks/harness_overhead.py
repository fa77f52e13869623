"""Does the harness cost anything? The same training (the seed model, batch 500, the
first IMAGES MNIST images, EPOCHS epochs) as a plain Keras script of one fit() call
(`plain_keras.py`, fed and masked as the harness's fit() is unless --plain-feed arrays) and
through `python -m harness run` (identical starting points, the harness's batch order;
its speed profile unless --profile seed), in fresh processes with the same environment,
thread budget and CPUs, in rounds: each round runs both, the first of one round goes
second in the next (plain, harness, harness, plain, ...), so that a steady drift of the
machine falls on both alike.

Each round prints the fit() wall time of both and their ratio, both processes' whole
wall time, and the difference part by part: what both do (import, data load, build,
fit) and what the harness alone does (the evaluations after each epoch, which its fit()
phase holds and its fit() here leaves out, initial weights, the matmul peak, evaluation,
prediction, latency, saving, the parent process), so that it adds up exactly.

After --rounds rounds (4), it adds rounds two at a time (each process first once) until
the fit() ratio (harness / plain: the geometric mean of the rounds' ratios) has a 95 %
interval within 1 ± --band (0.03: [0.97, 1.03]), the aim, or wholly outside it, or
--max-rounds (16) are run, and says which. It writes the record
(harness/record/overhead.py: the rounds, the ratio, why it stopped, the commit, the
environment and the machine's fingerprint, as a run records them) to OUT/<backend>.json,
results/overhead/ unless --out says otherwise.

    tox exec -e jax -- python benchmarks/harness_overhead.py --backend jax

Run it in a backend's own environment (here tox's `jax`), from a clean commit, with
nothing else busy; a smoke run with a few images goes elsewhere (--out /tmp/...).
Exit status 1 unless the interval ends within the aim.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness of this checkout, not an installed copy

from harness.backends import resolve  # noqa: E402
from harness.contract import plugins  # noqa: E402
from harness.contract.spec import available_cpus  # noqa: E402
from harness.origin import fingerprint, provenance  # noqa: E402
from harness.record import overhead, store  # noqa: E402
from harness.record.results import RunResult  # noqa: E402
from harness.summary import stats  # noqa: E402
from harness.worker import environment  # noqa: E402


def order(round_index: int) -> tuple[str, str]:
    """Which process runs first in round `round_index` (from 0): plain, then harness,
    by turns (plain harness, harness plain: ABBA), as `harness run --rounds` rotates its
    cells; over each pair of rounds both take each place once."""
    return overhead.KINDS if round_index % 2 == 0 else overhead.KINDS[::-1]


def _timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(command[:4])} ... failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def plain(npz: Path, images: int, epochs: int, feed: str) -> overhead.Plain:
    """The plain script's parts, and its process's wall time, start to exit."""
    script = str(ROOT / "benchmarks" / "plain_keras.py")
    wall, out = _timed([sys.executable, script, str(npz), str(images), str(epochs), feed])
    return overhead.Plain(process_s=wall, **json.loads(out.splitlines()[-1]))


def harness(
    backend: str, data_dir: Path, images: int, epochs: int, threads: int, profile: str
) -> overhead.Harness:
    """The harness's phases, and the wall time of `python -m harness run`, start to exit."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "harness", "run", "--backend", backend, "--data-dir",
            str(data_dir), "--profile", profile, "--train-images", str(images), "--epochs",
            str(epochs), "--threads", str(threads), "--results", tmp, "--no-report", "--quiet",
        ]  # fmt: skip
        wall, _ = _timed(command)
        [path] = store.runs_dir(tmp).glob("*.json")
        return phases(store.read(path), wall)


def phases(record: RunResult, process_s: float) -> overhead.Harness:
    """A run record's phases by the same names; the worker's interpreter before its first
    phase is left to `rest_s`, as the plain script's is. Its fit() phase holds the
    evaluations after each epoch, which a plain fit() does not make: their own part. A
    phase its profile skips (the speed profile's prediction and latency) took 0 s."""
    t, per_epoch = record.timings, record.metrics.per_epoch
    epoch_evaluations = sum(per_epoch.evaluate_s) if per_epoch else 0.0
    names = [f.name for f in dataclasses.fields(overhead.Harness) if f.metadata.get("part")]
    parts = {name: getattr(t, name) or 0.0 for name in names if name != "epoch_evaluations_s"}
    parts |= {"fit_s": t.fit_s - epoch_evaluations, "epoch_evaluations_s": epoch_evaluations}
    return overhead.Harness(process_s=process_s, **parts)


def differences(r: overhead.Round) -> dict[str, float]:
    """The harness's process wall time minus the plain one's, part by part: what both
    do, what the harness alone does, and what no part covers; they add up to the whole."""
    p, h = r.plain, r.harness
    return {
        "import": h.import_s - p.import_s,
        "data load": h.data_load_s - p.data_load_s,
        "build and compile": h.build_s + h.compile_s - p.build_s,
        "fit()": h.fit_s - p.fit_s,
        "epoch evaluations": h.epoch_evaluations_s,
        "initial weights": h.init_s,
        "matmul peak": h.peak_s,
        "evaluation": h.evaluate_s,
        "prediction": h.predict_s,
        "latency": h.latency_s,
        "saving": h.save_s,
        "unaccounted": h.unaccounted_s,
        "interpreters, parent process": h.rest_s - p.rest_s,
    }


def fit_ratio(rounds: list[overhead.Round]) -> overhead.Interval | None:
    """fit() harness / plain: the geometric mean of the rounds' ratios, each round's
    pair measured side by side, with its 95 % interval; None for a single round."""
    found = stats.ratio_interval([r.fit_ratio for r in rounds])
    if found is None:
        return None
    return overhead.Interval(geomean=found.geomean, low=found.low, high=found.high)


def settled(ratio: overhead.Interval | None, band: float) -> str | None:
    """Whether the fit() ratio's interval lies within 1 ± band ("within") or wholly
    outside it ("outside"); None while it reaches across a bound (or there is none)."""
    if ratio is None:
        return None
    if 1 - band <= ratio.low and ratio.high <= 1 + band:
        return "within"
    if ratio.high < 1 - band or ratio.low > 1 + band:
        return "outside"
    return None


def measure(
    run_round: Callable[[int], overhead.Round], first: int, most: int, band: float
) -> tuple[list[overhead.Round], str]:
    """`first` rounds, then two more at a time (so that each process goes first as often)
    until the fit() ratio is settled against 1 ± band or `most` rounds are run; the rounds
    and why they stopped (overhead.STOPS)."""
    rounds = [run_round(i) for i in range(first)]
    while (found := settled(fit_ratio(rounds), band)) is None and len(rounds) < most:
        rounds += [run_round(len(rounds)), run_round(len(rounds) + 1)]
    return rounds, found or "round limit"


def verdict(ratio: overhead.Interval, band: float, stopped: str, rounds: int) -> str:
    aim = f"[{1 - band:.2f}, {1 + band:.2f}]"
    if stopped == "within":
        return f"within {aim} after {rounds} rounds"
    if stopped == "outside":
        side = "ABOVE" if ratio.low > 1 + band else "BELOW"
        return f"{side} {aim} after {rounds} rounds"
    return f"not settled against {aim}: the round limit ({rounds}) was hit"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", required=True)
    p.add_argument(
        "--rounds", type=int, default=4, help="the first rounds, an even number: each "
        "process goes first in half of them (default 4)",
    )  # fmt: skip
    p.add_argument(
        "--max-rounds", type=int, default=16, help="the round limit, an even number "
        "(default 16): rounds are added two at a time until the interval is settled",
    )  # fmt: skip
    p.add_argument("--images", type=int, default=10000, help="training images (10,000)")
    p.add_argument("--epochs", type=int, default=3, help="epochs (3)")
    p.add_argument("--threads", type=int, default=len(available_cpus()))
    p.add_argument("--data-dir", default=os.environ.get("HARNESS_DATA_DIR"))
    p.add_argument(
        "--band", type=float, default=0.03,
        help="the aim: the fit() ratio's 95 %% interval within 1 ± BAND (default 0.03)",
    )  # fmt: skip
    p.add_argument(
        "--plain-feed", choices=overhead.FEEDS, default="harness",
        help="what the plain script's fit() is given: the harness's batches as its backend "
        "plugin feeds them, and its dropout masks (default: the ratio measures the "
        "harness), or arrays with Keras's shuffling and masks (the ratio includes the input "
        "pipeline's and the masks' differences)",
    )  # fmt: skip
    p.add_argument(
        "--profile", choices=overhead.PROFILES, default="speed",
        help="the harness run's profile, with the images and epochs above: speed (default: "
        "no evaluation after each epoch, and a check of 1,000 test images after fit()) or "
        "seed (the default path: the test set predicted after each epoch, taken out of "
        "its fit() as their own part, then the full evaluation, prediction and latency); "
        "both clock fit()'s steps alike",
    )  # fmt: skip
    p.add_argument(
        "--out", type=Path, default=ROOT / "results" / "overhead",
        help="the record's folder (default results/overhead)",
    )  # fmt: skip
    args = p.parse_args(argv)
    for name, value in (("--rounds", args.rounds), ("--max-rounds", args.max_rounds)):
        if value < 2 or value % 2:
            p.error(f"{name} must be even, so that each process goes first as often, got {value}")
    if args.max_rounds < args.rounds:
        p.error(f"--max-rounds must be >= --rounds ({args.rounds}), got {args.max_rounds}")
    if not 0 < args.band < 1:
        p.error(f"--band must be > 0 and < 1, got {args.band}")
    backend = resolve(args.backend)
    mnist = plugins.load("dataset", "mnist")()
    npz = next((c for c in mnist.candidates(args.data_dir) if mnist.missing(c) is None), None)
    if npz is None:
        p.error("no mnist.npz found: give --data-dir (or set HARNESS_DATA_DIR)")
    git = provenance.code(root=ROOT)  # the checkout's: its harness runs here
    # Both processes start from this one: the backend's variables (threads, flags), set
    # before either loads its framework, and the run's CPUs. The record's environment is
    # this process's, so it lists what the two ran with.
    os.environ.update({**backend.env(args.threads), "PYTHONPATH": str(ROOT)})
    os.sched_setaffinity(0, available_cpus()[: args.threads])
    run = {
        "plain": lambda: plain(npz, args.images, args.epochs, args.plain_feed),
        "harness": lambda: harness(
            backend.name, npz.parent, args.images, args.epochs, args.threads, args.profile
        ),
    }

    def run_round(i: int) -> overhead.Round:
        first, second = order(i)
        measured = {kind: run[kind]() for kind in (first, second)}
        r = overhead.Round(first=first, plain=measured["plain"], harness=measured["harness"])
        print(
            f"{backend.name} round {i + 1} ({first} first): fit() plain {r.plain.fit_s:.2f} s, "
            f"harness {r.harness.fit_s:.2f} s: ratio {r.fit_ratio:.3f}; whole process plain "
            f"{r.plain.process_s:.2f} s, harness {r.harness.process_s:.2f} s "
            f"(+{r.harness.process_s - r.plain.process_s:.2f} s: "
            + ", ".join(f"{label} {s:+.2f}" for label, s in differences(r).items())
            + ")",
            flush=True,
        )
        return r

    rounds, stopped = measure(run_round, args.rounds, args.max_rounds, args.band)
    ratio = fit_ratio(rounds)
    # After the rounds: the backend's kernels are read by importing its framework, which
    # must not share the machine with them.
    libraries = {
        name: importlib.metadata.version(name) for name in ("numpy", "keras")
    } | backend.versions()
    env = environment.capture(libraries, backend.kernels())
    record = overhead.OverheadRecord(
        backend=backend.name,
        created=store.utc_now(),
        images=args.images,
        epochs=args.epochs,
        threads=args.threads,
        band=args.band,
        plain_feed=args.plain_feed,
        profile=args.profile,
        git=git,
        environment=dataclasses.replace(env, git=None),  # the record's `git`, once
        machine=fingerprint.fingerprint(),
        rounds=rounds,
        fit_ratio=ratio,
        max_rounds=args.max_rounds,
        stopped=stopped,
    )
    per_round = [differences(r) for r in rounds]
    median = {k: statistics.median(d[k] for d in per_round) for k in per_round[0]}
    print(
        f"{backend.name}: fit() harness / plain {ratio.geomean:.3f} [{ratio.low:.3f}–"
        f"{ratio.high:.3f}] (geometric mean of {len(rounds)} rounds, 95 % interval): "
        f"{verdict(ratio, args.band, stopped, len(rounds))}; median whole process plain "
        f"{statistics.median(r.plain.process_s for r in rounds):.2f} s, harness "
        f"{statistics.median(r.harness.process_s for r in rounds):.2f} s (median difference "
        + ", ".join(f"{label} {s:+.2f}" for label, s in median.items())
        + ")"
    )
    print(f"written: {overhead.write(record, args.out)}")
    return 0 if stopped == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
