"""`python -m harness run | report | parity | list`.

`run` and `parity` start one worker process per backend; this process never imports keras.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness import plugins, report, reproducibility, results
from harness.backends import all_backends, resolve
from harness.backends.base import Backend
from harness.config import DATA_FORMATS, INIT_MODES, PROFILES, ConfigError, RunSpec

# RunSpec fields that command-line options set directly.
SPEC_OPTIONS = (
    "model", "dataset", "threads", "epochs", "batch_size", "train_images", "data_format",
    "data_dir", "init", "deterministic",
)  # fmt: skip


def _writable(directory: Path) -> None:
    """Fail now, not after an hour of training, if results cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise ConfigError(f"results folder {directory} is not writable: {e}") from e


def _backends(names: str) -> list[Backend]:
    """The named backends, refused together with install hints if any is missing."""
    backends = [resolve(name) for name in names.split(",") if name]
    if not backends:
        raise ConfigError("--backend names no backend")
    missing = [b for b in backends if not b.installed()]
    if missing:
        raise ConfigError("; ".join(b.install_hint() for b in missing))
    return backends


def _specs(args: argparse.Namespace, backends: list[Backend]) -> list[RunSpec]:
    plugins.check_name("model", args.model)
    plugins.check_name("dataset", args.dataset)
    overrides = {k: v for k, v in vars(args).items() if k in SPEC_OPTIONS and v is not None}
    return [
        RunSpec.from_profile(b.name, args.profile, seed=seed, **overrides)
        for b in backends
        for seed in args.seeds
    ]


def start_worker(spec: RunSpec, out: Path, *extra: str) -> int:
    """Run `python -m harness.worker` for `spec` in a fresh process; its exit status."""
    env = {**os.environ, **resolve(spec.backend).env(spec.threads)}
    command = [sys.executable, "-m", "harness.worker", "--spec", json.dumps(spec.to_dict())]
    return subprocess.call([*command, "--out", str(out), *extra], env=env)


def cmd_run(args: argparse.Namespace) -> int:
    backends = _backends(args.backend)
    specs = _specs(args, backends)
    _writable(results.runs_dir(args.results))

    failed = []
    for spec in specs:
        for _ in range(args.repeat):
            print(
                f"==> {spec.backend}: {spec.model} on {spec.dataset}, profile {spec.profile}, "
                f"seed {spec.seed}, init {spec.init}, {spec.threads} threads",
                flush=True,
            )
            run_id = results.new_run_id(
                spec.backend, spec.model, spec.dataset, spec.profile, spec.seed
            )
            out = results.runs_dir(args.results) / f"{run_id}.json"
            if start_worker(spec, out) != 0 or not out.is_file():
                failed.append(f"{spec.backend} (seed {spec.seed})")
                print(f"==> {spec.backend}: FAILED (its output is above)", flush=True)
                continue
            r = results.read(out)
            print(
                f"==> {spec.backend}: test accuracy {100 * r.metrics['test_accuracy']:.2f} %, "
                f"{sum(r.timings['epochs_s']):.1f} s training; {out}",
                flush=True,
            )
    if not args.no_report:
        for path in report.write_report(args.results):
            print(f"report: {path}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    backends = _backends(args.backend)
    if len(backends) < 2:
        raise ConfigError("parity compares backends: name two or more with --backend")
    args.init, args.profile, args.seeds = "harness", "seed", [args.seed]
    specs = _specs(args, backends)
    _writable(args.results)
    probes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            print(f"==> parity probe on {spec.backend}, {args.steps} steps", flush=True)
            out = Path(tmp) / f"{spec.backend}.npz"
            if start_worker(spec, out, "--parity", str(args.steps)) != 0:
                print(f"error: the parity probe failed on {spec.backend}", file=sys.stderr)
                return 1
            with np.load(out) as f:
                probes[spec.backend] = {"outputs": f["outputs"], "losses": f["losses"]}
    record = {
        "spec": {k: v for k, v in specs[0].to_dict().items() if k != "backend"},
        "steps": args.steps,
        "tolerances": reproducibility.PARITY_TOLERANCES,
        "losses": {b: p["losses"].tolist() for b, p in probes.items()},
        "pairs": reproducibility.parity(probes),
    }
    path = Path(args.results) / "parity.json"
    results.write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    print(report.parity_text(record))
    print(f"parity: {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    for path in report.write_report(args.results):
        print(f"report: {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print("backends:")
    for b in all_backends():
        alias = f" (alias {', '.join(b.aliases)})" if b.aliases else ""
        state = "installed" if b.installed() else f"not installed: tox -e {b.tox_env}"
        print(f"  {b.name}{alias}: {state}")
    print("models:\n" + "".join(f"  {n}\n" for n in plugins.names("model")), end="")
    print("datasets:\n" + "".join(f"  {n}\n" for n in plugins.names("dataset")), end="")
    profiles = "".join(f"  {p.name}: {p.description}\n" for p in PROFILES.values())
    print("profiles:\n" + profiles, end="")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected integers >= 0 like 1,2,3, got {text!r}")
    return seeds


def _cell_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `parity`: what is trained, on what, how."""
    p.add_argument(
        "--backend", required=True, help="comma-separated, e.g. tf,jax,torch (tf = tensorflow)"
    )
    p.add_argument("--model", default="mnist_cnn")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--threads", type=_positive_int, help="CPU threads (default: all available)")
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--train-images", type=_positive_int, help="use the first N training images")
    p.add_argument(
        "--data-format", choices=DATA_FORMATS, help="default: keras.json (channels_last)"
    )
    p.add_argument("--data-dir", help="where the dataset files are (or set HARNESS_DATA_DIR)")
    p.add_argument("--results", type=Path, default=Path("results"))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate on one or more backends")
    _cell_options(run)
    run.add_argument(
        "--profile",
        default="seed",
        choices=sorted(PROFILES),
        help="seed: the published recipe; quick: 1 epoch on 6,000 images",
    )
    run.add_argument("--seeds", type=_seeds, default=[1], help="e.g. 1,2,3 (default 1)")
    run.add_argument("--repeat", type=_positive_int, default=1, help="runs per backend and seed")
    run.add_argument("--epochs", type=_positive_int)
    run.add_argument(
        "--init",
        choices=INIT_MODES,
        help="harness (default): the same initial weights and batch order on every backend; "
        "keras: each backend's own initialisation and shuffling",
    )
    run.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="turn on each backend's determinism controls",
    )
    run.add_argument("--no-report", action="store_true", help="do not rebuild the report")
    run.set_defaults(func=cmd_run)

    parity = sub.add_parser(
        "parity", help="compare backends' numerics from the same weights, with dropout off"
    )
    _cell_options(parity)
    parity.add_argument("--seed", type=int, default=1, help="seed of the weights and batches")
    parity.add_argument("--steps", type=_positive_int, default=50, help="training steps (50)")
    parity.set_defaults(func=cmd_parity)

    rep = sub.add_parser("report", help="rebuild REPORT.md and summary.csv from result files")
    rep.add_argument("--results", type=Path, default=Path("results"))
    rep.set_defaults(func=cmd_report)

    lst = sub.add_parser("list", help="list backends, models, datasets and profiles")
    lst.set_defaults(func=cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, plugins.PluginError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
