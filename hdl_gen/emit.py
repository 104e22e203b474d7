"""Emission: Verilog of the network top, Verilator waivers and a JSON manifest, in memory
as ``{file name: text}`` and written out in one place. Same IR and HwConfig, same bytes."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
from pathlib import Path

import amaranth
from amaranth import Shape
from amaranth.back import verilog

from .axis_top import AXIS_MODULE, AxisTop, result_bytes
from .config import HwConfig
from .parts import TARGETS
from .core_instance import CoreInstance
from .estimate import estimate, kept_netlist
from .plan import NetworkPlan, make_plan
from .spram import (PRIMITIVE, SIMULATION_MODEL, bank_contents, simulation_model, spram_stages,
                    spram_writes, write_layout)
from .stream_top import StreamTop

__all__ = ["TOP_MODULE", "AXIS_FILE", "SPRAM_WRITES", "FILES", "generate", "trace_layout",
           "write_files", "files_digest", "generator_version", "result_payload_layout",
           "manifest_digest", "seal_manifest"]

TOP_MODULE = "spikewright_top"
#: The files a generated design consists of.
AXIS_FILE = f"{AXIS_MODULE}.v"
#: an SPRAM design's weight writes, one ``weights`` payload per line (hex), in order
SPRAM_WRITES = "spram_writes.hex"
FILES = (f"{TOP_MODULE}.v", f"{TOP_MODULE}.vlt", AXIS_FILE, "manifest.json")

# Warnings that come from how Amaranth writes Verilog, not from the design.
_WAIVERS = [
    ("UNUSEDSIGNAL", "Amaranth keeps every named intermediate signal and full-width memory "
                     "read data; unused bits are removed by synthesis"),
    ("UNUSEDPARAM", "Amaranth emits parameters it does not reference"),
    ("DECLFILENAME", "the file is named after the top module, submodules share it"),
    ("WIDTHEXPAND", "Amaranth widens operands explicitly in its own arithmetic"),
    ("WIDTHTRUNC", "Amaranth truncates results to the declared width on assignment"),
    ("PINCONNECTEMPTY", "Amaranth leaves unused submodule outputs unconnected"),
    ("BLKSEQ", "Amaranth initializes memories with blocking assignments in initial blocks"),
    ("UNDRIVEN", "Amaranth declares memory arrays that only initial blocks drive"),
    ("PROCASSINIT", "Amaranth writes reset values as declaration initializers of registers"),
    ("ASCRANGE", "Amaranth declares the zero-width address of a one-word memory as [-1:0]"),
    ("CASEINCOMPLETE", "Amaranth's case statements rely on a default assignment before them"),
]


_PORT = re.compile(r"^\s*(input|output)\s+(?:signed\s+)?(?:\[(\d+):0\]\s*)?(\w+);", re.M)

_PORT_DOC = {
    "clk": "clock, rising edge",
    "rst": "synchronous reset, active high",
    "pixels__payload": "pixel value 0..255, C, H, W order",
    "pixels__valid": "pixel stream valid",
    "pixels__ready": "pixel stream ready",
    "result__payload": "cls (low bits) then logits[0..classes-1], signed",
    "result__valid": "result valid (held until taken)",
    "result__ready": "result ready (backpressure)",
    "trace_input_valid": "debug: an encoded input neuron spikes in some step",
    "aclk": "clock, rising edge",
    "aresetn": "synchronous reset, active low",
    "s_axis_tdata": "pixels 0..255, C, H, W order, the first of a beat in the low byte",
    "s_axis_tvalid": "pixel beat valid",
    "s_axis_tready": "pixel beat ready",
    "s_axis_tlast": "the last beat of an image",
    "m_axis_tdata": "the result payload (cls, then logits), zero-extended to whole bytes",
    "m_axis_tvalid": "result valid (held until taken)",
    "m_axis_tready": "result ready (backpressure)",
    "m_axis_tlast": "1: one beat per result",
    "weights__payload": "SPRAM weight write: data (low bits), address, bank",
    "weights__valid": "SPRAM weight write valid",
    "weights__ready": "SPRAM weight write taken (its layer is idle)",
    "s_axis_weights_tdata": "SPRAM weight write: data (low bits), address, bank",
    "s_axis_weights_tvalid": "SPRAM weight write valid",
    "s_axis_weights_tready": "SPRAM weight write taken",
    "tlast_error": "set until reset when s_axis_tlast was not on an image's last beat",
}


def _ports(text: str, module: str = TOP_MODULE) -> list[dict]:
    """The top module's ports, read from the Verilog itself."""
    top = text[text.index(f"module {module}("):]
    top = top[:top.index("endmodule")]
    return [{"name": name, "direction": direction, "width": int(msb) + 1 if msb else 1,
             "description": _port_doc(name)}
            for direction, msb, name in _PORT.findall(top)]


