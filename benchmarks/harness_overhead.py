"""Does the harness cost anything? The same training (the seed model, batch 500, the
first IMAGES MNIST images, EPOCHS epochs) as a plain Keras script of one fit() call
(`plain_keras.py`) and through `python -m harness run` on its default path (identical
starting points, the harness's batch order), alternately, in fresh processes with the
same thread budget and CPUs.

Each round prints the fit() wall time of both and their ratio, both processes' whole
wall time, and the difference part by part: what both do (import, data load, build,
fit) and what the harness alone does (initial weights, the matmul peak, evaluation,
prediction, latency, saving, the parent process), so that it adds up exactly. The
rounds, their medians and the commit go to results/overhead/<backend>.json.

    tox exec -e jax -- python benchmarks/harness_overhead.py --backend jax

Run it in a backend's own environment (here tox's `jax`), from a clean commit, with
nothing else busy. Exit status 1 if the median fit() ratio exceeds --limit (1.03).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the harness of this checkout, not an installed copy

from harness import plugins  # noqa: E402
from harness.backends import resolve  # noqa: E402
from harness.config import available_cpus  # noqa: E402
from harness.record import provenance, results, schema  # noqa: E402

# What both processes do, as (label, plain script's parts, harness's phases).
COMMON = (
    ("import", ("import_s",), ("import_s",)),
    ("data load", ("data_load_s",), ("data_load_s",)),
    ("build and compile", ("build_s",), ("build_s", "compile_s")),
    ("fit()", ("fit_s",), ("fit_s",)),
)
# What the harness alone does.
HARNESS_ONLY = (
    ("initial weights", "init_s"),
    ("matmul peak", "peak_s"),
    ("evaluation", "evaluate_s"),
    ("prediction", "predict_s"),
    ("latency", "latency_s"),
    ("saving", "save_s"),
    ("unaccounted", "unaccounted_s"),
)


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(command[:4])} ... failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def plain(backend: str, npz: Path, images: int, epochs: int, threads: int) -> dict:
    """The plain script's parts, and its process's wall time, start to exit."""
    env = {**os.environ, **resolve(backend).env(threads), "PYTHONPATH": str(ROOT)}
    cpus = ",".join(map(str, available_cpus()[:threads]))
    script = str(ROOT / "benchmarks" / "plain_keras.py")
    command = ["taskset", "-c", cpus, sys.executable, script, str(npz), str(images), str(epochs)]
    wall, out = _timed(command, env)
    parts = json.loads(out.splitlines()[-1])
    return {"process_s": wall, "parts": parts, "rest_s": wall - sum(parts.values())}


def harness(backend: str, data_dir: Path, images: int, epochs: int, threads: int) -> dict:
    """The harness's phases, and the wall time of `python -m harness run`, start to exit."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "harness", "run", "--backend", backend, "--data-dir",
            str(data_dir), "--train-images", str(images), "--epochs", str(epochs),
            "--threads", str(threads), "--results", tmp, "--no-report", "--quiet",
        ]  # fmt: skip
        wall, _ = _timed(command, {**os.environ, "PYTHONPATH": str(ROOT)})
        [path] = results.runs_dir(tmp).glob("*.json")
        t = results.read(path).timings
    parts = {k: t[k] for k in (*schema.PHASES, "unaccounted_s") if k != "interpreter_s"}
    # The parent process, and the worker's interpreter before its first phase.
    return {"process_s": wall, "parts": parts, "rest_s": wall - sum(parts.values())}


def explain(p: dict, h: dict) -> list[tuple[str, float]]:
    """The harness's process wall time minus the plain one's, part by part."""
    out = [(label, sum(h["parts"][k] for k in hs) - sum(p["parts"][k] for k in ps))
           for label, ps, hs in COMMON]  # fmt: skip
    out += [(label, h["parts"][k]) for label, k in HARNESS_ONLY]
    out.append(("interpreters, parent process", h["rest_s"] - p["rest_s"]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", required=True)
    p.add_argument("--rounds", type=int, default=3, help="plain/harness pairs (default 3)")
    p.add_argument("--images", type=int, default=10000, help="training images (10,000)")
    p.add_argument("--epochs", type=int, default=3, help="epochs (3)")
    p.add_argument("--threads", type=int, default=len(available_cpus()))
    p.add_argument("--data-dir", default=os.environ.get("HARNESS_DATA_DIR"))
    p.add_argument("--limit", type=float, default=1.03)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "overhead")
    args = p.parse_args(argv)
    backend = resolve(args.backend).name
    mnist = plugins.load("dataset", "mnist")()
    npz = next((c for c in mnist.candidates(args.data_dir) if mnist.missing(c) is None), None)
    if npz is None:
        p.error("no mnist.npz found: give --data-dir (or set HARNESS_DATA_DIR)")
    git = provenance.code(root=ROOT)  # the checkout's: its harness runs here
    rounds = []
    for i in range(args.rounds):
        # Alternate which one goes first, so that a drift in the machine cancels out.
        order = ("plain", "harness") if i % 2 == 0 else ("harness", "plain")
        measured = {}
        for kind in order:
            if kind == "plain":
                measured[kind] = plain(backend, npz, args.images, args.epochs, args.threads)
            else:
                measured[kind] = harness(
                    backend, npz.parent, args.images, args.epochs, args.threads
                )
        pl, ha = measured["plain"], measured["harness"]
        ratio = ha["parts"]["fit_s"] / pl["parts"]["fit_s"]
        parts = explain(pl, ha)
        rounds.append({"first": order[0], "plain": pl, "harness": ha, "fit_ratio": ratio,
                       "difference_s": dict(parts)})  # fmt: skip
        print(
            f"{backend} round {i + 1} ({order[0]} first): fit() plain "
            f"{pl['parts']['fit_s']:.2f} s, harness {ha['parts']['fit_s']:.2f} s: ratio "
            f"{ratio:.3f}; whole process plain {pl['process_s']:.2f} s, harness "
            f"{ha['process_s']:.2f} s (+{ha['process_s'] - pl['process_s']:.2f} s: "
            + ", ".join(f"{label} {s:+.2f}" for label, s in parts)
            + ")",
            flush=True,
        )
    medians = {
        "fit_ratio": statistics.median(r["fit_ratio"] for r in rounds),
        "plain_fit_s": statistics.median(r["plain"]["parts"]["fit_s"] for r in rounds),
        "harness_fit_s": statistics.median(r["harness"]["parts"]["fit_s"] for r in rounds),
        "plain_process_s": statistics.median(r["plain"]["process_s"] for r in rounds),
        "harness_process_s": statistics.median(r["harness"]["process_s"] for r in rounds),
        "difference_s": {
            label: statistics.median(r["difference_s"][label] for r in rounds)
            for label in rounds[0]["difference_s"]
        },
    }
    ok = medians["fit_ratio"] <= args.limit
    print(
        f"{backend}: median fit() ratio harness / plain {medians['fit_ratio']:.3f} "
        f"({args.rounds} rounds): {'ok' if ok else f'ABOVE the limit {args.limit}'}; "
        f"median whole process plain {medians['plain_process_s']:.2f} s, harness "
        f"{medians['harness_process_s']:.2f} s"
    )
    record = {
        "backend": backend,
        "git": dataclasses.asdict(git) if git else None,
        "images": args.images,
        "epochs": args.epochs,
        "threads": args.threads,
        "limit": args.limit,
        "versions": resolve(backend).versions(),
        "rounds": rounds,
        "medians": medians,
    }
    out = args.out / f"{backend}.json"
    results.write_text_atomic(out, json.dumps(record, indent=2) + "\n")
    print(f"written: {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
