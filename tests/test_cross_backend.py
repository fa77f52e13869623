"""Tests that run all three backends from one environment (tox -e test-cross)."""

import importlib.util
import subprocess
import sys

import pytest

from harness.record import parity_record, store
from harness.summary import numerics
from tests.factories import SMALL

pytestmark = pytest.mark.cross_backend
BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(autouse=True)
def all_frameworks():
    missing = [m for m in BACKENDS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(BACKENDS)} in one environment (missing {missing}): "
                    "tox -e test-cross")  # fmt: skip


def harness(tmp_path, *argv: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", *argv, "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_same_seed_gives_the_same_starting_point_on_every_backend(small_local_runs, tmp_path):
    # Two runs at once, a CPU each: the digests do not depend on what runs beside. That
    # another seed draws another start is tested on each backend (tests/backends/test_base.py).
    runs, warnings = store.read_all(small_local_runs)
    assert warnings == [] and len(runs) == 3
    starts = {
        (r.reproducibility.initial_weights_digest, r.reproducibility.batch_order_digest)
        for r in runs
    }
    assert len(starts) == 1, starts

    harness(tmp_path, "run", "--backend", "tf,jax,torch", *SMALL, "--jobs", "2", "--no-report",
            "--init", "keras")  # fmt: skip
    keras_runs, _ = store.read_all(tmp_path)
    keras_digests = {r.reproducibility.initial_weights_digest for r in keras_runs}
    assert len(keras_digests) == 3, "each backend's own initialisation should differ"


def test_parity_holds_within_the_measured_tolerances(tmp_path):
    # The anchors (native implementations, Keras 2) are tested in the backend suites.
    # 20 steps, not the default 50: the tolerance asks for agreement over the first 10
    # (steps_in_agreement), and the rest cost CI minutes without being judged.
    harness(tmp_path, "parity", "--backend", "tf,jax,torch", "--no-anchors", "--steps", "20")
    record = parity_record.read(tmp_path / "parity.json")  # refuses a record of another kind
    tolerances = numerics.PARITY_TOLERANCES
    assert tolerances.steps_in_agreement < 20
    assert record.steps == 20 and len(record.pairs) == 3
    assert set(record.libraries) == {"tensorflow", "jax", "torch"}
    for pair in record.pairs:
        assert pair.forward_max_abs <= tolerances.forward_max_abs, pair.backends
        assert pair.within_tolerance, pair
    for losses in record.losses.values():
        assert losses[-1] < 0.6 * losses[0]  # the 20 steps did train