def _port_doc(name: str) -> str:
    if name in _PORT_DOC:
        return _PORT_DOC[name]
    if name.startswith("trace_") and name.endswith("_valid"):
        return f"debug: {name[6:-6]} spikes handed over or one word of them written"
    if name.startswith("trace_") and name.endswith("_bits"):
        return f"debug: the {name[6:-5]} spike bitmap, bit t * step_bits + neuron"
    if name.startswith("trace_") and name.endswith("_index"):
        return f"debug: the {name[6:-6]} output word written, t * OH * OW + oy * OW + ox"
    if name.startswith("trace_") and name.endswith("_word"):
        return f"debug: the {name[6:-5]} output word written, bit = channel"
    return ""


def trace_layout(plan: NetworkPlan) -> dict:
    """The dataflow design's trace ports: for the input and each hidden layer, the valid and
    bitmap ports and the bits per step, or, for a conv layer writing a word memory, the
    valid, index and word ports, the word width and the words per image."""
    layout = {"input": {"valid": "trace_input_valid", "bits": "trace_input_bits",
                        "step_bits": plan.stream.encoder.out_bits, "layer": -1}}
    for stage in plan.stream.stages[:-1]:
        name = stage.layer.name
        if stage.layer.kind == "conv2d":
            layout[name] = {"valid": f"trace_{name}_valid", "index": f"trace_{name}_index",
                            "word": f"trace_{name}_word", "word_width": stage.word_width,
                            "words": stage.out_words, "layer": stage.layer.index}
            continue
        layout[name] = {"valid": f"trace_{name}_valid", "bits": f"trace_{name}_bits",
                        "step_bits": stage.out_bits, "layer": stage.layer.index}
    return layout


def generator_version() -> str:
    """The installed spikewright's version (package metadata)."""
    try:
        return importlib.metadata.version("spikewright")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def result_payload_layout(plan: NetworkPlan) -> dict:
    """Where ``cls`` and each logit lie in the result payload
    (:func:`.stream_top.result_layout`)."""
    return {"cls": {"lsb": 0, "width": plan.class_width},
            "logits": {"lsb": plan.class_width, "width": plan.logit_width,
                       "count": plan.classes, "signed": True, "stride": plan.logit_width}}


