"""Every bad input ends with exit status 2 and one line that says what was wrong and what
would be right (the catalogue in tests/bad_inputs.py), and docs/errors.md is that catalogue."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bad_inputs import CASES, DOC, check, collect, converted, render, run_command, saved_ir


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.dataset]
                                               if c.needs_dataset else [], id=c.what)
                                  for c in CASES])
def test_a_bad_input_gets_one_line_and_status_2(case, tmp_path):
    check(case, tmp_path)


@pytest.mark.dataset
def test_docs_errors_md_is_generated_from_the_cases(tmp_path):
    assert DOC.read_text() == render(collect(tmp_path)), \
        "docs/errors.md is out of date: run `python tests/bad_inputs.py`"


def test_the_console_script_prints_one_line_and_no_traceback(tmp_path):
    script = Path(sys.executable).parent / "spikewright"
    result = subprocess.run([str(script), "regress", "--seeds", "5:2"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("spikewright: error: --seeds 5:2 is empty: STOP must be greater "
                             "than START\n")


def test_force_writes_beside_other_files(tmp_path):
    ir = saved_ir(tmp_path)
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "notes.txt").write_text("mine\n")
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl"),
                                  "--force"])
    assert status == 0, err
    assert (tmp_path / "rtl" / "notes.txt").read_text() == "mine\n"
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl"),
                                  "--force"])
    assert ("replacing manifest.json, spikewright_axis.v, spikewright_top.v, spikewright_top.vlt"
            " in") in err


def test_an_ir_moved_away_from_its_checkpoint_says_why_the_ann_is_missing(tmp_path):
    ir = converted(tmp_path)
    moved = tmp_path / "elsewhere" / "deeper" / "ir"
    moved.parent.mkdir(parents=True)
    ir.rename(moved)
    status, out, err = run_command(["eval", str(moved), "-q"])
    assert status == 0, err
    assert json.loads(out)["accuracy"]["ann_quant"] is None
    assert "which is not there: the ANN's accuracy is not reported" in err
    status, out, err = run_command(["eval", str(moved), "--checkpoint",
                                    str(tmp_path / "m.pt"), "-q"])
    assert status == 0 and json.loads(out)["accuracy"]["ann_quant"] is not None


def test_a_short_image_range_is_reported(tmp_path):
    ir = saved_ir(tmp_path)
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl")])
    status, out, err = run_command(["verify", str(ir), str(tmp_path / "rtl"), "--first", "358",
                                    "--images", "5", "--bench", "amaranth", "-q"])
    assert status == 0, err
    assert "split ends after image 359: 2 images, not 5" in err
    assert json.loads(out)["images"] == 2


def test_outputs_are_checked_before_the_work_starts(tmp_path, monkeypatch):
    from spikewright import flow
    ran = []
    monkeypatch.setattr(flow, "golden", lambda *a, **k: ran.append(1))
    (tmp_path / "taken").mkdir()
    status, _, err = run_command(["eval", str(saved_ir(tmp_path)), "--json",
                                  str(tmp_path / "taken"), "-q"])
    assert status == 2 and ran == []
    status, _, err = run_command(["train", "--dataset", "digits", "--epochs", "1", "--out",
                                  str(tmp_path / "taken")])
    assert status == 2 and "is a directory" in err


def test_a_missing_output_folder_is_created(tmp_path):
    ir = saved_ir(tmp_path)
    target = tmp_path / "new" / "deeper" / "eval.json"
    status, _, err = run_command(["eval", str(ir), "--json", str(target), "-q"])
    assert status == 0, err
    assert json.loads(target.read_text())["images"] == 360
    assert np.isfinite(json.loads(target.read_text())["accuracy"]["snn_golden"])
