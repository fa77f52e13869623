"""Does the harness cost anything? The same training (the seed model, batch 500, the
first IMAGES MNIST images) as a plain Keras script and through `python -m harness run`,
alternately, in fresh processes with the same thread budget and CPUs; prints each
round's steady epoch medians and their ratio, and the median ratio per backend.

By default the harness runs with `--init keras`: one `fit` over all epochs with Keras's
own shuffling, the very call the plain script makes, so the ratio is the harness's own
cost (its process, its callbacks, a synchronised clock every step). `--init harness`
measures its default path instead: one `fit` per epoch on batches in numpy order.

    tox exec -e jax -- python benchmarks/harness_overhead.py --backend jax

Run it in a backend's own environment (here tox's `jax`), with nothing else busy.
Exit status 1 if a backend's median ratio exceeds --limit (1.03).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import plugins, results
from harness.backends import resolve
from harness.config import available_cpus

ROOT = Path(__file__).resolve().parent.parent


def plain(backend: str, npz: Path, images: int, epochs: int, threads: int) -> list[float]:
    env = {**os.environ, **resolve(backend).env(threads), "PYTHONPATH": str(ROOT)}
    cpus = ",".join(map(str, available_cpus()[:threads]))
    command = ["taskset", "-c", cpus, sys.executable, str(ROOT / "benchmarks" / "plain_keras.py")]
    done = subprocess.run(
        [*command, str(npz), str(images), str(epochs)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def harness(
    backend: str, data_dir: Path, images: int, epochs: int, threads: int, init: str
) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "harness", "run", "--backend", backend, "--data-dir",
             str(data_dir), "--train-images", str(images), "--epochs", str(epochs),
             "--threads", str(threads), "--init", init, "--results", tmp, "--no-report",
             "--quiet"],
            check=True,
        )  # fmt: skip
        [path] = results.runs_dir(tmp).glob("*.json")
        return results.read(path).timings["epochs_s"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", required=True)
    p.add_argument("--rounds", type=int, default=3, help="plain/harness pairs (default 3)")
    p.add_argument("--images", type=int, default=10000, help="training images (10,000)")
    p.add_argument("--epochs", type=int, default=4, help="epochs, the first not counted (4)")
    p.add_argument("--threads", type=int, default=len(available_cpus()))
    p.add_argument("--data-dir", default=os.environ.get("HARNESS_DATA_DIR"))
    p.add_argument("--init", choices=("keras", "harness"), default="keras")
    p.add_argument("--limit", type=float, default=1.03)
    args = p.parse_args(argv)
    backend = resolve(args.backend).name
    mnist = plugins.load("dataset", "mnist")()
    npz = next((c for c in mnist.candidates(args.data_dir) if mnist.missing(c) is None), None)
    if npz is None:
        p.error("no mnist.npz found: give --data-dir (or set HARNESS_DATA_DIR)")
    ratios = []
    for i in range(args.rounds):
        # Alternate which one goes first, so that a drift in the machine cancels out.
        order = ("plain", "harness") if i % 2 == 0 else ("harness", "plain")
        steady = {}
        for kind in order:
            if kind == "plain":
                epochs = plain(backend, npz, args.images, args.epochs, args.threads)
            else:
                epochs = harness(
                    backend, npz.parent, args.images, args.epochs, args.threads, args.init
                )
            steady[kind] = statistics.median(epochs[1:])
        ratios.append(steady["harness"] / steady["plain"])
        print(
            f"{backend} round {i + 1}: plain {steady['plain']:.3f} s, harness "
            f"{steady['harness']:.3f} s per steady epoch: ratio {ratios[-1]:.3f}",
            flush=True,
        )
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio <= args.limit else f"ABOVE the limit {args.limit}"
    print(
        f"{backend}: median ratio harness (init {args.init}) / plain {ratio:.3f} "
        f"({args.rounds} rounds): {verdict}"
    )
    return 0 if ratio <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
