"""`python -m harness run | report | list`.

`run` starts one worker process per backend and never imports keras itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import plugins, report, results
from harness.backends import all_backends, resolve
from harness.config import DATA_FORMATS, PROFILES, ConfigError, RunSpec


def _writable(directory: Path) -> None:
    """Fail now, not after an hour of training, if results cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise ConfigError(f"results folder {directory} is not writable: {e}") from e


def run_one(spec: RunSpec, results_dir: Path) -> Path | None:
    """Train and evaluate `spec` in a fresh worker process; the result's path, or None."""
    backend = resolve(spec.backend)
    run_id = results.new_run_id(spec.backend, spec.model, spec.dataset, spec.profile, spec.seed)
    out = results.runs_dir(results_dir) / f"{run_id}.json"
    env = {**os.environ, **backend.env(spec.threads)}
    command = [
        sys.executable,
        "-m",
        "harness.worker",
        "--spec",
        json.dumps(spec.to_dict()),
        "--out",
        str(out),
    ]
    code = subprocess.call(command, env=env)
    return out if code == 0 and out.is_file() else None


def cmd_run(args: argparse.Namespace) -> int:
    backends = [resolve(name) for name in args.backend.split(",") if name]
    if not backends:
        raise ConfigError("--backend names no backend")
    plugins.check_name("model", args.model)
    plugins.check_name("dataset", args.dataset)
    missing = [b for b in backends if not b.installed()]
    if missing:
        raise ConfigError("; ".join(b.install_hint() for b in missing))
    overrides = {
        k: v
        for k, v in vars(args).items()
        if k
        in (
            "model",
            "dataset",
            "seed",
            "threads",
            "epochs",
            "batch_size",
            "train_images",
            "data_format",
            "data_dir",
        )
        and v is not None
    }
    specs = [RunSpec.from_profile(b.name, args.profile, **overrides) for b in backends]
    _writable(results.runs_dir(args.results))

    failed = []
    for spec in specs:
        print(
            f"==> {spec.backend}: {spec.model} on {spec.dataset}, profile {spec.profile}, "
            f"seed {spec.seed}, {spec.threads} threads",
            flush=True,
        )
        path = run_one(spec, args.results)
        if path is None:
            failed.append(spec.backend)
            print(f"==> {spec.backend}: FAILED (its output is above)", flush=True)
            continue
        r = results.read(path)
        print(
            f"==> {spec.backend}: test accuracy {100 * r.metrics['test_accuracy']:.2f} %, "
            f"{sum(r.timings['epochs_s']):.1f} s training; {path}",
            flush=True,
        )
    if not args.no_report:
        for path in report.write_report(args.results):
            print(f"report: {path}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
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
    print(
        "profiles:\n" + "".join(f"  {p.name}: {p.description}\n" for p in PROFILES.values()), end=""
    )
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate on one or more backends")
    run.add_argument(
        "--backend",
        required=True,
        help="comma-separated backends, e.g. tf,jax,torch (tf = tensorflow)",
    )
    run.add_argument("--model", default="mnist_cnn")
    run.add_argument("--dataset", default="mnist")
    run.add_argument(
        "--profile",
        default="seed",
        choices=sorted(PROFILES),
        help="seed: the published recipe; quick: 1 epoch on 6,000 images",
    )
    run.add_argument("--seed", type=int, default=None, help="random seed (default 1)")
    run.add_argument(
        "--threads",
        type=_positive_int,
        help="CPU threads for every backend (default: every CPU this process may use)",
    )
    run.add_argument("--epochs", type=_positive_int)
    run.add_argument("--batch-size", type=_positive_int)
    run.add_argument(
        "--train-images", type=_positive_int, help="train on the first N training images"
    )
    run.add_argument(
        "--data-format",
        choices=DATA_FORMATS,
        help="default: image_data_format from keras.json (channels_last)",
    )
    run.add_argument(
        "--data-dir", help="directory holding the dataset files (or set HARNESS_DATA_DIR)"
    )
    run.add_argument("--results", type=Path, default=Path("results"))
    run.add_argument("--no-report", action="store_true", help="do not regenerate the report")
    run.set_defaults(func=cmd_run)

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
