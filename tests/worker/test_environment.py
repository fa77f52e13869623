"""What a run's record keeps of the environment: the variables that change a framework's
or the allocator's behaviour, and nothing that is another tool's, a credential or a path."""

import json
import re

import pytest

from harness.record import places
from harness.worker import environment
from tests.factories import ROOT

# A folder on someone's machine, as a record or report would quote it.
LOCAL_PATH = re.compile(r"(?<![\w.])/(?:work|root|home|tmp|Users)/")

FOREIGN = {
    # Terraform's: TensorFlow's prefix, not TensorFlow's business
    "TF_TOKEN_app_terraform_io": "secret123",
    "TF_CLI_CONFIG_FILE": "/root/.terraformrc",
    # credential-like names under prefixes that are recorded
    "KERAS_API_KEY": "secret456",
    "XLA_AUTH_TOKEN": "secret789",
    "TORCH_HUB_PASSWORD": "hunter2",
    # folders on the user's machine
    "KERAS_HOME": "/home/someone/.keras",
    "HARNESS_DATA_DIR": "/home/someone/data",
    # a recorded family's variable that names a folder of this machine
    "TORCHINDUCTOR_CACHE_DIR": "/tmp/torchinductor_root",
    "AWS_SECRET_ACCESS_KEY": "abc",
}
KEPT = {
    "KERAS_BACKEND": "jax",
    "XLA_FLAGS": "--xla_cpu_use_onednn=false",
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "MALLOC_MMAP_MAX_": "0",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_max=0",
    "OMP_NUM_THREADS": "2",
    "KMP_BLOCKTIME": "0",
    "ONEDNN_VERBOSE": "0",
    "PYTORCH_TENSOREXPR": "0",
}


@pytest.fixture
def variables(monkeypatch):
    for name, value in (FOREIGN | KEPT).items():
        monkeypatch.setenv(name, value)
    return environment.recorded_variables(places.local_folders())


def test_variables_that_change_a_framework_or_the_allocator_are_recorded(variables):
    assert KEPT.items() <= variables.items()


def test_credentials_other_tools_variables_and_paths_are_not(variables):
    assert not FOREIGN.keys() & variables.keys()


def test_preloaded_libraries_are_recorded_by_file_name(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/home/someone/lib/libjemalloc.so.2:/usr/lib/libtcmalloc.so")
    assert environment.recorded_variables([])["LD_PRELOAD"] == "libjemalloc.so.2 libtcmalloc.so"


def test_no_committed_result_names_a_local_path_or_a_foreign_variable():
    root = ROOT / "results"
    texts = [p for p in root.rglob("*") if p.suffix in {".json", ".md", ".csv"}]
    assert texts
    for path in texts:
        text = path.read_text()
        assert not LOCAL_PATH.search(text), (path, LOCAL_PATH.search(text))
        if path.parent.name == "runs":
            env = json.loads(text).get("environment") or {}
            assert all(map(environment.is_recorded, env.get("variables", {}))), path
