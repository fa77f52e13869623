"""The overhead benchmark's record (harness.record.overhead): typed, versioned, read and
written in one place."""

import dataclasses
import json

import pytest

from harness.record import overhead, schema
from harness.record.results import ResultError
from harness.summary import stats
from tests.factories import ROOT, make_overhead_record


def test_a_record_reads_back_as_it_was_written(tmp_path):
    record = make_overhead_record()
    path = overhead.write(record, tmp_path)
    assert path == tmp_path / "tensorflow.json"
    assert json.loads(path.read_text())["schema_version"] == overhead.SCHEMA_VERSION == 5
    assert overhead.read(path) == record
    assert overhead.read_all(tmp_path) == [record]


def test_a_round_gives_its_ratio_and_what_no_part_covers():
    [first, _] = make_overhead_record().rounds
    assert first.fit_ratio == pytest.approx(21.0 / 20.0)
    assert first.plain.rest_s == pytest.approx(30.0 - 23.3)
    assert first.harness.rest_s == pytest.approx(32.0 - 29.78)


@pytest.mark.parametrize("version", [6, 0, "2", True, None])
def test_an_unknown_version_is_refused_with_the_known_ones(tmp_path, version):
    data = dataclasses.asdict(make_overhead_record())
    (tmp_path / "tensorflow.json").write_text(json.dumps({**data, "schema_version": version}))
    known = r"unknown schema_version .*; this harness reads 1, 2, 3, 4, 5$"
    with pytest.raises(ResultError, match=known):
        overhead.read(tmp_path / "tensorflow.json")


def test_a_value_its_field_does_not_allow_is_refused_by_name(tmp_path):
    data = dataclasses.asdict(make_overhead_record())
    data["rounds"][1]["plain"]["fit_s"] = -1.0
    (tmp_path / "tensorflow.json").write_text(json.dumps(data))
    with pytest.raises(ResultError, match=r"rounds\[1\]\.plain\.fit_s must be a finite number ≥ 0"):
        overhead.read(tmp_path / "tensorflow.json")
    with pytest.raises(ResultError, match="^refusing to write .*: rounds must be a non-empty"):
        overhead.write(make_overhead_record(rounds=[]), tmp_path)


# A version 1 record as the benchmark wrote it (one round, the figures of
# results/overhead/tensorflow.json's first), with what it derived from the parts.
VERSION_1 = {
    "backend": "tensorflow",
    "git": {"commit": "bdd1ff849b335cb76f4f76da696898ef4f980a77", "dirty": False},
    "images": 10000,
    "epochs": 3,
    "threads": 2,
    "limit": 1.03,
    "versions": {"tensorflow-cpu": "2.21.0"},
    "rounds": [
        {
            "first": "plain",
            "plain": {
                "process_s": 26.125,
                "parts": {"import_s": 3.820, "data_load_s": 0.215, "build_s": 0.121,
                          "fit_s": 20.963},
                "rest_s": 1.006,
            },
            "harness": {
                "process_s": 27.767,
                "parts": {
                    "import_s": 3.573, "data_load_s": 0.542, "build_s": 0.084, "init_s": 0.024,
                    "compile_s": 0.006, "peak_s": 0.795, "fit_s": 16.220, "evaluate_s": 2.701,
                    "predict_s": 1.543, "latency_s": 0.864, "save_s": 0.021,
                    "unaccounted_s": 0.031,
                },
                "rest_s": 1.363,
            },
            "fit_ratio": 16.220 / 20.963,
            "difference_s": {"fit()": 16.220 - 20.963},
        }
    ],
    "medians": {"fit_ratio": 16.220 / 20.963},
}  # fmt: skip


def test_version_1_reads_with_its_plain_feed_and_what_it_did_not_record(tmp_path):
    (tmp_path / "tensorflow.json").write_text(json.dumps(VERSION_1))
    [record] = overhead.read_all(tmp_path)
    assert record.schema_version == 5 and record.plain_feed == "arrays"
    assert (record.band, record.max_rounds, record.stopped) == (pytest.approx(0.03), None, None)
    assert (record.environment, record.machine, record.fit_ratio, record.created) == (None,) * 4
    assert record.git == schema.Git(commit="bdd1ff849b335cb76f4f76da696898ef4f980a77", dirty=False)
    [r] = record.rounds
    old = VERSION_1["rounds"][0]
    assert r.first == "plain" and r.fit_ratio == pytest.approx(old["fit_ratio"])
    assert r.plain.rest_s == pytest.approx(old["plain"]["rest_s"])
    assert r.harness.rest_s == pytest.approx(old["harness"]["rest_s"])
    assert r.harness.unaccounted_s == 0.031


def test_version_2_reads_with_the_band_its_limit_gave_and_no_reason_to_stop(tmp_path):
    data = dataclasses.asdict(make_overhead_record())
    for name in ("band", "max_rounds", "stopped"):
        del data[name]
    (tmp_path / "tensorflow.json").write_text(
        json.dumps({**data, "limit": 1.03, "schema_version": 2})
    )
    record = overhead.read(tmp_path / "tensorflow.json")
    assert record.schema_version == 5 and record.band == pytest.approx(0.03)
    assert (record.max_rounds, record.stopped) == (None, None)
    assert record.rounds == _without_epoch_evaluations(make_overhead_record().rounds)


def _without_epoch_evaluations(rounds: list[overhead.Round]) -> list[overhead.Round]:
    return [
        dataclasses.replace(r, harness=dataclasses.replace(r.harness, epoch_evaluations_s=0.0))
        for r in rounds
    ]


def test_version_3_reads_with_no_epoch_evaluation_as_it_made_none(tmp_path):
    data = dataclasses.asdict(make_overhead_record())
    for r in data["rounds"]:
        del r["harness"]["epoch_evaluations_s"]
    (tmp_path / "tensorflow.json").write_text(json.dumps({**data, "schema_version": 3}))
    record = overhead.read(tmp_path / "tensorflow.json")
    assert record.schema_version == 5
    assert record.rounds == _without_epoch_evaluations(make_overhead_record().rounds)


def test_version_4_reads_as_made_on_the_seed_profile_as_every_run_before_was(tmp_path):
    data = dataclasses.asdict(make_overhead_record())
    del data["profile"]
    (tmp_path / "tensorflow.json").write_text(json.dumps({**data, "schema_version": 4}))
    record = overhead.read(tmp_path / "tensorflow.json")
    assert (record.schema_version, record.profile) == (5, "seed")


def test_the_committed_records_read_with_the_interval_their_rounds_give():
    """Every committed file reads as a record of this version (upgraded if older), whose
    stored fit() ratio is the one its rounds give."""
    files = sorted((ROOT / "results/overhead").glob("*.json"))
    assert files
    for path in files:
        record = overhead.read(path)
        assert record.schema_version == overhead.SCHEMA_VERSION
        found = stats.ratio_interval([r.fit_ratio for r in record.rounds])
        stored = record.fit_ratio
        assert (stored.geomean, stored.low, stored.high) == pytest.approx(
            (found.geomean, found.low, found.high)
        )
