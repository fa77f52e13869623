"""The parity command's probes (harness/commands/parity.py): which runs it compares."""

import pytest

from harness import cli, config
from harness.backends.base import Backend
from harness.commands import parity


def test_parity_includes_the_anchor_rows_each_against_keras_3_on_its_framework(monkeypatch):
    monkeypatch.setattr(Backend, "installed", lambda self: True)

    assert cli.parser().parse_args(["parity", "--backend", "tf,jax"]).steps == 50  # README's

    def probes(*argv: str) -> dict[str, tuple[str, str, str | None]]:
        args = cli.parser().parse_args(["parity", *argv])
        return {k: (s.backend, s.impl, a) for k, (s, a) in parity.probe_specs(args).items()}

    assert probes("--backend", "torch,keras2") == {
        "torch": ("torch", "keras", None),
        "keras2": ("keras2", "keras", "tensorflow"),
        "tensorflow": ("tensorflow", "keras", None),  # brought along by Keras 2
        "torch native": ("torch", "native", "torch"),
    }
    assert probes("--backend", "torch,keras2", "--no-anchors") == {
        "torch": ("torch", "keras", None),
        "keras2": ("keras2", "keras", None),
    }
    with pytest.raises(config.ConfigError, match="parity compares two or more"):
        probes("--backend", "torch", "--model", "mnist_bn")  # no native implementation
