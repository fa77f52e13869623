"""`python -m harness run | report | compare | parity | list`: parses the command line,
checks what it can before any work starts, and dispatches: `harness.matrix` runs the
runs (each a worker that `harness.launcher` starts), `harness.parity` probes and
`harness.listing` lists. This process never imports keras.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
import tempfile
from pathlib import Path

from harness import (
    compare,
    environment,
    executors,
    listing,
    matrix,
    native,
    parity,
    plugins,
    report,
    results,
    tables,
)
from harness.backends import resolve
from harness.backends.base import Backend
from harness.config import (
    DATA_FORMATS,
    IMPLS,
    INIT_MODES,
    MAX_SEED,
    PROFILES,
    ConfigError,
    RunSpec,
    system,
)

# RunSpec fields that command-line options set directly.
SPEC_OPTIONS = (
    "model", "dataset", "threads", "epochs", "batch_size", "train_images", "data_format",
    "data_dir", "init", "deterministic", "learning_rate", "impl",
)  # fmt: skip


def _writable(directory: Path, create: bool = True) -> None:
    """Fail now, not after an hour of training, if results cannot be written; with
    `create` False, a folder that does not exist (a typo) is refused, not made."""
    if not create and not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise ConfigError(f"results folder {directory} {what}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise ConfigError(f"results folder {directory} is not writable: {e}") from e


def _backends(args: argparse.Namespace) -> list[Backend]:
    """The named backends, after the model and dataset names are checked; refused
    together with install hints if any is not installed."""
    backends = [resolve(name) for name in args.backend.split(",") if name]
    plugins.check_name("model", args.model)
    plugins.check_name("dataset", args.dataset)
    if not backends:
        raise ConfigError("--backend names no backend")
    if getattr(args, "impl", None) == "native":
        for b in backends:
            native.check(args.model, b.name)
    environment.check_keras_json()
    missing = [b for b in backends if not b.installed()]
    if missing:
        raise ConfigError("; ".join(b.install_hint() for b in missing))
    return backends


def _specs(args: argparse.Namespace, backends: list[Backend]) -> list[RunSpec]:
    overrides = {k: v for k, v in vars(args).items() if k in SPEC_OPTIONS and v is not None}
    return [
        RunSpec.from_profile(b.name, args.profile, seed=seed, **overrides)
        for b in backends
        for seed in args.seeds
    ]


def _executor(args: argparse.Namespace, threads: int) -> executors.Executor:
    """The executor the options ask for; a Ray cluster is reached (and checked) here,
    before any run starts."""
    if args.executor != "ray":
        for given, option in ((args.address, "--address"), (args.exclusive, "--exclusive"),
                              (args.retries, "--retries")):  # fmt: skip
            if given:
                raise ConfigError(f"{option} is for --executor ray")
        return executors.Jobs(args.jobs, threads) if args.jobs > 1 else executors.Local()
    if args.jobs > 1:
        raise ConfigError("--jobs is for this machine; with --executor ray, Ray places the runs")
    if not args.address:
        raise ConfigError(
            "--executor ray needs --address HOST:PORT, the head node's (`ray start --head` "
            "prints it)"
        )
    from harness import ray_executor

    return ray_executor.Ray(args.address, threads, args.exclusive, args.retries or 0)


def cmd_run(args: argparse.Namespace) -> int:
    backends = _backends(args)
    specs = _specs(args, backends)
    _writable(results.runs_dir(args.results))
    if not args.no_report:
        _writable(args.results)
    return matrix.run(
        [s for s in specs for _ in range(args.repeat)],
        _executor(args, specs[0].threads),
        args.results,
        matrix.Console("json" if args.json else "quiet" if args.quiet else "normal"),
        fail_fast=args.fail_fast,
        report_after=not args.no_report,
    )


def _parity_specs(args: argparse.Namespace) -> dict[str, tuple[RunSpec, str | None]]:
    """Probe label -> (its spec, the label of the Keras 3 probe it anchors, or None).
    The named backends run on Keras 3, each named one with a native implementation of
    the model natively too, and a Keras 2 backend beside Keras 3 on TensorFlow (added
    if not named), unless --no-anchors."""
    backends = _backends(args)
    named = {b.name for b in backends}
    anchored = [b.anchor_of for b in backends if b.anchor_of and args.anchors]
    backends += [resolve(name) for name in anchored if name not in {b.name for b in backends}]
    args.init, args.profile, args.seeds = "harness", "seed", [args.seed]
    specs = {}
    for spec, b in zip(_specs(args, backends), backends, strict=True):
        specs[spec.backend] = (spec, b.anchor_of if args.anchors else None)
    natives = set(plugins.names("native")) if args.anchors else set()
    for spec, _ in list(specs.values()):
        if spec.backend in named and native.entry_name(spec.model, spec.backend) in natives:
            label = system(spec.backend, "native")
            specs[label] = (dataclasses.replace(spec, impl="native"), spec.backend)
    if len(specs) < 2:
        raise ConfigError(
            "parity compares two or more: name two backends with --backend, or one with a "
            "native implementation of the model"
        )
    return specs


def cmd_parity(args: argparse.Namespace) -> int:
    specs = _parity_specs(args)
    _writable(args.results)
    try:
        record = parity.measure(specs, args.steps)
    except parity.ProbeFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    path = Path(args.results) / "parity.json"
    results.write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    print(tables.parity_text(record))
    print(f"parity: {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    for folder in (args.baseline, args.current):
        if not results.runs_dir(folder).is_dir():
            raise ConfigError(f"{folder} is not a results folder: it has no runs/ folder")
    changes, only_base, only_cur, warnings, failed = compare.compare(
        args.baseline, args.current, args.time_threshold, args.accuracy_points
    )
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(compare.render(changes, only_base, only_cur, failed))
    return 1 if failed or any(c.verdict == "worse" for c in changes) else 0


def cmd_report(args: argparse.Namespace) -> int:
    _writable(args.results, create=False)
    for path in report.write_report(args.results, everything=args.all):
        print(f"report: {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    environment.check_keras_json()
    listing.show(args.data_dir)
    return 0


def _int_from(lo: int):
    """An argparse type: an integer >= `lo`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        return value

    return parse


