"""What a run ran on: interpreter, libraries, CPU, variables, keras.json, code version."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

from harness.contract.checks import keras_home
from harness.contract.handover import NODE_ENV
from harness.origin import provenance
from harness.origin.fingerprint import cpu_model
from harness.record import places
from harness.record.schema import Environment

# The variables a record keeps: those that change what a framework, its math libraries
# or the allocator do, chosen by intent, not by prefix (Terraform's TF_TOKEN_* and
# TF_CLI_CONFIG_FILE share TensorFlow's prefix). Paths on the user's machine are not kept:
# KERAS_HOME and HARNESS_DATA_DIR name folders, a value that is a path is left out, and
# a path inside a value is kept as its placeholder (`places`); keras.json and the data
# are recorded by what they hold.
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


def is_recorded(name: str) -> bool:
    """Whether a variable of this name belongs in a run's record."""
    if name in NOT_RECORDED or any(word in name.upper() for word in CREDENTIAL_WORDS):
        return False
    return name in RECORDED_NAMES or name.startswith(RECORDED_PREFIXES)


def recorded_variables(folders: list[tuple[str, str]]) -> dict[str, str]:
    """The recorded variables of this process, each path in their values as its
    placeholder among `folders` (`places.local_folders`) and a URL's credentials left
    out; LD_PRELOAD by its libraries' file names, which say which allocator ran without
    saying where it is installed."""
    preload = os.environ.get("LD_PRELOAD")
    kept = {
        k: places.unplaced(v, folders)
        for k, v in sorted(os.environ.items())
        # A value that is a folder or file of this machine (a cache's:
        # TORCHINDUCTOR_CACHE_DIR) says where, not how: not kept.
        if is_recorded(k) and not os.path.isabs(os.path.expanduser(v))
    }
    if preload:
        kept["LD_PRELOAD"] = " ".join(Path(p).name for p in preload.replace(":", " ").split())
    return kept


def keras_json() -> dict | None:
    path = keras_home() / "keras.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def numpy_blas() -> str:
    """numpy's BLAS as it runs here: library, version, the kernels it picked for this CPU
    and its threads (threadpoolctl reads them from the loaded library)."""
    import threadpoolctl

    pools = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    return "; ".join(
        f"{p['internal_api']} {p['version']} ({p.get('architecture') or 'generic'}, "
        f"{p['num_threads']} threads)"
        for p in pools
    )


def capture(
    libraries: dict[str, str],
    kernels: dict[str, str],
    model: str | None = None,
    model_path: str | None = None,
    folders: list[tuple[str, str]] | None = None,
) -> Environment:
    """The environment of this process; `libraries` and `kernels` come from the backend,
    and the code recorded is the harness's and `model`'s (its plugin's, or its file at
    `model_path`); `folders`: the run's local folders (`places.local_folders`), which
    stand as placeholders in the variables' values and in the kernels' words (JAX's are
    XLA_FLAGS, which may name a dump folder)."""
    folders = places.local_folders() if folders is None else folders
    return Environment(
        python=sys.version.split()[0],
        platform=platform.platform(),
        host=platform.node(),
        node=os.environ.get(NODE_ENV),
        cpu_model=cpu_model(),
        cpus_total=os.cpu_count(),
        cpus_used=sorted(os.sched_getaffinity(0)),
        libraries=libraries,
        kernels={
            name: places.unplaced(words, folders)
            for name, words in {**kernels, "numpy BLAS": numpy_blas()}.items()
        },
        variables=recorded_variables(folders),
        keras_json=keras_json(),
        git=provenance.code(model, model_path=model_path),
    )
