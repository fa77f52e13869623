import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.backends import all_backends, resolve
from harness.backends.base import Backend, Setting
from harness.contract import plugins


def test_builtin_plugins_are_registered():
    assert plugins.names("backend") == ["jax", "keras2", "tensorflow", "torch"]
    assert plugins.names("native") == ["mnist_cnn.jax", "mnist_cnn.tensorflow", "mnist_cnn.torch"]
    assert plugins.names("model") == ["mnist_bn", "mnist_cnn"]
    assert plugins.names("dataset") == ["fashion_mnist", "mnist", "synthetic"]


def test_tf_is_an_alias_of_tensorflow_and_names_resolve_to_themselves():
    assert resolve("tf").name == "tensorflow"
    assert resolve("tf_keras").name == "keras2"
    assert [resolve(n).name for n in ("tensorflow", "jax", "torch")] == [
        "tensorflow",
        "jax",
        "torch",
    ]


def test_unknown_backend_lists_known_names_and_aliases():
    with pytest.raises(plugins.PluginError) as e:
        resolve("mxnet")
    assert str(e.value) == (
        "unknown backend 'mxnet'; known backends: jax, keras2 (alias tf_keras), "
        "tensorflow (alias tf), torch"
    )


@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_unknown_model_or_dataset_lists_known_names(kind):
    with pytest.raises(plugins.PluginError, match=f"unknown {kind} 'nope'; known {kind}s: "):
        plugins.load(kind, "nope")


def test_backend_environment_sets_keras_backend_and_the_thread_budget():
    env = resolve("tf").env(3)
    assert env["KERAS_BACKEND"] == "tensorflow"
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "3"
    assert resolve("jax").env(1)["KERAS_BACKEND"] == "jax"
    assert resolve("torch").env(2)["OMP_NUM_THREADS"] == "2"


