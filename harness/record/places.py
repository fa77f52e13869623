"""A record names no place of the machine that made it, and no credential: inside a
recorded variable's value, a failure's reason and a failed worker's output, each folder
the harness knows to be local stands as a placeholder, and a URL's user and password as
<credentials>:

    <home>           the user's home folder, and ~ or ~user/... (anyone's home)
    <cwd>            the working folder
    <site-packages>  the environment's installed packages
    <env>            the environment's prefix (sys.prefix)
    <python>         the interpreter's own installation (sys.base_prefix), where apart
    <data>           the data folder (--data-dir, HARNESS_DATA_DIR)
    <keras-home>     Keras's home (KERAS_HOME, ~/.keras)
    <model>          the folder of the model's file (--model path.py)
    <dataset>        the folder of the dataset's file (--dataset path.npz)
    <results>        the results folder the run writes into
    <tmp>            the temporary folder

The folders are those of the process that records, for both the worker's values and the
launcher's record of a failure (the same machine and user: a Ray node's worker writes its
own record)."""

from __future__ import annotations

import os
import re
import site
import sys
import tempfile
from pathlib import Path

from harness.contract.checks import keras_home
from harness.contract.spec import RunSpec

# scheme://user:password@host or scheme://user@host: what is between // and @.
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s'\"]+@")
# ~/..., ~user/..., or a lone ~user: a home folder, this user's or another's.
_TILDE = re.compile(r"(?<![\w/~.-])~(?:[A-Za-z_][\w.-]*)?(?=/)|(?<![\w/~.-])~[A-Za-z_][\w.-]*\b")


def local_folders(
    spec: RunSpec | None = None, results: Path | None = None
) -> list[tuple[str, str]]:
    """(folder, placeholder) for each local folder of a run of `spec` (its data folder,
    its model's and dataset's files) writing its result into the folder `results`, and
    of this process, the longest first, so that a folder inside another keeps its own
    name."""
    data_dir = (spec and spec.data_dir) or os.environ.get("HARNESS_DATA_DIR")
    files = [(spec.model_path, "<model>"), (spec.dataset_path, "<dataset>")] if spec else []
    sites = [*site.getsitepackages(), site.getusersitepackages()]
    named = [
        (Path.home(), "<home>"),
        (Path.cwd(), "<cwd>"),
        *((Path(p), "<site-packages>") for p in sites),
        (Path(sys.prefix), "<env>"),
        (Path(sys.exec_prefix), "<env>"),
        (Path(sys.base_prefix), "<python>"),
        (keras_home(), "<keras-home>"),
        (Path(tempfile.gettempdir()), "<tmp>"),
        *([(Path(data_dir).expanduser(), "<data>")] if data_dir else []),
        *((Path(path).expanduser().parent, name) for path, name in files if path),
        *([(Path(results), "<results>")] if results else []),
    ]
    found: dict[str, str] = {}
    for folder, name in named:
        for form in (str(folder), os.path.abspath(folder), os.path.realpath(folder)):
            # A folder at the root (/) would stand for every path.
            if os.path.isabs(form) and form.rstrip("/"):
                found.setdefault(form.rstrip("/"), name)
    return sorted(found.items(), key=lambda item: -len(item[0]))


def unplaced(text: str, folders: list[tuple[str, str]]) -> str:
    """`text` with each of `folders` (`local_folders`) as its placeholder, wherever it
    stands as a whole folder, a home's ~ forms as <home>, and a URL's credentials as
    <credentials>."""
    for folder, name in folders:
        text = re.sub(r"(?<![\w.-])" + re.escape(folder) + r"(?![\w.-])", name, text)
    text = _TILDE.sub("<home>", text)
    return _CREDENTIALS.sub("<credentials>@", text)
