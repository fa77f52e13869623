import dataclasses
import json
import os

import pytest

from harness.record import atomic, results, store
from tests.factories import make_ops, make_result


def test_result_round_trips_through_its_file(tmp_path):
    r = make_result(accuracy=0.9871)
    path = tmp_path / "r.json"
    store.write(r, path)
    assert store.read(path) == r
    assert json.loads(path.read_text())["schema_version"] == results.SCHEMA_VERSION


def test_a_runs_determinism_is_what_its_backend_reported_or_off():
    r = make_result()
    assert r.determinism == "off"  # the plugin reported no determinism
    on = dataclasses.replace(r, backend_settings={"determinism": "op determinism on"})
    assert on.determinism == "op determinism on"
    assert dataclasses.replace(r, backend_settings=None).determinism == "off"


def test_run_ids_never_collide_and_name_the_cell():
    ids = {store.new_run_id("jax", "mnist_cnn", "mnist", "seed", 3) for _ in range(1000)}
    assert len(ids) == 1000
    assert all("-jax-mnist_cnn-mnist-seed-seed3-" in i for i in ids)


def test_unknown_schema_version_is_refused_naming_the_known_ones(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**make_result().to_dict(), "schema_version": 99}))
    with pytest.raises(
        results.ResultError, match="unknown schema_version 99; this harness reads 1"
    ):
        store.read(path)


def test_missing_fields_are_named(tmp_path):
    data = make_result().to_dict()
    del data["metrics"]["test_accuracy"]
    del data["memory"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        results.ResultError, match="metrics.test_accuracy is missing; memory is missing"
    ):
        store.read(path)


def _made_here(tmp_path, **environment) -> tuple[dict, object]:
    """The file of a record of this machine as a worker makes it (its fingerprint and
    environment), with `environment`'s values changed in the file afterwards (a writer
    refuses them), and the file's JSON."""
    from harness.origin import fingerprint
    from harness.worker import environment as env

    r = make_result()
    r = dataclasses.replace(
        r,
        environment=env.capture({}, {}, "mnist_cnn", None, []),
        machine=dataclasses.replace(r.machine, fingerprint=fingerprint.fingerprint()),
    )
    path = tmp_path / "r.json"
    store.write(r, path)
    data = json.loads(path.read_text())
    data["environment"].update(environment)
    path.write_text(json.dumps(data))
    return data, path


def test_a_machine_id_is_the_one_its_fingerprint_and_environment_give(tmp_path):
    from harness.origin import fingerprint

    data, path = _made_here(tmp_path)
    made = store.read(path)
    assert made.machine.fingerprint.machine_id == fingerprint.fingerprint().machine_id
    data["machine"]["fingerprint"]["machine_id"] = "0123456789"  # another machine's id
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match="machine_id is '0123456789', but its fi"):
        store.read(path)
    # nor is such a record written
    moved = dataclasses.replace(made.machine.fingerprint, machine_id="0123456789")
    bad = dataclasses.replace(made, machine=dataclasses.replace(made.machine, fingerprint=moved))
    with pytest.raises(results.ResultError, match="refusing to write"):
        store.write(bad, tmp_path / "bad.json")


@pytest.mark.parametrize(
    ("changed", "value"),
    [
        ("host", "elsewhere"),
        ("cpus_total", os.cpu_count() + 1),
        ("platform", "Linux-x"),
        ("cpu_model", "X"),
    ],
)
def test_a_record_of_one_machine_given_another_machines_environment_is_refused(
    tmp_path, changed, value
):
    _, path = _made_here(tmp_path, **{changed: value})
    with pytest.raises(results.ResultError, match="fingerprint and environment are machine "):
        store.read(path)


