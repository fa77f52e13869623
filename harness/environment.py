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

# The variables a record keeps: those that change what a framework, its math libraries
# or the allocator do, chosen by intent, not by prefix (Terraform's TF_TOKEN_* and
# TF_CLI_CONFIG_FILE share TensorFlow's prefix). Paths on the user's machine are not kept:
# KERAS_HOME and HARNESS_DATA_DIR name folders; keras.json and the data are recorded by
# what they hold.
RECORDED_PREFIXES = (
    "KERAS_", "XLA_", "JAX_", "OMP_", "MKL_", "OPENBLAS_", "KMP_", "MALLOC_", "ONEDNN_",
    "DNNL_", "PYTORCH_", "TORCH_", "TORCHINDUCTOR_",
    # TensorFlow's own families
    "TF_CPP_", "TF_ONEDNN_", "TF_MKL_", "TF_XLA_", "TF_GPU_", "TF_CUDNN_",
)  # fmt: skip
RECORDED_NAMES = frozenset({
    "CUDA_VISIBLE_DEVICES", "GLIBC_TUNABLES", "LD_PRELOAD", "THP_MEM_ALLOC_ENABLE",
    "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
    "TF_DETERMINISTIC_OPS", "TF_USE_LEGACY_KERAS", "TF_FORCE_GPU_ALLOW_GROWTH",
    "TF_ENABLE_AUTO_MIXED_PRECISION", "TF_DISABLE_MKL", "TF_USE_CUDNN",
})  # fmt: skip
NOT_RECORDED = frozenset({"KERAS_HOME"})
# Never kept, whatever the prefix: a name that looks like a credential.
CREDENTIAL_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH")
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


def is_recorded(name: str) -> bool:
    """Whether a variable of this name belongs in a run's record."""
    if name in NOT_RECORDED or any(word in name.upper() for word in CREDENTIAL_WORDS):
        return False
    return name in RECORDED_NAMES or name.startswith(RECORDED_PREFIXES)


def recorded_variables() -> dict[str, str]:
    """The recorded variables of this process; LD_PRELOAD by its libraries' file names,
    which say which allocator ran without saying where it is installed."""
    kept = {k: v for k, v in sorted(os.environ.items()) if is_recorded(k)}
    if "LD_PRELOAD" in kept:
        kept["LD_PRELOAD"] = " ".join(
            Path(p).name for p in kept["LD_PRELOAD"].replace(":", " ").split()
        )
    return kept


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
