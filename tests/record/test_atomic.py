"""Files that appear complete or not at all."""

import errno
import os
import tempfile

import pytest

from harness.record import atomic


def test_atomic_write_leaves_only_the_final_file_readable_as_open_would(tmp_path):
    atomic.write_text_atomic(tmp_path / "a" / "REPORT.md", "one")
    atomic.write_text_atomic(tmp_path / "a" / "REPORT.md", "two")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["REPORT.md"]
    assert (tmp_path / "a" / "REPORT.md").read_text() == "two"
    (tmp_path / "plain").write_text("")
    mode = os.stat(tmp_path / "a" / "REPORT.md").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain").st_mode & 0o777


def test_a_folder_that_takes_no_file_is_said_with_the_file_asked_for(tmp_path, monkeypatch):
    """Not the temporary name beside it (root ignores a read-only folder: the refusal is
    made here, as the kernel makes it for anyone else)."""

    def refused(dir, prefix, suffix):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as e:
        atomic.write_text_atomic(tmp_path / "REPORT.md", "text")
    assert atomic.os_error(e.value) == f"Permission denied: {tmp_path / 'REPORT.md'}"
    assert os.listdir(tmp_path) == []
