"""The worker's description of models (harness/record/described.py): typed and
versioned, refused in words when it is not one."""

import json

import pytest

from harness.record import described
from harness.record.described import ModelSize
from harness.record.results import ResultError

SIZE = ModelSize(dataset="mnist", parameters=1_199_882, forward_flops_per_image=23_676_040.0)


def test_a_description_reads_back_as_written(tmp_path):
    described.write({"mnist_cnn": SIZE}, tmp_path / "models.json")
    assert described.read(tmp_path / "models.json") == {"mnist_cnn": SIZE}
    data = json.loads((tmp_path / "models.json").read_text())
    assert (data["schema_version"], data["kind"]) == (described.SCHEMA_VERSION, "models")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(schema_version=2), "schema_version must be one of 1, got 2"),
        (lambda d: d.pop("kind"), "kind is missing"),
        (lambda d: d["models"]["mnist_cnn"].update(parameters=-1), "models.mnist_cnn.parameters"),
        (lambda d: d["models"].update(mnist_bn=[]), "models must be an object whose values"),
    ],
)
def test_a_file_that_is_not_a_description_of_this_version_is_refused(tmp_path, change, words):
    path = tmp_path / "models.json"
    described.write({"mnist_cnn": SIZE}, path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match=words) as e:
        described.read(path)
    assert str(path) in str(e.value)


def test_a_description_it_would_refuse_is_never_written(tmp_path):
    broken = ModelSize(dataset="", parameters=10, forward_flops_per_image=1.0)
    with pytest.raises(ResultError, match="models.m.dataset must be a non-empty string"):
        described.write({"m": broken}, tmp_path / "models.json")
    assert not (tmp_path / "models.json").exists()
