"""Which modules may import what: keras only on the worker side (the worker, the
backend, dataset and model plugins), the frameworks only in harness/backends/ (the
backend plugins, and a model's native implementations, harness/backends/<model>_native/,
which import no keras, nor does their framework-free part, models/<model>_native/). Ruff
bans the frameworks elsewhere; this checks keras too, imports inside functions included."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER_SIDE = ("harness/worker.py", "harness/backends/", "harness/datasets/", "models/")
FRAMEWORKS = ("tensorflow", "jax", "jaxlib", "torch", "tf_keras", "optax")
FRAMEWORK_SIDE = re.compile(r"harness/backends/")
NATIVE = re.compile(r"(harness/backends|models)/\w+_native/")


def imported(path: Path) -> set[str]:
    """The top-level names of every module `path` imports, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources() -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for folder in ("harness", "models")
        for p in (ROOT / folder).rglob("*.py")
    )


def test_keras_is_imported_only_on_the_worker_side():
    found = {s: imported(ROOT / s) & {"keras"} for s in sources()}
    assert {s for s, names in found.items() if names} - {
        s for s in found if s.startswith(WORKER_SIDE)
    } == set()
    assert found["harness/worker.py"] == {"keras"}  # the check sees imports in functions


def test_frameworks_are_imported_only_by_backend_plugins_and_native_implementations():
    found = {s: imported(ROOT / s) & set(FRAMEWORKS) for s in sources()}
    assert {s for s, names in found.items() if names and not FRAMEWORK_SIDE.match(s)} == set()
    assert "jax" in found["harness/backends/jax_ops.py"]  # the check sees them where they are
    assert found["harness/backends/mnist_cnn_native/jax.py"] == {"jax", "optax"}


def test_native_implementations_import_no_keras():
    native = [s for s in sources() if NATIVE.match(s)]
    # the seed model's framework-free part, and its three frameworks' package
    assert len(native) == 5
    assert {s for s in native if "keras" in imported(ROOT / s)} == set()


def test_no_module_of_the_harness_is_much_longer_than_400_lines():
    # A newcomer reads a module whole: past about 400 lines, one does two jobs.
    lengths = {s: len((ROOT / s).read_text(encoding="utf-8").splitlines()) for s in sources()}
    assert {s: n for s, n in lengths.items() if n > 430} == {}
    assert lengths["harness/worker.py"] > 100  # the check reads the modules it names
