"""The tuning record: version 2 with its parity figures, and version 1 upgraded."""

import dataclasses
import json

import pytest

from harness.backends import resolve
from harness.commands import options
from harness.origin import fingerprint
from harness.record import results, tuning
from harness.summary.numerics import PARITY_TOLERANCES
from tests.factories import ROOT

# Version-1 records as `tune` wrote them (the speed campaign of 05248fe, machine
# 23ffbb3da7): what an upgrade must read.
VERSION_1 = ROOT / "tests" / "data" / "tuning-v1"


def read_version_1(backend):
    [file] = VERSION_1.glob(f"{backend}-*.json")
    assert json.loads(file.read_text())["schema_version"] == 1
    return tuning.read(file)


def test_version_1_records_are_read_with_the_jax_gradients_as_two_knobs():
    jax = read_version_1("jax")
    assert jax.schema_version == tuning.SCHEMA_VERSION
    for choice in (jax.default, jax.chosen, *(t.candidate for t in jax.trials)):
        assert "ops" not in choice and choice["pool_grad"] == choice["conv_grad"]
    # `run --settings tuned` takes the upgraded choice on every backend
    for backend in ("tensorflow", "torch", "jax"):
        record = read_version_1(backend)
        assert resolve(backend).tuning(record.chosen, "").choice.items() >= record.chosen.items()


def test_version_1_verdicts_read_a_wide_interval_as_undecided_and_invent_no_parity():
    verdicts = {
        (b, t.knob): t.verdict for b in ("tensorflow", "torch") for t in read_version_1(b).trials
    }
    assert verdicts == {
        ("tensorflow", "malloc"): tuning.UNDECIDED,  # "not faster beyond noise"
        ("tensorflow", "onednn"): tuning.SLOWER,
        ("tensorflow", "xla"): tuning.SLOWER,
        ("torch", "malloc"): tuning.FASTER,
        ("torch", "format"): tuning.UNDECIDED,  # 1.05 [0.78-1.42] after three rounds
        ("torch", "compile"): tuning.NOT_TRIED,
        ("torch", "thp"): tuning.NOT_TRIED,
    }
    torch = read_version_1("torch")
    assert torch.kept.knob == "malloc" and torch.kept.parity is None
    assert all(t.expected is None and t.first_pass is None for t in torch.trials)


def test_a_version_2_record_keeps_each_candidates_parity_and_expected_gain(tmp_path):
    record = read_version_1("torch")
    check = tuning.ParityCheck(10, 1.2e-7, 3.0e-6, None, PARITY_TOLERANCES, True)
    kept = dataclasses.replace(
        record.kept, parity=check, expected=0.61, expected_from="a first-pass round",
        first_pass=[0.37, 0.61],
    )  # fmt: skip
    record = dataclasses.replace(record, trials=[kept])
    again = tuning.read(tuning.write(record, tmp_path))
    assert again == record and again.kept.parity == check
    assert check.text() == "outputs 1.2e-07 (≤ 1e-06), losses 3.0e-06 (≤ 1e-04 for 10 steps)"


def test_an_unknown_version_is_refused_naming_those_it_reads(tmp_path):
    file = tmp_path / "torch-x.json"
    file.write_text(json.dumps({"schema_version": 3}))
    with pytest.raises(results.ResultError, match="schema_version 3; this harness reads 1, 2"):
        tuning.read(file)


def test_run_says_the_parity_of_the_tuned_settings_where_it_names_their_record(
    tmp_path, monkeypatch
):
    record = read_version_1("torch")
    check = tuning.ParityCheck(10, 1.2e-7, 3.0e-6, None, PARITY_TOLERANCES, True)
    machine = fingerprint.fingerprint().machine_id
    torch = resolve("torch")
    monkeypatch.setattr(type(torch), "versions", lambda self: record.versions)
    record = dataclasses.replace(
        record, machine_id=machine, trials=[dataclasses.replace(record.kept, parity=check)]
    )
    tuning.write(record, tmp_path / "tuning")
    tuned = options.tuned_settings(torch, tmp_path)
    assert tuned.choice == record.chosen and tuned.recorded
    # every run records these words: the results folder stands as its placeholder
    assert tuned.source.startswith("tuning record <results>/tuning/torch-")
    assert str(tmp_path) not in tuned.source
    assert tuned.source.endswith(f"; parity against the defaults: {check.text()}")


def test_a_version_1_record_whose_words_are_not_text_is_refused_not_a_crash(tmp_path):
    [committed] = VERSION_1.glob("torch-*.json")
    data = json.loads(committed.read_text())
    data["trials"][0]["why"] = 42
    file = tmp_path / committed.name
    file.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match="not a tuning record"):
        tuning.read(file)