def test_a_record_without_a_host_is_read_without_the_check(tmp_path):
    _, path = _made_here(tmp_path, host=None)
    assert store.read(path).environment.host is None


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null"])
def test_damaged_files_are_refused_naming_the_file(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(results.ResultError, match="broken.json"):
        store.read(path)


def test_read_all_skips_bad_files_with_a_warning_and_orders_by_time(tmp_path, write_result):
    later = write_result(backend="jax", created="2026-11-25T12:00:00Z")
    earlier = write_result(backend="torch", created="2026-11-25T11:00:00Z")
    (tmp_path / "runs" / "truncated.json").write_text(later.read_text()[:50])
    found, warnings = store.read_all(tmp_path)
    assert [r.spec.backend for r in found] == ["torch", "jax"]
    assert earlier.stem == found[0].run_id
    assert len(warnings) == 1 and "truncated.json" in warnings[0]


def test_a_version_9_record_must_say_whether_it_evaluated_its_epochs(tmp_path):
    assert "metrics.per_epoch is missing" in _lying(
        tmp_path, lambda data: data["metrics"].pop("per_epoch")
    )
    assert "spec.perturb_init is missing" in _lying(
        tmp_path, lambda data: data["spec"].pop("perturb_init")
    )


def test_the_per_epoch_lists_follow_the_epochs_trained(tmp_path):
    # Four epochs planned; a run that stopped at its target after the second trained two.
    stopped = make_result(epoch_accuracy=(0.9, 0.99, 0.99, 0.99), stop_at_target=True)
    data = stopped.to_dict()
    assert data["recipe"]["epochs"] == 4 and data["metrics"]["per_epoch"]["reached_epoch"] == 2
    path = tmp_path / "stopped.json"
    path.write_text(json.dumps(data))
    r = store.read(path)
    assert len(r.metrics.history["loss"]) == len(r.timings.epochs_s) == 2
    assert r.metrics.per_epoch.stopped

    def one_more(data):
        data["metrics"]["per_epoch"]["accuracy"].append(0.99)

    assert "metrics.per_epoch.accuracy must be a list of trained epochs items" in _lying(
        tmp_path, one_more
    )

    def beyond_one(data):
        data["metrics"]["per_epoch"]["target"] = 1.5

    assert "metrics.per_epoch.target must be a number above 0 and at most 1" in _lying(
        tmp_path, beyond_one
    )


def test_a_trajectory_file_is_named_and_not_a_stray(tmp_path, write_result):
    path = write_result()
    r = store.read(path)
    name = f"{r.run_id}.trajectory.npz"
    (path.parent / name).write_bytes(b"x")
    _, warnings = store.read_all(tmp_path)
    assert any(name in w for w in warnings)  # no record names it yet
    data = json.loads(path.read_text())
    data["artifacts"]["trajectory"] = name
    path.write_text(json.dumps(data))
    _, warnings = store.read_all(tmp_path)
    assert warnings == []
    data["artifacts"]["trajectory"] = "../elsewhere.npz"
    path.write_text(json.dumps(data))
    _, warnings = store.read_all(tmp_path)
    assert "artifacts.trajectory must be a file name without a folder" in warnings[0]


def test_a_result_whose_predictions_are_gone_is_skipped_naming_them(tmp_path, write_result):
    import numpy as np

    arrays = {"predictions": [np.zeros((2, 2))], "final_weights": [np.ones(3)]}
    kept = write_result(backend="jax", **arrays)
    gone = write_result(backend="torch", **arrays)
    (gone.parent / f"{gone.stem}.predictions.npz").unlink()
    (kept.parent / f"{kept.stem}.final_weights.npz").unlink()  # optional: still read
    found, warnings = store.read_all(tmp_path)
    assert [r.run_id for r in found] == [kept.stem]
    assert len(warnings) == 1
    assert f"{gone.name}: its predictions are missing: {gone.stem}.predictions.npz" in warnings[0]


def test_failed_runs_need_a_reason_but_no_metrics(tmp_path):
    data = {**make_result().to_dict(), "status": "failed", "metrics": {}, "timings": {}}
    path = tmp_path / "failed.json"
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match="failure must be an object, got None"):
        store.read(path)
    data["failure"] = {"reason": "killed", "exit_code": -9, "output_tail": []}
    path.write_text(json.dumps(data))
    assert store.read(path).failure.exit_code == -9
    path.write_text(json.dumps({**data, "status": "maybe"}))
    with pytest.raises(results.ResultError, match="status must be one of 'ok', 'failed'"):
        store.read(path)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_runs_files_appear_together_with_the_result_last(tmp_path):
    import numpy as np

    r = make_result()
    files = store.RunFiles(tmp_path / f"{r.run_id}.json")
    files.stage_arrays("a.predictions.npz", [np.ones(3, "float32")])
    files.stage_arrays("a.weights.npz", [np.zeros(2), np.ones(2)])
    # staged: only hidden temporaries, which no reader takes for a run's files
    assert all(name.startswith(".") for name in _files(tmp_path)) and len(_files(tmp_path)) == 2
    files.publish(r)
    assert _files(tmp_path) == sorted(["a.predictions.npz", "a.weights.npz", f"{r.run_id}.json"])
    with np.load(tmp_path / "a.weights.npz") as w:
        assert w["arr_1"].tolist() == [1.0, 1.0]


