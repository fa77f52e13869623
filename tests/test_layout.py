"""The tests and the docs follow the code's layout: each module of harness/ has its test
file, tests/<package>/test_<module>.py, or a reason in WITHOUT_OWN_FILE; no test module
imports another test module or conftest (shared builders are in tests/factories.py); and
the layers that README and docs/development.md list are import-linter's, in its order."""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tests.factories import ROOT

# The modules of harness/ without a test file of their name, and the files of tests/ that
# test them instead. A module that defines no function and no class (a package's
# docstring, `python -m`'s entry) needs neither.
WITHOUT_OWN_FILE = {
    "__init__.py": "the public names a plugin author imports: contract/test_plugins.py",
    "backends/__init__.py": "backends found by name: contract/test_plugins.py",
    "backends/tensorflow.py": "backends/test_base.py, in each backend's env",
    "backends/jax.py": "backends/test_base.py, in each backend's env",
    "backends/jax_ops.py": "JAX's tuned ops against Keras's: backends/test_base.py",
    "backends/torch.py": "backends/test_base.py, in each backend's env",
    "backends/keras2.py": "the Keras 2 anchor: backends/test_base.py on TensorFlow",
    "commands/interrupts.py": "Ctrl-C and SIGTERM: test_cli.py, test_faults.py",
    "commands/list.py": "through the command line: test_cli.py",
    "commands/options.py": "through the command line: test_cli.py",
    "commands/report_command.py": "report/test_render.py, through the command line",
    "commands/run.py": "test_cli.py, commands/test_resume.py",
    "commands/tune.py": "commands/test_tune_search.py; for real: backends/test_base.py",
    "contract/checks.py": "record/test_places.py, backends/test_base.py",
    "contract/handover.py": "launch/test_process.py, launch/test_ray_cluster.py",
    "contract/native.py": "contract/test_plugins.py",
    "contract/recipe.py": "contract/test_onefile.py, contract/test_plugins.py",
    "datasets/npz_file.py": "a dataset of one's own: contract/test_onefile.py",
    "launch/cpus.py": "launch/test_executors.py, launch/test_ray_cluster.py",
    "record/parity_record.py": "commands/test_parity.py, test_cross_backend.py",
    "record/schema.py": "record/test_results.py",
    "record/store.py": "record/test_results.py",
    "report/plots.py": "report/test_render.py",
    "report/tables.py": "report/test_render.py",
    "report/text.py": "report/test_render.py, test_readme.py",
    "summary/build.py": "every test of summary/ builds a Summary",
    "worker/main.py": "backends/test_base.py, test_faults.py",
    "worker/modelinfo.py": "a model's size and FLOPs: backends/test_base.py",
    "worker/native.py": "worker/test_starting_points.py, backends/test_base.py",
    "worker/onefile.py": "contract/test_onefile.py",
    "worker/trainers.py": "backends/test_base.py, worker/test_dropout_masks.py",
}


def own_test_file(module: Path) -> Path:
    """tests/<package>/test_<module>.py for harness/<package>/<module>.py."""
    inside = module.relative_to(ROOT / "harness")
    return ROOT / "tests" / inside.parent / f"test_{inside.stem}.py"


def modules_without_a_test_file(root: Path = ROOT) -> list[str]:
    """The modules of harness/ that define something and have no test file of their name."""
    missing = []
    for module in sorted((root / "harness").rglob("*.py")):
        tree = ast.parse(module.read_text())
        defines = any(isinstance(n, ast.FunctionDef | ast.ClassDef) for n in tree.body)
        if defines and not own_test_file(module).is_file():
            missing.append(module.relative_to(root / "harness").as_posix())
    return missing


def test_every_module_has_its_test_file_or_says_where_it_is_tested():
    missing = modules_without_a_test_file()
    unexplained = [m for m in missing if m not in WITHOUT_OWN_FILE]
    assert not unexplained, f"no tests/<package>/test_<module>.py and no reason: {unexplained}"
    stale = sorted(set(WITHOUT_OWN_FILE) - set(missing))
    assert not stale, f"listed without a test file, but it has one or is gone: {stale}"


def test_a_module_left_out_of_the_list_is_named(monkeypatch):
    monkeypatch.delitem(WITHOUT_OWN_FILE, "record/store.py")
    with pytest.raises(AssertionError, match=r"no reason: \['record/store.py'\]"):
        test_every_module_has_its_test_file_or_says_where_it_is_tested()


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_test_module_imports_another_test_module_or_conftest():
    wrong = {
        path.relative_to(ROOT).as_posix(): sorted(bad)
        for path in (ROOT / "tests").rglob("*.py")
        if (
            bad := {
                name
                for name in imported_modules(path)
                if re.fullmatch(r"(tests\.)?([\w.]*\.)?(test_\w+|conftest)", name)
            }
        )
    }
    assert not wrong, f"tests import test modules or conftest: {wrong}"


def contracted_layout() -> list[str]:
    """import-linter's layers, top to bottom, then the worker side's packages, as
    pyproject.toml declares them."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    [layers] = [c["layers"] for c in contracts if c["type"] == "layers"]
    [worker_side] = [
        c["source_modules"]
        for c in contracts
        if c["type"] == "forbidden" and "harness.worker" in c["source_modules"]
    ]
    return layers + worker_side


def drawn_layout(page: str) -> list[str]:
    """The packages, as modules, that the first block under a page's "How it works" lists
    at the start of its lines (harness/commands/ as harness.commands)."""
    text = page.split("\n## How it works\n", 1)[1]
    block = re.search(r"\n\n((?:    .*\n|\n)+)", text)
    assert block, "no indented block under How it works"
    names = re.findall(r"(?m)^    ((?:harness|models)(?:/\w+)*)(?:/|\.py)?(?:\s|$)", block[1])
    return [name.replace("/", ".") for name in names]


@pytest.mark.parametrize("page", ["README.md", "docs/development.md"])
def test_the_docs_list_the_layers_as_the_import_contracts_declare_them(page):
    assert drawn_layout((ROOT / page).read_text()) == contracted_layout()
