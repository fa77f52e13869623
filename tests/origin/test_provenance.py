"""The code a record names: the harness's own, from its build or its checkout, never
from the folder a run was started in."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.origin import provenance
from harness.worker import environment
from tests.factories import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def git(where: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=where, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def repository(where: Path, files: dict[str, str]) -> str:
    """A git repository at `where` holding `files`, committed; its commit."""
    for name, text in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text)
    git(where, "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "files")
    return git(where, "rev-parse", "HEAD")


PACKAGE = {
    "harness/__init__.py": "",
    "harness/origin/provenance.py": "# the code\n",
    "models/__init__.py": "",
    "models/mnist_cnn/__init__.py": "DEFAULTS = {}\n",
    "README.md": "not code\n",
}


def test_a_checkout_names_its_own_commit_from_wherever_it_is_run(tmp_path, monkeypatch):
    root, elsewhere = tmp_path / "harness-clone", tmp_path / "another-project"
    root.mkdir()
    elsewhere.mkdir()
    commit = repository(root, PACKAGE)
    repository(elsewhere, {"x.py": "other\n"})
    for cwd in (elsewhere, tmp_path, root):  # another repository, none, its own
        monkeypatch.chdir(cwd)
        code = provenance.code(root=root)
        assert (code.commit, code.dirty, code.known_from) == (commit, False, "git")
    clean = code.code_digest
    (root / "README.md").write_text("changed, but not code\n")
    assert not provenance.code(root=root).dirty
    (root / "harness" / "origin" / "provenance.py").write_text("# changed\n")
    changed = provenance.code(root=root)
    assert changed.dirty and changed.code_digest != clean
    (root / "harness" / "origin" / "provenance.py").write_text("# the code\n")
    (root / "models" / "new.py").write_text("")  # a file the commit lacks
    assert provenance.code(root=root).dirty


def test_a_package_inside_another_repository_is_not_that_repositorys_code(tmp_path):
    outer = tmp_path / "project"
    outer.mkdir()
    repository(outer, {f"venv/site-packages/{k}": v for k, v in PACKAGE.items()})
    assert provenance.code(root=outer / "venv" / "site-packages") is None


def test_an_installed_package_names_the_commit_it_was_built_from(tmp_path, monkeypatch):
    root = tmp_path / "site-packages"
    blobs = {}
    for name, text in PACKAGE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        # git's own ids, as the build lists them
        blobs[name] = git(tmp_path, "hash-object", str(root / name))
    built = {"commit": "f" * 40, "files": blobs}
    (root / provenance.BUILT_FROM).write_text(json.dumps(built))
    monkeypatch.chdir(tmp_path)
    code = provenance.code(root=root)
    assert (code.commit, code.dirty, code.known_from) == ("f" * 40, False, "build")
    (root / "models" / "mnist_cnn" / "__init__.py").write_text("DEFAULTS = {1: 2}\n")
    assert provenance.code(root=root).dirty
    (root / "models" / "mnist_cnn" / "__init__.py").unlink()  # a file the package lacks
    assert provenance.code(root=root).dirty


def test_a_runs_record_names_the_harness_commit_not_the_current_folders(tmp_path, monkeypatch):
    if provenance.code() is None:
        pytest.skip("this harness is neither built with its commit nor a git checkout")
    elsewhere = tmp_path / "another-project"
    elsewhere.mkdir()
    repository(elsewhere, {"x.py": "other\n"})
    expected = provenance.code("mnist_cnn")
    monkeypatch.chdir(elsewhere)
    recorded = environment.capture({}, {}, "mnist_cnn").git
    assert recorded == expected and recorded.model_digest and recorded.code_digest
    monkeypatch.chdir(tmp_path)  # no repository at all
    assert environment.capture({}, {}, "mnist_cnn").git == expected


def test_the_model_digest_follows_the_models_own_files(tmp_path, monkeypatch):
    (tmp_path / "a_model.py").write_text("DEFAULTS = {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(provenance.plugins, "module_of", lambda kind, name: "a_model")
    first = provenance.model_files("a_model")
    (tmp_path / "a_model.py").write_text("DEFAULTS = {'epochs': 2}\n")
    assert first == {"a_model.py": provenance.blob_id(b"DEFAULTS = {}\n")}
    assert provenance.model_files("a_model") != first


def test_a_model_files_digest_is_of_its_bytes_under_its_name_wherever_it_lies(tmp_path):
    if provenance.code() is None:
        pytest.skip("this harness is neither built with its commit nor a git checkout")
    for folder in ("here", "on-a-node"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "tiny.py").write_text("DEFAULTS = {}\n")
    here, there = (
        environment.capture({}, {}, "tiny.py", str(tmp_path / folder / "tiny.py")).git
        for folder in ("here", "on-a-node")
    )
    files = {"tiny.py": provenance.blob_id(b"DEFAULTS = {}\n")}
    assert here.model_digest == there.model_digest == provenance.digest(files)


# This checkout (the tests' own, ROOT), wherever the harness under test was imported from:
# tox imports it from its installed wheel.
CHECKOUT = ROOT


def _copy_of_this_project(where: Path) -> Path:
    """This checkout's build files and packages as they are, in a repository of their own."""
    where.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, where / name)
    skipped = shutil.ignore_patterns("__pycache__", "_built_from.json")
    for package in provenance.PACKAGES:
        shutil.copytree(CHECKOUT / package, where / package, ignore=skipped)
    git(where, "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "the harness")
    return where


def _built(project: Path, out: Path) -> Path:
    """The wheel of `project`, as tox builds it (setuptools in this environment: offline)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "-q", "-w", str(out), str(project)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("*.whl")
    site = out / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    return site


def _recorded_by(site: Path, cwd: Path) -> dict:
    """The code the harness installed at `site` names, run from `cwd` (which the
    interpreter does not put on its path, as the console script does not)."""
    code = ("import dataclasses, json; from harness.origin import provenance; "
            "print(json.dumps(dataclasses.asdict(provenance.code('mnist_cnn'))))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-P", "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


def test_a_wheel_names_the_commit_it_was_built_from_even_in_a_newer_clone(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building a wheel without the network needs setuptools here")
    project = _copy_of_this_project(tmp_path / "clone")
    built_at = git(project, "rev-parse", "HEAD")
    site = _built(project, tmp_path / "wheel")
    # the clone moves on after the build, as a tox env's wheel falls behind
    (project / "harness" / "__init__.py").write_text('"""Newer."""\n')
    git(project, "commit", "-q", "-am", "newer")
    recorded = _recorded_by(site, cwd=project)
    assert (recorded["commit"], recorded["dirty"], recorded["known_from"]) == (
        built_at, False, "build",
    )  # fmt: skip
    # a wheel of a tree with changes not committed names its HEAD, and dirty
    (project / "models" / "mnist_cnn" / "__init__.py").write_text("DEFAULTS = {}\n")
    site = _built(project, tmp_path / "dirty-wheel")
    recorded = _recorded_by(site, cwd=tmp_path)
    assert (recorded["commit"], recorded["dirty"]) == (git(project, "rev-parse", "HEAD"), True)