def test_an_interrupted_run_leaves_none_of_its_files(tmp_path):
    import numpy as np

    files = store.RunFiles(tmp_path / "run.json")
    files.stage_arrays("run.predictions.npz", [np.ones(3)])
    files.discard()
    assert _files(tmp_path) == []
    # a result that cannot be written takes the published arrays away with it
    (tmp_path / "run.json").mkdir()
    files.stage_arrays("run.predictions.npz", [np.ones(3)])
    with pytest.raises(OSError):
        files.publish(make_result())
    assert _files(tmp_path) == ["run.json"]


def test_read_all_warns_of_stray_files_that_no_result_names(tmp_path, write_result):
    write_result()
    runs = store.runs_dir(tmp_path)
    (runs / "20260101T000000Z-jax-x.predictions.npz").write_bytes(b"x")
    (runs / ".20260101T000000Z-jax-x.weights.npz.abc.tmp").write_bytes(b"x")
    found, warnings = store.read_all(tmp_path)
    assert len(found) == 1 and warnings == [
        f"2 stray files in {runs}: .20260101T000000Z-jax-x.weights.npz.abc.tmp, "
        "20260101T000000Z-jax-x.predictions.npz; no result names them (left by an interrupted "
        "run, or still being written); delete them if no run is going on"
    ]
    (runs / ".20260101T000000Z-jax-x.weights.npz.abc.tmp").unlink()
    assert store.read_all(tmp_path)[1] == [
        f"stray file {runs}/20260101T000000Z-jax-x.predictions.npz: no result names it (left by "
        "an interrupted run, or still being written); delete it if no run is going on"
    ]


def test_a_copied_record_counts_once_and_a_skipped_records_arrays_are_not_strays(
    tmp_path, write_result
):
    r = store.read(write_result())
    runs = store.runs_dir(tmp_path)
    copy = runs / "copy.json"
    copy.write_bytes((runs / f"{r.run_id}.json").read_bytes())
    (runs / "broken.json").write_text("{")
    (runs / "broken.predictions.npz").write_bytes(b"x")
    found, warnings = store.read_all(tmp_path)
    assert [f.run_id for f in found] == [r.run_id]
    assert len(warnings) == 2 and not any("stray" in w for w in warnings)
    assert warnings[1] == (
        f"skipped {copy}: a copy of run {r.run_id}, which {r.run_id}.json holds (a run counts once)"
    )


def test_thousands_of_stray_files_make_one_warning_with_a_few_names(tmp_path, write_result):
    from harness import cli

    write_result()
    runs = store.runs_dir(tmp_path)
    for i in range(2000):
        (runs / f"stray-{i:04}.npz").write_bytes(b"")
    [warning] = store.read_all(tmp_path)[1]
    assert warning.startswith(
        f"2,000 stray files in {runs}: stray-0000.npz, stray-0001.npz, stray-0002.npz and "
        "1,997 more; no result names them"
    )
    assert cli.main(["report", "--results", str(tmp_path)]) == 0
    skipped = (tmp_path / "REPORT.md").read_text().split("## Skipped or incomplete")[1]
    assert [line[:9] for line in skipped.split("\n## ")[0].splitlines() if line] == ["- 2,000 s"]


def test_a_full_disk_is_an_error_naming_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import os

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OSError) as e:
        store.write(make_result(), tmp_path / "run.json")
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(tmp_path / "run.json")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_out_the_optional_weights_not_the_run(tmp_path, monkeypatch):
    import errno
    import os

    import numpy as np

    r = make_result()
    files = store.RunFiles(tmp_path / f"{r.run_id}.json")
    files.stage_arrays("a.predictions.npz", [np.ones(3, "float32")])
    save = np.savez

    def savez(f, *arrays):  # as a full disk does: part of the file written, then no room
        f.write(b"PK" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", savez)
    dropped = files.stage_optional("a.weights.npz", [np.zeros(2)], "final weights")
    assert dropped == (
        "final weights left out, the run kept without them: No space left on device: "
        f"{tmp_path}/a.weights.npz"
    )
    monkeypatch.setattr(np, "savez", save)
    files.publish(r)
    assert _files(tmp_path) == sorted(["a.predictions.npz", f"{r.run_id}.json"])

    def broken(f, *arrays):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(np, "savez", broken)  # anything but a full disk fails the run
    with pytest.raises(OSError, match="Input/output error"):
        files.stage_optional("b.weights.npz", [np.zeros(2)], "final weights")


def test_a_killed_runs_temporary_files_are_removed_by_its_parent_and_no_others(tmp_path):
    run_id = "20260101T000000Z-torch-mnist_cnn-mnist-seed-seed1-0123abcd"
    mine = [f".{run_id}.{kind}.x1y2.tmp" for kind in ("weights.npz", "predictions.npz", "json")]
    others = [".20260101T000000Z-torch-mnist_cnn-mnist-seed-seed1-99999999.json.a.tmp",
              f"{run_id}.predictions.npz"]  # fmt: skip
    for name in mine + others:
        (tmp_path / name).write_bytes(b"x")
    store.remove_leftovers(tmp_path / f"{run_id}.json")
    assert _files(tmp_path) == sorted(others)


@pytest.mark.parametrize("content", [b"garbage" * 100, b"PK\x03\x04" + b"\0" * 100, b""])
def test_a_damaged_predictions_file_is_called_damaged_not_to_be_loaded_unsafely(
    tmp_path, write_result, content
):
    import numpy as np

    path = write_result(predictions=[np.zeros((2, 10), "float32")])
    r = store.read(path)
    (store.runs_dir(tmp_path) / r.artifacts.predictions).write_bytes(content)
    with pytest.raises(results.ResultError) as e:
        store.load_arrays(tmp_path, r, r.artifacts.predictions)
    assert str(e.value) == (
        f"{store.runs_dir(tmp_path)}/{r.artifacts.predictions} (of run {r.run_id}) is "
        "damaged: it is not the .npz archive of arrays that a run writes; delete it, or "
        "rerun that run"
    )


def _lying(tmp_path, change) -> str:
    """The error reading a valid result, every optional section filled, after `change(data)`."""
    data = make_result(ops=make_ops(("conv", 0.5), op_s=0.9)).to_dict()
    change(data)
    path = tmp_path / "lies.json"
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError) as e:
        store.read(path)
    assert str(e.value).startswith(f"{path}: ")
    return str(e.value)