def test_tensorflow_runs_with_onednn_on_every_cpu_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert resolve("tf").env(2)["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert resolve("keras2").env(2)["TF_ENABLE_ONEDNN_OPTS"] == "1"  # the same TensorFlow
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert resolve("tf").env(2)["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_tuned_environment_adds_the_chosen_settings_last():
    torch = resolve("torch")
    tuning = torch.tuning({"malloc": "no mmap", "format": "channels_first"}, "a test")
    assert tuning.choice == {
        "malloc": "no mmap", "format": "channels_first", "compile": "eager", "thp": "off",
        "threads": "all",
    }  # fmt: skip
    assert (tuning.data_format, tuning.jit_compile, tuning.source) == (
        "channels_first", None, "a test",
    )  # fmt: skip
    default, tuned = torch.env(2), torch.env(2, tuning)
    assert "MALLOC_MMAP_MAX_" not in default
    assert tuned == {**default, "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "4294967295"}


def test_a_tuning_naming_an_unknown_knob_or_value_is_refused_with_those_there_are():
    jax = resolve("jax")
    with pytest.raises(
        ValueError,
        match="no tuning knob format; its knobs: xla, pool_grad, conv_grad, malloc, thp, threads",
    ):
        jax.tuning({"format": "channels_first"}, "")
    with pytest.raises(
        ValueError, match="knob pool_grad has no value 'fast'; its values: keras, harness"
    ):
        jax.tuning({"pool_grad": "fast"}, "")


def test_every_backend_declares_a_tuning_space_with_defaults_that_change_nothing():
    for backend in all_backends():
        for knob in backend.tuning_space:
            assert knob.values[knob.default] == Setting(), (backend.name, knob.name)
            assert len(knob.values) > 1 and knob.what
        assert set(backend.fallback) <= {k.name for k in backend.tuning_space}


def test_listing_and_resolving_import_no_framework():
    # Nor the worker's code: what launches workers (cli, the commands, harness.launch)
    # reads their files, and the training machinery stays in the worker.
    code = (
        "import sys; from harness import cli; cli.main(['list']);"
        "loaded = {'keras', 'tensorflow', 'jax', 'torch', 'harness.worker.main',"
        " 'harness.worker.trainers'}"
        " & set(sys.modules);"
        "sys.exit(f'imported {loaded}' if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "tensorflow (alias tf)" in done.stdout


def test_run_refuses_a_backend_that_is_not_installed_with_its_tox_env(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(Backend, "installed", lambda self: False)
    code = cli.main(["run", "--backend", "tf", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "tox -e tf" in err and "keras-backend-harness[tensorflow]" in err
    assert not (tmp_path / "runs").exists()


def test_run_refuses_unknown_names_before_training(capsys, tmp_path, monkeypatch):
    # Names come first: the model's error, not the missing framework's, is the one shown.
    monkeypatch.setattr(Backend, "installed", lambda self: False)
    assert cli.main(["run", "--backend", "tf,mxnet", "--results", str(tmp_path)]) == 2
    assert "unknown backend 'mxnet'" in capsys.readouterr().err
    assert (
        cli.main(["run", "--backend", "jax", "--model", "resnet", "--results", str(tmp_path)]) == 2
    )
    assert "unknown model 'resnet'; known models: mnist_bn, mnist_cnn" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--batch-size", "x"], ["--threads", "-1"]])
def test_command_line_refuses_bad_numbers(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--backend", "jax", *argv])
    assert e.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_a_native_run_of_a_model_or_backend_without_one_is_refused_before_training(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(Backend, "installed", lambda self: False)  # nothing could train
    base = ["run", "--impl", "native", "--results", str(tmp_path)]
    assert cli.main([*base, "--backend", "torch", "--model", "mnist_bn"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "error: model 'mnist_bn' has no native implementation on torch (native implementations, "
        "model.backend: mnist_cnn.jax, mnist_cnn.tensorflow, mnist_cnn.torch); run it with "
        "--impl keras"
    )
    assert cli.main([*base, "--backend", "tf,keras2"]) == 2
    assert "no native implementation on keras2" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    # the keras2 backend is asked for with the install that keeps one TensorFlow
    assert cli.main(["run", "--backend", "keras2", "--results", str(tmp_path)]) == 2
    assert "pip install --no-deps tf_keras==2.21.0" in capsys.readouterr().err


def test_the_public_surface_names_what_a_plugin_author_needs_and_loads_it_when_asked():
    import harness
    from harness.backends.base import Backend as Defined

    assert harness.Backend is Defined and set(harness.__all__) >= {"Native", "Recipe"}
    # What a type checker is shown is what loads: the same names from the same modules.
    tree = ast.parse(Path(harness.__file__).read_text())
    [checking] = [n for n in tree.body if isinstance(n, ast.If)]
    shown = {a.name: node.module for node in checking.body for a in node.names}
    assert shown == harness._PUBLIC
    code = "import sys, harness.origin.provenance; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_huge_pages_and_half_the_threads_are_tried_only_where_they_change_something(
    tmp_path, monkeypatch
):
    from harness.backends import base

    torch = resolve("torch")
    knobs = {k.name: k for k in torch.tuning_space}
    half, thp = knobs["threads"].values["half"], knobs["thp"].values["on"]
    assert torch.unusable(half, 1) == "the same as the default in a run of 1 thread"
    assert torch.unusable(half, 2) is None
    mode = tmp_path / "enabled"
    monkeypatch.setattr(base, "THP_MODE", mode)
    mode.write_text("always [madvise] never\n")
    assert torch.unusable(thp, 2) is None
    mode.write_text("[always] madvise never\n")
    assert "'always' for every process" in torch.unusable(thp, 2)
    mode.unlink()
    assert torch.unusable(thp, 2) == "this kernel has no transparent huge pages"
    # half the threads: the worker's environment sizes the pools for them
    assert torch.env(4, torch.tuning({"threads": "half"}, ""))["OMP_NUM_THREADS"] == "2"
