"""The build's one step beyond pyproject.toml: the commit the package is built from, and
the git blob id of each of its files at that commit, written into it (BUILT_FROM,
harness/_built_from.json), so that a run records the harness's own code, not that of
the folder it was started in; harness/origin/provenance.py compares the files as
imported with it.

A wheel built from this git checkout (tox's `package = wheel`, `pip wheel .`) asks git
here; an sdist carries the file, for a wheel built from it without git. An editable
install gets none: its code is the checkout's, which provenance asks git about.
"""

import json
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the package being built (its provenance needs no more)

from harness.origin.provenance import BUILT_FROM, committed  # noqa: E402


def built_from() -> str | None:
    """BUILT_FROM's text for this checkout's HEAD; None outside a checkout (an sdist)."""
    found = committed(HERE)
    if found is None:
        return None
    commit, files = found
    return json.dumps({"commit": commit, "files": files}, indent=1, sort_keys=True) + "\n"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the checkout itself is imported: provenance asks git
            return
        text = built_from()
        if text is None and (HERE / BUILT_FROM).is_file():  # unpacked from an sdist
            text = (HERE / BUILT_FROM).read_text()
        if text is not None:
            (Path(self.build_lib) / BUILT_FROM).write_text(text)


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        text = built_from()
        if text is not None:
            (Path(base_dir) / BUILT_FROM).write_text(text)


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
