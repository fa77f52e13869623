"""Older records read as this harness's (harness/record/upgrades.py): each schema
version's missing fields filled in as that version's runs had them, through the store."""

import json

import pytest

from harness.record import results, schema, store
from tests.factories import make_result


def _version_8() -> dict:
    """A record as schema version 8 wrote it: no per-epoch evaluation, no trajectory, no
    target or perturbation in its spec."""
    data = make_result(invocation="x").to_dict()
    for name in ("target", "stop_at_target", "perturb_init"):
        del data["spec"][name]
    del data["metrics"]["per_epoch"], data["artifacts"]["trajectory"]
    return {**data, "schema_version": 8}


def test_version_8_records_are_read_without_per_epoch_evaluation_or_perturbation(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_version_8()))
    r = store.read(path)
    assert r.metrics.per_epoch is None and r.artifacts.trajectory is None
    assert (r.spec.target, r.spec.stop_at_target, r.spec.perturb_init) == (None, False, False)
    assert r.schema_version == results.SCHEMA_VERSION == 9


def _version_5() -> dict:
    """A record as schema version 5 wrote it: the backend's settings in the environment."""
    data = _version_8()
    data["environment"]["threads"] = data.pop("backend_settings")
    del data["spec"]["impl"]
    return {**data, "schema_version": 5}


def _version_4() -> dict:
    """A record as schema version 4 wrote it: no classes, no invocation, no impl."""
    data = _version_5()
    del data["recipe"]["classes"], data["invocation"]
    return {**data, "schema_version": 4}


def test_version_5_records_keep_their_backend_settings(tmp_path):
    data = _version_5()
    data["environment"]["threads"] = {"intra_op_threads": 2}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    r = store.read(path)
    assert r.backend_settings == {"intra_op_threads": 2}
    assert r.invocation == "x" and r.schema_version == results.SCHEMA_VERSION


def test_version_7_records_skipped_nothing_and_a_skipped_part_must_be_known(tmp_path):
    data = make_result(profile="speed").to_dict()
    del data["metrics"]["skipped"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**data, "schema_version": 7}))
    r = store.read(path)
    assert r.metrics.skipped == [] and r.schema_version == results.SCHEMA_VERSION
    data = make_result(skipped=("full evaluation", "predictions")).to_dict()
    path.write_text(json.dumps(data))
    assert store.read(path).metrics.skipped == ["full evaluation", "predictions"]
    data["metrics"]["skipped"] = ["the training"]
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match=r"metrics\.skipped must be a list of items"):
        store.read(path)


# The timings of versions 1 and 2.
VERSION_1_TIMINGS = ("import_s", "data_load_s", "build_s", "evaluate_s", "epochs_s")


def test_version_1_records_are_read_as_keras_initialised_runs_without_arrays(tmp_path):
    data = _version_4()
    for key in ("reproducibility", "artifacts"):
        del data[key]
    for key in ("init", "deterministic"):
        del data["spec"][key]
    data["timings"] = {k: data["timings"][k] for k in VERSION_1_TIMINGS}
    data["schema_version"] = 1
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    r = store.read(path)
    assert (r.spec.init, r.spec.deterministic, r.artifacts) == ("keras", False, schema.Artifacts())
    assert r.reproducibility.initial_weights_digest is None
    assert r.schema_version == results.SCHEMA_VERSION


def test_version_2_records_are_read_without_step_clocks_and_latency(tmp_path):
    data = _version_4()
    data["timings"] = {k: data["timings"][k] for k in VERSION_1_TIMINGS}
    del data["machine"]
    data["schema_version"] = 2
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    r = store.read(path)
    assert r.timings.steps_s is None and r.timings.latency_calls_s is None
    assert r.timings.epochs_s == data["timings"]["epochs_s"]
    assert r.schema_version == results.SCHEMA_VERSION


def test_version_3_records_keep_their_latency_and_lack_the_whole_run_and_the_machine(tmp_path):
    data = _version_4()
    latency = data["timings"].pop("latency_calls_s")
    data["timings"] = {k: data["timings"][k] for k in ("interpreter_s", "import_s",
                       "data_load_s", "build_s", "evaluate_s", "epochs_s", "steps_s")}  # fmt: skip
    data["timings"]["predict_s"] = latency  # version 3's name for the latency calls
    del data["machine"]
    data["schema_version"] = 3
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    r = store.read(path)
    assert r.timings.latency_calls_s == latency
    assert r.timings.predict_s is None  # version 3 did not time the prediction
    assert r.timings.fit_s is None and r.timings.wall_s is None
    assert r.timings.import_s == 2.0
    assert r.machine == schema.Machine(matmul=None, during_fit=None)
    assert r.schema_version == results.SCHEMA_VERSION


def test_version_4_records_are_read_without_the_classes_and_the_invocation(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_version_4()))
    r = store.read(path)
    assert (r.recipe.classes, r.invocation) == (None, None)
    assert r.schema_version == results.SCHEMA_VERSION


def test_version_5_records_are_read_as_keras_runs_and_impl_is_checked(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_version_5()))
    assert store.read(path).spec.impl == "keras"
    data = make_result().to_dict()
    data["spec"]["impl"] = "plain"
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match="spec: impl must be one of keras, native"):
        store.read(path)
