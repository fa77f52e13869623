"""The parity command's probes (harness/commands/parity.py): which runs it compares."""

import pytest

from harness import cli
from harness.backends.base import Backend
from harness.commands import parity
from harness.contract.spec import ConfigError
from harness.record import results


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
    with pytest.raises(ConfigError, match="parity compares two or more"):
        probes("--backend", "torch", "--model", "mnist_bn")  # no native implementation


def test_the_parity_record_reads_back_as_written_and_refuses_another_kind(tmp_path):
    import numpy as np

    from harness.record import parity_record as record
    from harness.summary import numerics

    probes = {b: numerics.Probe(np.zeros((2, 10)), np.array([2.0, 1.5])) for b in "ab"}
    written = record.ParityRecord(
        created="2026-12-06T06:00:00Z", git=None, libraries={"a": {}, "b": {}}, spec={},
        steps=2, tolerances=numerics.PARITY_TOLERANCES, losses={"a": [2.0, 1.5]},
        pairs=numerics.parity(probes),
    )  # fmt: skip
    record.write(written, tmp_path / "parity.json")
    assert record.read(tmp_path / "parity.json") == written
    (tmp_path / "other.json").write_text('{"kind": "overhead", "schema_version": 1}')
    with pytest.raises(results.ResultError, match="not a parity record"):
        record.read(tmp_path / "other.json")