@pytest.mark.parametrize(
    ("section", "field", "value", "said"),
    [
        ("metrics", "test_accuracy", float("nan"), "a finite number from 0 to 1, got nan"),
        ("metrics", "test_accuracy", "0.99", "a finite number from 0 to 1, got '0.99'"),
        ("metrics", "test_accuracy", 1.5, "a finite number from 0 to 1, got 1.5"),
        ("metrics", "test_accuracy", True, "a finite number from 0 to 1, got True"),
        ("timings", "epochs_s", None, "a list of recipe.epochs items, each a finite number"),
        ("timings", "epochs_s", [1.0, 2.0], "a list of recipe.epochs items"),
        ("timings", "fit_s", -3.0, "a finite number from 0 to 1,000,000,000 or null, got -3.0"),
        # a time a sum would make inf of
        ("timings", "fit_s", 1e308, "a finite number from 0 to 1,000,000,000 or null, got 1e+308"),
        (
            "timings",
            "epochs_s",
            [1e308] * 4,
            "a list of recipe.epochs items, each a finite number from 0 to 1,000,000,000",
        ),
        ("recipe", "data_format", "channels_middle", "one of 'channels_last', 'channels_first'"),
        ("artifacts", "predictions", "../../etc/passwd", "a file name without a folder"),
        ("metrics", "test_loss", 10**400, "a finite number, got 1000000"),
        (
            "metrics",
            "history",
            {"accuracy": [0.9] * 4},
            "an object whose values are each a "
            "list of recipe.epochs items, each a finite number, with a loss, got {'accuracy'",
        ),
    ],
)
def test_values_that_parse_but_lie_are_refused_naming_the_field(
    tmp_path, section, field, value, said
):
    def change(data):
        data[section][field] = value

    assert f"{section}.{field} must be {said}" in _lying(tmp_path, change)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("threads", "two", "threads must be an integer ≥ 1, got 'two'"),
        ("seed", 2**32, "seed must be an integer from 0 to 4,294,967,295"),
        ("backend", "", "backend must be a non-empty string, got ''"),
        ("profile", "fastest", "unknown profile 'fastest'"),
    ],
)
def test_a_recorded_spec_is_checked_as_a_run_spec(tmp_path, field, value, said):
    assert f"spec: {said}" in _lying(tmp_path, lambda data: data["spec"].update({field: value}))


def test_a_spec_from_a_machine_with_more_cpus_is_read(tmp_path):
    import os

    data = make_result().to_dict()
    data["spec"]["threads"] = len(os.sched_getaffinity(0)) + 8
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    assert store.read(path).spec.threads == data["spec"]["threads"]
    del data["spec"]["seed"]
    path.write_text(json.dumps(data))
    with pytest.raises(results.ResultError, match="spec.seed is missing"):
        store.read(path)


