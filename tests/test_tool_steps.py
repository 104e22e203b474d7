"""Long tool runs remembered by their inputs (spikewright.tool_steps)."""

from spikewright.tool_steps import finished_step, record_step, step_key


def test_the_key_follows_every_input_and_a_file_by_its_bytes(tmp_path):
    design = tmp_path / "top.v"
    design.write_text("module a; endmodule\n")
    key = step_key(design, "synth_ecp5", 1)
    assert key == step_key(design, "synth_ecp5", 1)
    assert key != step_key(design, "synth_ecp5", 2) != step_key(design, "synth_ice40", 1)
    design.write_text("module b; endmodule\n")
    assert step_key(design, "synth_ecp5", 1) != key


def test_a_step_counts_as_done_only_on_its_key_with_its_outputs_still_there(tmp_path):
    (tmp_path / "stat.json").write_text("{}")
    assert finished_step(tmp_path, "yosys", "k1", ["stat.json"]) is None
    record_step(tmp_path, "yosys", "k1", seconds=12.5)
    assert finished_step(tmp_path, "yosys", "k1", ["stat.json"]) == {"key": "k1", "seconds": 12.5}
    assert finished_step(tmp_path, "yosys", "k2", ["stat.json"]) is None
    assert finished_step(tmp_path, "nextpnr", "k1", ["stat.json"]) is None
    (tmp_path / "stat.json").unlink()
    assert finished_step(tmp_path, "yosys", "k1", ["stat.json"]) is None
    (tmp_path / "stat.json").write_text("{}")
    (tmp_path / "yosys.done.json").write_text("not json")
    assert finished_step(tmp_path, "yosys", "k1", ["stat.json"]) is None
