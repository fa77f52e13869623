"""What a run ran on: interpreter, libraries, CPU, variables, keras.json, code version."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from harness.config import DATA_FORMATS, ConfigError
from harness.schema import Environment, Git

# Variables that change what a framework does; all of them are recorded.
RECORDED_PREFIXES = ("KERAS_", "XLA_", "OMP_", "TF_", "MKL_", "OPENBLAS_", "JAX_", "TORCH_")
RECORDED_NAMES = ("CUDA_VISIBLE_DEVICES", "HARNESS_DATA_DIR")
# The Ray node a run's task ran on (--executor ray), named by that task to its worker.
NODE_ENV = "HARNESS_RAY_NODE"


def keras_home() -> Path:
    """Keras's own rule: $KERAS_HOME, else ~/.keras (/tmp/.keras if home is read-only)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = Path.home()
    return (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def recorded_variables() -> dict[str, str]:
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith(RECORDED_PREFIXES) or k in RECORDED_NAMES
    }


# keras.json settings that Keras refuses while it is imported, and the values it takes.
KERAS_JSON_CHOICES = {
    "floatx": ("float16", "float32", "float64"),
    "image_data_format": DATA_FORMATS,
}


def check_keras_json() -> None:
    """Refuse, before any worker starts, a keras.json that would make Keras fail while it
    is imported in the worker (with a traceback, whatever --data-format says). A file that
    is not JSON is ignored by Keras, and so it is here."""
    path = keras_home() / "keras.json"
    if not path.exists():
        return
    if not path.is_file():
        raise ConfigError(f"{path} is not a file: Keras reads its settings from it; remove it")
    try:
        config = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path} cannot be read: {e.strerror}") from e
    except ValueError:
        return
    if not isinstance(config, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(config).__name__}")
    for key, allowed in KERAS_JSON_CHOICES.items():
        if key in config and config[key] not in allowed:
            raise ConfigError(
                f"{path}: {key} must be one of {', '.join(allowed)}, got {config[key]!r}"
            )
    if "epsilon" in config and not isinstance(config["epsilon"], float):
        raise ConfigError(f"{path}: epsilon must be a float, got {config['epsilon']!r}")


def keras_json() -> dict | None:
    path = keras_home() / "keras.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def git_commit(cwd: Path | None = None) -> Git | None:
    """The commit of the working directory's repository and whether it had changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return Git(commit=git("rev-parse", "HEAD"), dirty=bool(git("status", "--porcelain")))
    except (OSError, subprocess.SubprocessError):
        return None


def capture(libraries: dict[str, str]) -> Environment:
    """The environment of this process; `libraries` come from the backend."""
    return Environment(
        python=sys.version.split()[0],
        platform=platform.platform(),
        host=platform.node(),
        node=os.environ.get(NODE_ENV),
        cpu_model=cpu_model(),
        cpus_total=os.cpu_count(),
        cpus_used=sorted(os.sched_getaffinity(0)),
        libraries=libraries,
        variables=recorded_variables(),
        keras_json=keras_json(),
        git=git_commit(),
    )
