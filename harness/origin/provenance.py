"""The code a record was made by: the harness's own, wherever the run was started.

Asking git in the current folder named the commit of whatever repository a run was
started in (another project's, or none: "unknown"), and in the harness's clone its HEAD
even when the installed package, tox's wheel, was built from an older commit. The code
is known from the package itself instead:

- an installed package carries the commit it was built from, and the git blob of each
  of its files at that commit, in BUILT_FROM, written by the build (setup.py);
- a package run from a git checkout (`python -m harness` in a clone, an editable
  install) asks git in the package's own folder, never the current one.

Either way its files are read as imported and compared with the commit's: a file that
differs, is missing or was added makes the code "dirty". A digest of those files, and
one of the run's model plugin's, say which code it was.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
from pathlib import Path

from harness.contract import plugins
from harness.record.schema import Git

# Where the package's folders lie: site-packages, or a clone's root.
ROOT = Path(__file__).resolve().parents[2]
# The packages of the distribution: the harness and its built-in model plugins.
PACKAGES = ("harness", "models")
# Written into the package by its build: {"commit": ..., "files": {path: git blob id}}.
BUILT_FROM = Path("harness") / "_built_from.json"


def blob_id(data: bytes) -> str:
    """A file's id as git computes it, so that files as imported compare with a commit's
    listing without reading the commit's files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def source_files(folder: Path, under: Path) -> dict[str, str]:
    """The Python files below `folder` (or `folder` itself, a module), by their path
    from `under` -> their blob id."""
    found = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]
    return {p.relative_to(under).as_posix(): blob_id(p.read_bytes()) for p in found}


def digest(files: dict[str, str]) -> str:
    """One SHA-256 for a set of files (path -> blob id)."""
    text = "".join(f"{path} {blob}\n" for path, blob in sorted(files.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _python(files: dict[str, str]) -> dict[str, str]:
    """The files of the packages that are Python source, as `source_files` reads them."""
    return {
        path: blob
        for path, blob in files.items()
        if path.endswith(".py") and path.split("/", 1)[0] in PACKAGES
    }


def committed(root: Path) -> tuple[str, dict[str, str]] | None:
    """HEAD and the blob id of each file of the packages at HEAD, if `root` is the top of
    a git checkout (a package installed into a folder inside some other repository is
    not that repository's code); None elsewhere. The build (setup.py) writes the same
    into BUILT_FROM."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout

    try:
        if Path(git("rev-parse", "--show-toplevel").strip()).resolve() != root.resolve():
            return None
        commit = git("rev-parse", "HEAD").strip()
        listing = git("ls-tree", "-r", "-z", "HEAD", "--", *PACKAGES)
    except (OSError, subprocess.SubprocessError):
        return None
    files = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _, kind, blob = meta.split()
        if kind == "blob":
            files[path] = blob
    return commit, files


def _from_git(root: Path) -> tuple[str, dict[str, str], str] | None:
    found = committed(root)
    return (*found, "git") if found else None


def _from_build(root: Path) -> tuple[str, dict[str, str], str] | None:
    try:
        built = json.loads((root / BUILT_FROM).read_text())
        return built["commit"], built["files"], "build"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_files(model: str, path: str | None = None) -> dict[str, str] | None:
    """The source files of a model plugin as imported (or as it would be), found without
    running it, or a model's own file at `path` (by its name alone); None if it has none
    to read."""
    if path:
        return source_files(Path(path), Path(path).parent)
    try:
        spec = importlib.util.find_spec(plugins.module_of("model", model))
    except (ImportError, ValueError, LookupError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    origin = Path(spec.origin)
    package = origin.parent if spec.submodule_search_locations else None
    return source_files(package, package) if package else source_files(origin, origin.parent)


def code(model: str | None = None, root: Path = ROOT, model_path: str | None = None) -> Git | None:
    """The harness's code (the package below `root`) and, if named, the model's (its
    plugin's, or its own file at `model_path`): the commit, whether the files as imported
    differ from it, and their digests. None when no commit can be known (no build
    record, no checkout)."""
    known = _from_build(root) or _from_git(root)
    if known is None:
        return None
    commit, committed, source = known
    imported: dict[str, str] = {}
    for package in PACKAGES:
        imported.update(source_files(root / package, root) if (root / package).is_dir() else {})
    files = model_files(model, model_path) if model else None
    return Git(
        commit=commit,
        dirty=imported != _python(committed),
        known_from=source,
        code_digest=digest(imported),
        model_digest=digest(files) if files else None,
    )
