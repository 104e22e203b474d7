"""A file a user names is written whole or not at all, and a device or link is written into,
never replaced (golden/output_file.py)."""

import os
import stat
from pathlib import Path

import pytest

from spikewright.golden.output_file import write_output


def test_a_new_file_is_written_and_no_partial_file_is_left(tmp_path):
    write_output(tmp_path / "a.json", lambda target: Path(target).write_text("new"))
    assert (tmp_path / "a.json").read_text() == "new"
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_failed_write_leaves_the_old_file_as_it_was(tmp_path):
    (tmp_path / "a.json").write_text("old")

    def half_then_fail(target):
        Path(target).write_text("ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(ValueError, match=r"cannot write .*a\.json: No space left on device"):
        write_output(tmp_path / "a.json", half_then_fail)
    assert (tmp_path / "a.json").read_text() == "old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_full_device_is_one_line_and_stays_a_device():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(ValueError, match=r"^cannot write /dev/full: No space left on device$"):
        write_output("/dev/full", lambda target: Path(target).write_text("x" * 100))
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "target.json").write_text("old")
    os.symlink(tmp_path / "target.json", tmp_path / "link.json")
    write_output(tmp_path / "link.json", lambda target: Path(target).write_text("new"))
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "target.json").read_text() == "new"


def test_a_folder_that_cannot_hold_the_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"cannot write .*missing/a\.json: No such file"):
        write_output(tmp_path / "missing" / "a.json", lambda target: Path(target).write_text("x"))
