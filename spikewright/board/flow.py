"""Steps of the flow that meet a board: classify test images through the board's UART link
(on the board's serial port, or on the link simulated in Verilator) and compare every
result with golden."""

from __future__ import annotations

import re

import numpy as np

from spikewright import flow
from spikewright.hdl_gen.board import protocol as proto
from spikewright.hdl_gen.parts import board as board_named

__all__ = ["board_config", "run_on_board"]


def board_config(network: str, board: str, **fields):
    """The HwConfig a board builds ``network`` with: the shipped model's own
    (``hw_config.json``) or the default, for the board's part, with ``fields`` changed."""
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.shipped import shipped_hw_config, shipped_models
    base = shipped_hw_config(network) if network in shipped_models() else {}
    return HwConfig.from_json({**HwConfig().to_json(), **base,
                               "target": board_named(board).target, **fields})


def _core_images_per_s(build: flow.Build, clock_mhz: float) -> float:
    return clock_mhz * 1e6 / flow.stream_timing(build).interval


def _compare(build: flow.Build, answers: dict) -> dict:
    """The board's classes and logits against golden's, through the comparator that
    :func:`spikewright.flow.verify` uses (no spikes or cycles: a board shows only results)."""
    from spikewright.hdl_gen.emit import result_payload_layout
    from spikewright.sim.expected import Expected, compare, encode_payload
    from spikewright.sim.recording import Recording
    golden, layout = build.images.golden, result_payload_layout(build.plan)
    count = len(build.images.pixels)
    recording = Recording(count, payloads=[
        None if cls is None else encode_payload(cls, logits, layout)
        for cls, logits in zip(answers["classes"], answers["logits"])])
    expected = Expected(golden.predictions, golden.logits, np.full(count, -1), golden,
                        build.plan)
    return compare(expected, recording, layout, check_cycles=False, check_spikes=False)


