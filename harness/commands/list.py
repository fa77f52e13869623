"""`python -m harness list`: the backends (installed or how to install them), the models
with their size (built by a worker on the first installed backend), the native
implementations, the datasets and where each would be loaded from, the profiles, and
each backend's tuned settings with the figures that chose them.
"""

from __future__ import annotations

import argparse

from harness import plugins
from harness.backends import all_backends
from harness.config import PROFILES, check_keras_json
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
        for name, d in process.describe(builder, models).items():
            mflop = d["forward_flops_per_image"] / 1e6
            print(
                f"  {name}: {d['parameters']:,} parameters, "
                f"{mflop:.1f} MFLOP forward per {d['dataset']} image"
            )
    natives = plugins.names("native")
    print(f"native implementations (--impl native): {', '.join(natives) or 'none'}")
    print("datasets:")
    for name in plugins.names("dataset"):
        print(f"  {name}: {plugins.load('dataset', name)().locate(data_dir)}")
    profiles = "".join(f"  {p.name}: {p.description}\n" for p in PROFILES.values())
    print("profiles:\n" + profiles, end="")
    print("tuned settings (profile tuned):")
    for b in backends:
        t = b.tuning
        settings = [f"{k}={v}" for k, v in t.env.items()]
        settings += [f"data_format={t.data_format}"] if t.data_format else []
        settings += [f"jit_compile={t.jit_compile}"] if t.jit_compile is not None else []
        settings += list(t.code)
        print(f"  {b.name}: {', '.join(settings) or 'the defaults'}")
        print("".join(f"    - {line}\n" for line in t.why), end="")


def main(args: argparse.Namespace) -> int:
    check_keras_json()
    show(args.data_dir)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list backends, models, datasets and profiles")
    p.add_argument("--data-dir", help="also look for datasets here (or set HARNESS_DATA_DIR)")
    p.set_defaults(func=main)
