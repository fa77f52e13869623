"""`python -m harness list`: the backends (installed or how to install them), the models
with their size (built by a worker on the first installed backend), the native
implementations, the datasets and where each would be loaded from, the profiles, and
each backend's tuning space with what this machine's tuning record chose.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.backends import all_backends
from harness.commands import options
from harness.contract import plugins
from harness.contract.checks import check_keras_json
from harness.contract.spec import PROFILES
from harness.launch import process


def show(data_dir: str | None) -> None:
    backends = all_backends()
    print("backends:")
    for b in backends:
        alias = f" (alias {', '.join(b.aliases)})" if b.aliases else ""
        if b.installed():
            state = ", ".join(f"{k} {v}" for k, v in b.versions().items())
        else:
            state = f"not installed: tox -e {b.tox_env}, or {b.install_command()}"
        print(f"  {b.name}{alias}: {state}")
    models = plugins.names("model")
    builder = next((b for b in backends if b.installed()), None)
    if builder is None:
        print("models (install a backend to see their size):")
        print("".join(f"  {n}\n" for n in models), end="")
    else:
        print(f"models (built on {builder.name}):")
        for name, size in process.describe(builder, models).items():
            print(
                f"  {name}: {size.parameters:,} parameters, "
                f"{size.forward_flops_per_image / 1e6:.1f} MFLOP forward per "
                f"{size.dataset} image"
            )
    natives = plugins.names("native")
    print(f"native implementations (--impl native): {', '.join(natives) or 'none'}")
    print("datasets:")
    for name in plugins.names("dataset"):
        print(f"  {name}: {plugins.load('dataset', name)().locate(data_dir)}")
    profiles = "".join(f"  {p.name}: {p.description}\n" for p in PROFILES.values())
    print("profiles:\n" + profiles, end="")
    print("tuning spaces (`harness tune` measures them; `run --settings tuned` uses them):")
    for b in backends:
        print(f"  {b.name}:" + ("" if b.tuning_space else " nothing to tune"))
        for knob in b.tuning_space:
            print(f"    {knob.name}: {' | '.join(knob.values)} ({knob.what})")
        if b.tuning_space:
            tuned = options.tuned_settings(b, Path("results"))
            said = ", ".join(f"{k}={v}" for k, v in tuned.choice.items()) or "the defaults"
            print(f"    on this machine: {said} ({tuned.source})")


def main(args: argparse.Namespace) -> int:
    check_keras_json()
    show(args.data_dir)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list backends, models, datasets and profiles")
    p.add_argument("--data-dir", help="also look for datasets here (or set HARNESS_DATA_DIR)")
    p.set_defaults(func=main)