_positive_int = _int_from(1)
_non_negative_int = _int_from(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3, got {text!r}") from None
    if not seeds or min(seeds) < 0 or max(seeds) > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected integers from 0 to {MAX_SEED} like 1,2,3, got {text!r}"
        )
    return seeds


def _seed(text: str) -> int:
    seeds = _seeds(text)
    if len(seeds) != 1:
        raise argparse.ArgumentTypeError(f"expected one integer, got {text!r}")
    return seeds[0]


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
        help="seed: the published recipe; quick: 1 epoch on 6,000 images; tuned: the "
        "published recipe with each backend's fastest settings",
    )
    run.add_argument("--seeds", type=_seeds, default=[1], help="e.g. 1,2,3 (default 1)")
    run.add_argument("--repeat", type=_positive_int, default=1, help="runs per backend and seed")
    run.add_argument("--epochs", type=_positive_int)
    run.add_argument("--learning-rate", type=_positive_float, help="override the recipe's")
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
    run.add_argument(
        "--impl",
        choices=IMPLS,
        help="keras (default): the model on Keras; native: the same model in the backend's "
        "framework alone (an anchor row, where the model has one)",
    )
    run.add_argument("--no-report", action="store_true", help="do not rebuild the report")
    run.add_argument(
        "--fail-fast", action="store_true", help="stop at the first failed run (default: go on)"
    )
    run.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        help="runs at once on this machine, each pinned to its own --threads CPUs "
        "(default 1: one at a time, for the cleanest timings)",
    )
    run.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local (default): this machine; ray: each run a task on the Ray cluster at "
        "--address, asking for --threads CPUs (pip install 'keras-backend-harness[ray]')",
    )
    run.add_argument("--address", help="the Ray cluster's head, HOST:PORT (--executor ray)")
    run.add_argument(
        "--exclusive",
        action="store_true",
        help="--executor ray: one run per node at a time, for timings (each run asks for "
        "as many CPUs as the cluster's largest node has)",
    )
    run.add_argument(
        "--retries",
        type=_non_negative_int,
        help="--executor ray: rerun a run whose node was lost up to N times (default 0)",
    )
    output = run.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print only errors and the report")
    output.add_argument(
        "--json", action="store_true", help="print one JSON object per finished run on stdout"
    )
    run.set_defaults(func=cmd_run)

    parity = sub.add_parser(
        "parity", help="compare backends' numerics from the same weights, with dropout off"
    )
    _cell_options(parity)
    parity.add_argument("--seed", type=_seed, default=1, help="seed of the weights and batches")
    parity.add_argument("--steps", type=_positive_int, default=50, help="training steps (50)")
    parity.add_argument(
        "--no-anchors",
        dest="anchors",
        action="store_false",
        help="compare the named backends on Keras 3 only: no native implementation, and "
        "Keras 2 without Keras 3 on TensorFlow beside it",
    )
    parity.set_defaults(func=cmd_parity)

    cmp = sub.add_parser(
        "compare", help="compare two results folders; exit 1 if anything got worse"
    )
    cmp.add_argument("baseline", type=Path, help="results folder (with runs/) to compare with")
    cmp.add_argument("current", type=Path, help="results folder (with runs/) to judge")
    cmp.add_argument(
        "--time-threshold",
        type=_positive_float,
        default=0.10,
        help="a time ratio beyond 1 +- this is a change (default 0.10)",
    )
    cmp.add_argument(
        "--accuracy-points",
        type=_positive_float,
        default=0.3,
        help="an accuracy move beyond this many points is a change (default 0.3)",
    )
    cmp.set_defaults(func=cmd_compare)

    rep = sub.add_parser("report", help="rebuild REPORT.md and summary.csv from result files")
    rep.add_argument("--results", type=Path, default=Path("results"))
    rep.add_argument(
        "--all",
        action="store_true",
        help="every result; by default each cell shows the results of the latest run of it",
    )
    rep.set_defaults(func=cmd_report)

    lst = sub.add_parser("list", help="list backends, models, datasets and profiles")
    lst.add_argument("--data-dir", help="also look for datasets here (or set HARNESS_DATA_DIR)")
    lst.set_defaults(func=cmd_list)
    return p


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # SIGTERM ends a run like Ctrl-C: the worker is stopped and nothing half-done is kept.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return args.func(args)
    except (ConfigError, plugins.PluginError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # A full disk, a folder that turned read-only: said in one line, not a traceback.
        print(f"error: {results.os_error(e)}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
