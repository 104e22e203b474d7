"""The board's UART link simulated in Verilator and driven by the host code through a
pseudo-terminal: results equal golden, a corrupted frame is refused and sent again."""

import numpy as np
import pytest

from spikewright.board.host import BoardLink
from spikewright.golden import model
from spikewright.golden.random_network import random_dense_network, random_pixels
from spikewright.hdl_gen.board.uart_link import link_verilog
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.emit import generate, write_files
from spikewright.hdl_gen.plan import make_plan
from spikewright.sim.board_sim import start_link
from spikewright.sim.verify import read_manifest

pytestmark = pytest.mark.sim


def test_the_host_code_drives_the_simulated_link(tmp_path):
    rng = np.random.default_rng(8)
    net = random_dense_network(rng, max_width=8, neuron="if")
    plan = make_plan(net, HwConfig(lanes=2))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels = random_pixels(rng, net, 12)
    golden = model.run(net, pixels)
    divisor = 6
    board = start_link(tmp_path / "rtl", link_verilog(plan, read_manifest(tmp_path / "rtl"),
                                                      divisor), divisor, tmp_path / "builds")
    link = BoardLink(board.port, 3_000_000, classes=plan.classes, logit_width=plan.logit_width,
                     pixels_per_image=pixels[0].size, timeout_s=30)
    try:
        info = link.info()
        answers = link.classify(pixels, window=3, corrupt_every=5)
    finally:
        link.close()
        board.close()
    assert info["digest"] == net.digest()[:8]
    assert info["pixels_per_image"] == pixels[0].size
    assert answers["classes"] == golden.predictions.tolist()
    assert answers["logits"] == golden.logits.tolist()
    # frames 5, 10 (and the resent ones' turns) were corrupted on purpose and refused
    assert answers["corrupted_on_purpose"] >= 2
    assert answers["errors"] == {"bad checksum": answers["corrupted_on_purpose"]}
    assert answers["retries"] == answers["corrupted_on_purpose"]
    assert "host closed the link" in board.log.read_text()


def test_board_run_simulate_compares_every_result_with_golden(tmp_path):
    """The command: a digits network's dataflow design behind the iCEBreaker's link (12 MHz,
    3 Mbaud: 4 cycles per bit), 6 test images, every third frame corrupted on purpose."""
    import json
    from bad_inputs import run_command, saved_ir
    ir = saved_ir(tmp_path)
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl"),
                                  "--lanes", "4"])
    assert status == 0, err
    status, out, err = run_command(["board", "run", str(ir), "--board", "icebreaker",
                                    "--simulate", "--rtl", str(tmp_path / "rtl"), "--images",
                                    "6", "--corrupt-every", "3", "--json",
                                    str(tmp_path / "board.json"), "-q"])
    assert status == 0, err
    report = json.loads((tmp_path / "board.json").read_text())
    assert report == json.loads(out)
    assert report["images"] == 6 and report["mismatches"] == 0
    assert report["accuracy"] == report["golden_accuracy_same_images"]
    assert report["corrupted_on_purpose"] >= 2
    assert report["errors_answered"] == {"bad checksum": report["corrupted_on_purpose"]}
    assert report["cycles_per_bit"] == 4 and report["simulated"] is True
    # 6 images of 64 pixels and the retries over a 3 Mbaud line bound the simulated rate
    assert report["images_per_s_at_clock"] < report["link_limit_images_per_s"]
    assert report["limited_by"] == "link"


def test_weights_loaded_through_the_simulated_link_into_spram_give_golden_results(tmp_path):
    """An SPRAM design behind the link: the host writes its weights in WEIGHTS frames (one
    in two corrupted on purpose and sent again), then every image equals golden; images
    sent before the weights would not (the SPRAM starts empty)."""
    from spikewright.hdl_gen.spram import bank_contents
    rng = np.random.default_rng(12)
    net = random_dense_network(rng, max_width=8, neuron="if", weight_width=4)
    plan = make_plan(net, HwConfig(lanes=4, target="ice40-up5k",
                                   memory_style="spram", input_buffers=1))
    write_files(generate(net, plan=plan), tmp_path / "rtl")
    pixels = random_pixels(rng, net, 6)
    golden = model.run(net, pixels)
    divisor = 4
    board = start_link(tmp_path / "rtl", link_verilog(plan, read_manifest(tmp_path / "rtl"),
                                                      divisor), divisor, tmp_path / "builds")
    link = BoardLink(board.port, 3_000_000, classes=plan.classes, logit_width=plan.logit_width,
                     pixels_per_image=pixels[0].size, timeout_s=30)
    try:
        empty = link.classify(pixels[:1])
        loaded = link.load_weights(bank_contents(plan), corrupt_every=2)
        answers = link.classify(pixels, window=3)
    finally:
        link.close()
        board.close()
    assert empty["logits"][0] != golden.logits[0].tolist()
    assert loaded["frames"] == sum(-(-len(w) // 64) for w in bank_contents(plan).values())
    assert loaded["corrupted_on_purpose"] >= 1
    assert loaded["errors"] == {"bad checksum": loaded["corrupted_on_purpose"]}
    assert answers["classes"] == golden.predictions.tolist()
    assert answers["logits"] == golden.logits.tolist()