def run_on_board(build: flow.Build, board: str, *, port: str | None = None,
                 simulate: bool = False, baud: int | None = None,
                 clock_mhz: float | None = None, window: int = 4, corrupt_every: int = 0,
                 build_root=None, progress=None) -> flow.Build:
    """Classify the build's images on ``board`` through its UART link: on the serial
    ``port``, or (``simulate``) on the link around the generated design (``build.rtl_dir``)
    in Verilator, reached through a pseudo-terminal by the same host code. Every class and
    logit is compared with golden: ``results["board_run"]``, with images/s and what limits
    it (the link's bytes or the core's interval)."""
    from spikewright.board.host import BoardLink
    from spikewright.hdl_gen.board.uart import divisor_for
    from spikewright.hdl_gen.spram import bank_contents
    from spikewright.sim.verify import check_design
    spec = board_named(board)
    if (port is None) == (not simulate):
        raise ValueError("give the board's serial port (--port DEVICE) or simulate it "
                         "(--simulate), one of the two")
    baud = baud or spec.baud
    clock_mhz = clock_mhz or spec.clock_mhz
    divisor = divisor_for(clock_mhz * 1e6, baud)
    plan, image_set = build.plan, build.images
    if image_set is None or image_set.golden is None:
        raise ValueError("run golden on the images first")
    classes, logit_width = plan.classes, plan.logit_width
    pixels_per_image = int(np.prod(build.network.input.shape))
    simulated = None
    if simulate:
        from spikewright.hdl_gen.board.uart_link import link_verilog
        from spikewright.sim.board_sim import start_link
        manifest = check_design(build.rtl_dir, build.network)
        flow.log(f"building the simulated {board} link (Verilator; {divisor} cycles per bit)")
        simulated = start_link(build.rtl_dir, link_verilog(plan, manifest, divisor), divisor,
                               build_root)
        port = simulated.port
    link = BoardLink(port, baud, classes=classes, logit_width=logit_width,
                     pixels_per_image=pixels_per_image)
    try:
        info = link.info()
        digest = build.network.digest()[:8]
        if info["digest"] != digest or info["pixels_per_image"] != pixels_per_image:
            raise ValueError(f"the board runs another network (IR digest {info['digest']}, "
                             f"{info['pixels_per_image']} pixels per image); this one is "
                             f"{digest}, {pixels_per_image} pixels: build and load its "
                             f"bitstream first")
        contents = bank_contents(plan)
        loaded = None
        if contents:
            flow.log(f"writing the weights into the board's SPRAM "
                     f"({sum(map(len, contents.values()))} words)")
            loaded = link.load_weights(contents, corrupt_every=corrupt_every)
        answers = link.classify(image_set.pixels, window=window, corrupt_every=corrupt_every,
                                progress=progress)
    finally:
        link.close()
        if simulated is not None:
            simulated.close()
    lost = sum(cls is None for cls in answers["classes"])
    if lost:
        from spikewright.board.host import LinkError
        raise LinkError(f"the link failed, not the design: {lost} of {len(answers['classes'])} "
                        f"images got no result after {answers['retries']} retries (the board "
                        f"answered {answers['errors'] or 'nothing usable'}); check the cable, "
                        f"the baud rate ({baud}) and the board's clock ({clock_mhz:g} MHz)")
    golden = image_set.golden
    compared = _compare(build, answers)
    mismatches, first = compared["mismatches"], compared["first_mismatch"]
    count = len(image_set.pixels)
    frame_in = 4 + pixels_per_image
    frame_out = proto.result_frame_size(classes, logit_width)
    link_rate = baud / 10 / max(frame_in, frame_out)
    core_rate = _core_images_per_s(build, clock_mhz)
    report = {
        "board": board, "port": None if simulate else port, "simulated": simulate,
        "images": count, "mismatches": mismatches, "first_mismatch": first,
        "accuracy": None if image_set.labels is None else float(np.mean(
            [c == int(label) for c, label in zip(answers["classes"], image_set.labels)])),
        "golden_accuracy_same_images": None if image_set.labels is None
        else float(np.mean(golden.predictions == image_set.labels)),
        "errors_answered": answers["errors"], "retries": answers["retries"],
        "corrupted_on_purpose": answers["corrupted_on_purpose"],
        "frames_sent": answers["frames_sent"], "baud": baud, "clock_mhz": clock_mhz,
        "cycles_per_bit": divisor, "window": window,
        "link_limit_images_per_s": link_rate, "core_limit_images_per_s": core_rate,
        "limited_by": "link" if link_rate < core_rate else "core",
        "wall_s": round(answers["wall_s"], 2), "bytes_sent": answers["bytes_sent"],
        "bytes_received": answers["bytes_received"],
        "weights_loaded": None if loaded is None else {
            k: (round(v, 2) if k == "wall_s" else v) for k, v in loaded.items()
            if k not in ("bytes_sent", "bytes_received")},
        "network_digest": build.network.digest(), "dataset": image_set.dataset,
        "split": image_set.split, "first_image": image_set.first,
    }
    if simulate:
        log = simulated.log.read_text()
        found = re.search(r"host closed the link after (\d+) cycles", log)
        cycles = int(found.group(1)) if found else None
        # the weight frames' time is their bytes on the line: the link takes each word as
        # it arrives and the core writes it the next cycle
        loading = 10 * divisor * (loaded["bytes_sent"] if loaded else 0)
        report.update(simulated_cycles=cycles, weight_loading_cycles=loading,
                      images_per_s_at_clock=(count * clock_mhz * 1e6 / (cycles - loading)
                                             if cycles else None),
                      images_per_s_note="simulated: images over simulated time at the "
                                        "board's clock, less the weights' loading (the wall "
                                        "time is the simulator's)",
                      build_dir=str(simulated.built.directory))
    else:
        report["images_per_s"] = count / answers["wall_s"]
    build.results["board_run"] = report
    return build