def test_every_field_of_a_record_is_checked(tmp_path):
    # A list holding an empty list is no field's type: each field must be refused by name.
    failed = {"status": "failed", "failure": {"reason": "x", "exit_code": 2, "output_tail": []}}
    checked = 0
    kinds = ((results.RunResult, {}), (results.FailedRun, failed))
    for kind, sections in ((k, results.sections(record)) for record, k in kinds):
        for name, section in sections.items():
            for path in _fields(section, (name,)):

                def change(data, kind=kind, path=path):
                    data.update(kind)
                    inner = data
                    for key in path[:-1]:
                        inner = inner[key]
                    inner[path[-1]] = [[]]

                assert f"{_dotted(path)} must be " in _lying(tmp_path, change), path
                checked += 1
    for record, kind in kinds:
        for field in results.top_rules(record):

            def change(data, kind=kind, field=field):
                data.update(kind)
                data[field] = [[]]

            assert f"{field} must be " in _lying(tmp_path, change), (record, field)
    assert checked > 60  # every section, the nested ones (machine.matmul, ...) included


def _fields(section, prefix):
    """The path of every field of `section` and of the sections inside it (in a list of
    sections, those of its first)."""
    for f in dataclasses.fields(section):
        yield (*prefix, f.name)
        if inner := f.metadata.get("section"):
            first = (0,) if f.metadata.get("many") else ()
            yield from _fields(inner, (*prefix, f.name, *first))


def _dotted(path):
    """A field's path as a refusal names it: timings.ops.top[0].name."""
    return ".".join(str(key) for key in path).replace(".0.", "[0].")


def test_a_history_shorter_than_the_epochs_and_a_bad_time_are_refused(tmp_path):
    def change(data):
        data["metrics"]["history"]["loss"] = [0.3]
        data["created"] = 20261201

    said = _lying(tmp_path, change)
    assert "created must be a UTC time like 2026-12-01T20:50:00Z, got 20261201" in said
    assert "metrics.history must be an object whose values are each a list of recipe.epochs" in said


def test_a_deeply_nested_document_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)  # 200 KB
    with pytest.raises(results.ResultError, match="deep.json: nested too deeply"):
        store.read(path)


def test_a_lying_result_is_skipped_with_a_warning_and_the_rest_are_read(tmp_path, write_result):
    good = write_result(backend="jax")
    bad = write_result(backend="torch")
    data = json.loads(bad.read_text())
    data["timings"]["epochs_s"] = None
    bad.write_text(json.dumps(data))
    found, warnings = store.read_all(tmp_path)
    assert [r.run_id for r in found] == [good.stem]
    [warning] = warnings
    assert warning.startswith(f"skipped {bad}: timings.epochs_s must be a list")


def test_an_impossible_date_and_a_number_too_long_to_parse_are_refused(tmp_path):
    said = _lying(tmp_path, lambda data: data.update(created="2026-13-45T10:00:00Z"))
    assert "created must be a UTC time" in said
    path = tmp_path / "long.json"
    path.write_text("[" + "9" * 5000 + "]")
    with pytest.raises(results.ResultError, match="long.json"):
        store.read(path)


def test_a_record_the_reader_would_refuse_is_never_written(tmp_path):
    r = make_result()
    lie = dataclasses.replace(r, metrics=dataclasses.replace(r.metrics, test_accuracy=float("nan")))
    with pytest.raises(results.ResultError, match="metrics.test_accuracy must be a finite"):
        store.write(lie, tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_a_record_that_names_no_node_still_reads(tmp_path, write_result):
    path = write_result()
    data = json.loads(path.read_text())
    del data["environment"]["node"]  # records of older harnesses
    path.write_text(json.dumps(data))
    assert store.read(path).environment.node is None


def test_an_op_profile_round_trips_and_a_record_without_one_reads(tmp_path):
    r = make_result(ops=make_ops(("aten::convolution_backward", 0.5), op_s=0.9))
    path = tmp_path / "r.json"
    store.write(r, path)
    assert store.read(path) == r
    data = json.loads(path.read_text())
    for absent in ("ops", "ops_s"):  # a record made before the op profile
        del data["timings"][absent]
    path.write_text(json.dumps(data))
    timings = store.read(path).timings
    assert (timings.ops, timings.ops_s) == (None, None)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda ops: ops.update(top=[]), "timings.ops.top must be a non-empty list"),
        (lambda ops: ops.update(steps=0), "timings.ops.steps must be an integer ≥ 1"),
        (lambda ops: ops["top"][0].update(seconds=-1.0), "timings.ops.top[0].seconds must be"),
        (lambda ops: ops["top"][0].update(name=""), "timings.ops.top[0].name must be"),
    ],
)
def test_an_op_profile_that_lies_is_refused_naming_the_field(tmp_path, change, said):
    assert said in _lying(tmp_path, lambda data: change(data["timings"]["ops"]))