def generate(network, config: HwConfig | None = None, *,
             plan: NetworkPlan | None = None, notes: dict | None = None) -> dict[str, str]:
    """Return ``{"spikewright_top.v": ..., "spikewright_top.vlt": ...,
    "spikewright_axis.v": ..., "manifest.json": ...}`` (the AXI4-Stream top,
    :mod:`.axis_top`, instantiates the first) for ``network`` laid out by ``config`` (or
    by an already made ``plan`` of both)."""
    if plan is None:
        plan = make_plan(network, config or HwConfig())
    elif plan.network is not network or (config is not None and plan.config != config):
        raise ValueError("plan must be made from the network and HwConfig being generated")
    config = plan.config
    top = StreamTop(plan)
    with kept_netlist([]) as netlists:
        text = verilog.convert(top, name=TOP_MODULE, emit_src=False, strip_internal_attrs=True)
    waivers = "`verilator_config\n" + "".join(
        f"// {reason}\n" + "".join(f"lint_off -rule {rule} -file \"*{name}\"\n"
                                   for name in (f"{TOP_MODULE}.v", AXIS_FILE))
        for rule, reason in _WAIVERS)
    if spram_stages(plan):
        waivers += (f"// the SPRAM's simulation model is Yosys's, not generated here\n"
                    f"lint_off -file \"*{SIMULATION_MODEL}\"\n")
    manifest = {
        "module": TOP_MODULE,
        "generator": f"spikewright {generator_version()} (amaranth {amaranth.__version__})",
        "ir_digest": network.digest(),
        "hw_config": config.to_json(),
        "lanes_used": {layer.name: layer.lanes for layer in plan.layers},
        "kernel_lanes_used": {stage.layer.name: stage.kernel_lanes
                              for stage in plan.stream.stages if stage.layer.kind == "conv2d"},
        "events_used": {stage.layer.name: stage.events for stage in plan.stream.stages},
        "ports": _ports(text),
        "pixels": {"order": "C, H, W; images back to back; the first pixel of a beat in the "
                            "low byte", "width": 8 * config.pixels_per_beat,
                   "per_beat": config.pixels_per_beat,
                   "per_image": int(plan.encoder.pixel_shape[0] * plan.encoder.positions)},
        "trace": trace_layout(plan),
        "result_payload": result_payload_layout(plan),
        "timesteps": network.timesteps,
        "layers": [{"name": l.name, "kind": l.kind, "neuron": l.neuron.value,
                    "inputs": l.input_count, "neurons": l.neurons, "lanes": l.lanes,
                    "lane_groups": l.groups, "weight_width": l.weight_width,
                    "state_width": l.state_width, "weight_memory_bits": s.weight_bits}
                   for l, s in zip(plan.layers, plan.stream.stages)],
        "weight_memory_bits": plan.weight_bits,
        "estimate": {"target": config.target, **estimate(netlists[0], config.target),
                     "source": "the netlist before synthesis (spikewright.hdl_gen.estimate)"},
    }
    axis = verilog.convert(AxisTop(plan, CoreInstance.of_manifest(plan, manifest)),
                           name=AXIS_MODULE, emit_src=False, strip_internal_attrs=True)
    manifest["axis"] = {"module": AXIS_MODULE, "file": AXIS_FILE,
                        "ports": _ports(axis, AXIS_MODULE), "result_bytes": result_bytes(plan),
                        "beats_per_image":
                            manifest["pixels"]["per_image"] // config.pixels_per_beat}
    files = {f"{TOP_MODULE}.v": text, f"{TOP_MODULE}.vlt": waivers, AXIS_FILE: axis}
    contents = bank_contents(plan)
    if contents:
        files[SIMULATION_MODEL] = simulation_model()
        files[SPRAM_WRITES] = "".join(f"{payload:08x}\n" for payload in spram_writes(plan))
        manifest["spram"] = {
            "primitive": PRIMITIVE, "simulation_model": SIMULATION_MODEL,
            "write_payload": {name: {"lsb": field.offset, "width": Shape.cast(field.shape).width}
                              for name, field in write_layout(TARGETS[config.target])},
            "layers": {s.layer.name: {"first_bank": s.spram.first_bank, "banks": s.spram.banks,
                                      "lanes_per_bank": s.spram.lanes_per_bank,
                                      "words": len(s.layer.weight_words)}
                       for s in spram_stages(plan)},
            "writes_file": SPRAM_WRITES,
            "words_to_write": sum(len(words) for words in contents.values()),
            "weight_bits": sum(s.layer.weight_bits for s in spram_stages(plan)),
            "note": "SPRAM holds nothing after configuration: write every word of every "
                    "bank (spikewright.hdl_gen.spram.bank_contents) before the first image"}
    manifest.update(notes or {})
    manifest["files"] = {name: hashlib.sha256(body.encode()).hexdigest()
                         for name, body in sorted(files.items())}
    files["manifest.json"] = json.dumps(seal_manifest(manifest), indent=2) + "\n"
    return files


def manifest_digest(manifest: dict) -> str:
    """The sha256 of ``manifest`` without its ``manifest_sha256`` (canonical JSON: sorted
    keys, no spaces), which the generator records in it: a manifest edited after
    ``generate`` no longer matches it."""
    body = {key: value for key, value in manifest.items() if key != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def seal_manifest(manifest: dict) -> dict:
    """``manifest`` with its :func:`manifest_digest` recorded as ``manifest_sha256`` (of its
    JSON form, as a reader gets it back: tuples as lists, keys as strings)."""
    manifest["manifest_sha256"] = manifest_digest(json.loads(json.dumps(manifest)))
    return manifest


def files_digest(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name, body in sorted(files.items()):
        h.update(name.encode() + b"\0" + body.encode() + b"\0")
    return h.hexdigest()


def write_files(files: dict[str, str], directory) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        partial = directory / f".{name}.partial"
        partial.write_text(body)
        os.replace(partial, directory / name)
    return directory
