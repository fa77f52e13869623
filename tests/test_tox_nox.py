"""tox and nox run the same matrix under the same names (STYLE: one list everywhere)."""

import configparser
import importlib.util
import sys
import types

from tests.factories import ROOT


def nox_sessions(monkeypatch) -> dict[str, list[str]]:
    """The noxfile's sessions and their tags, read by running it against a stand-in nox."""
    found: dict[str, list[str]] = {}

    def session(name=None, python=None, tags=()):
        def register(func):
            found[name or func.__name__] = list(tags)
            return func

        return register

    stand_in = types.SimpleNamespace(
        session=session, Session=object, options=types.SimpleNamespace()
    )
    monkeypatch.setitem(sys.modules, "nox", stand_in)
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return found


def tox_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    return config


def test_nox_t_test_runs_the_sessions_of_tox_m_test(monkeypatch):
    labels = {}
    for line in tox_config()["tox"]["labels"].strip().splitlines():
        label, envs = line.split("=", 1)
        labels[label.strip()] = [name.strip() for name in envs.split(",")]
    tox_test = labels["test"]
    nox_test = [name for name, tags in nox_sessions(monkeypatch).items() if "test" in tags]
    assert sorted(nox_test) == sorted(tox_test)


def test_the_main_job_has_the_same_names_in_tox_and_nox(monkeypatch):
    tox_main = [name.strip() for name in tox_config()["tox"]["env_list"].split(",")]
    sessions = nox_sessions(monkeypatch)
    assert all(name in sessions and "test" not in sessions[name] for name in tox_main)
