import subprocess
import sys

import pytest

from harness import cli, plugins
from harness.backends import all_backends, resolve
from harness.backends.base import Backend


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


def test_tuned_environment_adds_the_backends_tuning_last(monkeypatch):
    from harness.backends.base import Tuning

    jax = resolve("jax")
    tuning = Tuning(env={"XLA_FLAGS": "--a_flag", "JAX_PLATFORMS": "cpu,tuned"})
    monkeypatch.setattr(type(jax), "tuning", tuning)
    default, tuned = jax.env(2), jax.env(2, tuned=True)
    assert "XLA_FLAGS" not in default and default["JAX_PLATFORMS"] == "cpu"
    assert tuned == {**default, **tuning.env}


def test_every_backend_justifies_each_tuned_setting():
    for backend in all_backends():
        t = backend.tuning
        changes = len(t.env) + len(t.code) + (t.data_format is not None)
        changes += t.jit_compile is not None
        assert len(t.why) >= changes, f"{backend.name}: a tuned setting without its figure"


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
