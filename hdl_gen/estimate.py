"""Resources of a generated design before synthesis, per stage, as FINN estimates its layers
before synthesis: read off the netlist that Amaranth builds while :func:`.emit.generate`
writes the Verilog (so nothing is elaborated twice). Flip-flops and memories are counted
where Yosys puts them (:func:`memory_home`); LUT4 is a linear model over the netlist's
operator bits (:data:`LUT_MODEL`), fitted on ECP5 designs (on the iCE40, where every adder
bit also takes a LUT4, it counts low). ``bench/estimate_error.py`` prints the errors per
design; docs/results.md keeps them."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from contextlib import contextmanager

from amaranth.hdl import _ir, _nir

from .parts import TARGETS, block_rams

__all__ = ["kept_netlist", "memory_home", "rom_width", "part_mux_bits", "netlist_features",
           "estimate_from_features", "estimate", "LUT_MODEL", "LUT_MODEL_HELD", "RESOURCES"]

RESOURCES = ("luts", "ffs", "brams", "lutrams")

#: Yosys ``memory_libmap``'s cost of one bit of a memory built from logic (its defaults:
#: a read-only memory's bit 1/16, a written memory's bit 1).
LOGIC_COST_ROM, LOGIC_COST_RAM = 1 / 16, 1.0

#: LUT4 per unit of each netlist feature (:func:`netlist_features`) on the ECP5 (adders and
#: ordered comparisons go to carry cells, not LUT4). Held by reasoning
#: (:data:`LUT_MODEL_HELD`): a bit of a choice between two signals is one LUT4, a bit of a
#: read-only memory of at most 16 words in logic one LUT4 per 16 words, case decoders
#: nothing (they merge into the logic they drive). Fitted (the smallest largest relative
#: error, ``bench/estimate_error.py --fit``) on the three shipped ECP5 designs and the seed
#: CNN's 9,300/s fold under Yosys 0.70, 2026-12-08: a multiplexer with a constant arm (a
#: gate, often the flip-flop's own reset or enable) and bitwise logic (trees of one-bit
#: gates, several to a LUT4); the designs and the errors: docs/results.md, "The weight
#: pieces chosen in two levels".
LUT_MODEL = {"choice_bits": 1.0, "gate_mux_bits": 0.344, "logic_bits": 0.6738,
             "decoder_bits": 0.0, "rom_luts": 1.0}
#: The weights of :data:`LUT_MODEL` set by reasoning, not fitted.
LUT_MODEL_HELD = ("choice_bits", "decoder_bits", "rom_luts")


@contextmanager
def kept_netlist(kept: list):
    """While inside, every netlist Amaranth builds (to emit Verilog or RTLIL) is appended
    to ``kept``."""
    build = _ir.build_netlist

    def keeping(*args, **kwargs):
        netlist = build(*args, **kwargs)
        kept.append(netlist)
        return netlist

    _ir.build_netlist = keeping
    try:
        yield kept
    finally:
        _ir.build_netlist = build


def memory_home(width: int, depth: int, written: bool, target: str,
                read_now: bool = False, block: bool = False) -> tuple[str, int]:
    """Where Yosys's ``memory_libmap`` puts a memory of ``depth`` words of ``width`` bits
    (``written``: it has a write port) on ``target``: the cheapest of logic (its bits at
    :data:`LOGIC_COST_ROM` or :data:`LOGIC_COST_RAM` each), the part's block RAM (its
    ``block_ram_cost`` per block, in the best shape) and LUT RAM (written memories only;
    ``lutram_cost`` per cell of ``lutram_shape``); ``read_now``: a read port without a
    register (block RAM reads on a clock edge), so no block RAM; ``block``: it carries
    ``ram_style = "block"`` (:attr:`.config.MemoryStyle.weight_attrs`), so block RAM. Returns
    ``("logic", bits)``, ``("block", blocks)`` or ``("lutram", cells)``."""
    part = TARGETS[target]
    bits = width * depth
    # not modelled (every memory in block RAM, an upper bound), or marked for block RAM
    if not part.block_ram_cost or (block and not read_now):
        return ("block", block_rams(width, depth, target))
    options = [(bits * (LOGIC_COST_RAM if written else LOGIC_COST_ROM), ("logic", bits))]
    if not read_now:
        blocks = block_rams(width, depth, target)
        options.append((blocks * part.block_ram_cost, ("block", blocks)))
    if part.lutram_shape and written:
        cell_width, cell_depth = part.lutram_shape
        cells = -(-width // cell_width) * -(-depth // cell_depth)
        options.append((cells * part.lutram_cost, ("lutram", cells)))
    return min(options, key=lambda option: option[0])[1]


def rom_width(init, width: int) -> int:
    """Bits of a read-only memory's word that differ between its words: Yosys
    (``opt_mem``) ties a bit that holds one value in every word to that constant, so a
    pooling layer's weights (one 1 per word) take a block RAM a few bits wide."""
    ones = zeros = 0
    for word in init:
        ones |= word
        zeros |= ~word
    return bin(ones & zeros & ((1 << width) - 1)).count("1")


def part_mux_bits(cell) -> int:
    """The 2:1 multiplexer bits of a variable slice (``bit_select``, ``word_select``): its
    ``width`` output bits, each chosen among the slices its offset can name."""
    choices = -(-max(len(cell.value) - cell.width, 0) // cell.stride) + 1
    return (choices - 1) * cell.width


def _stage(netlist, cell) -> str:
    name = netlist.modules[cell.module_idx].name
    return name[1] if len(name) > 1 else "top"


def netlist_features(netlist, target: str) -> dict[str, Counter]:
    """``{stage: Counter}`` of what the resources are estimated from: flip-flop bits,
    memories by where they go (:func:`memory_home`; a read-only memory by its bits that
    are not constant, :func:`rom_width`), and the LUT features of
    :data:`LUT_MODEL` (input bits of multiplexers between two signals, ``choice_bits``, and
    of those with a constant arm, ``gate_mux_bits``; of bitwise logic; of case decoders
    (value bits times patterns); and of read-only memories in logic ``ceil(depth / 16)``
    per bit, none at two words or fewer); a variable slice counts as the choice it is
    (:func:`part_mux_bits`)."""
    written = {cell.memory for cell in netlist.cells if isinstance(cell, _nir.SyncWritePort)}
    read_now = {cell.memory for cell in netlist.cells if isinstance(cell, _nir.AsyncReadPort)}
    features = defaultdict(Counter)
    for index, cell in enumerate(netlist.cells):
        found = features[_stage(netlist, cell)]
        if isinstance(cell, _nir.FlipFlop):
            found["ffs"] += len(cell.data)
        elif isinstance(cell, _nir.Memory):
            width = cell.width if index in written else rom_width(cell.init, cell.width)
            kind, count = memory_home(width, cell.depth, index in written, target,
                                      index in read_now,
                                      cell.attributes.get("ram_style") == "block")
            if kind == "block":
                found["brams"] += count
            elif kind == "lutram":
                found["lutrams"] += count
            elif index in written:
                found["ffs"] += count
            elif cell.depth > 2:
                found["rom_luts"] += width * math.ceil(cell.depth / 16)
        elif isinstance(cell, _nir.Operator):
            bits = max(len(value) for value in cell.inputs)
            if cell.operator == "m":
                gate = any(value.is_const for value in cell.inputs[1:])
                found["gate_mux_bits" if gate else "choice_bits"] += bits
            elif cell.operator in ("&", "|", "^", "r&", "r|", "r^", "b"):
                found["logic_bits"] += bits
        elif isinstance(cell, _nir.Matches):
            found["decoder_bits"] += len(cell.value) * len(cell.patterns)
        elif isinstance(cell, _nir.Part):
            found["choice_bits"] += part_mux_bits(cell)
    return dict(features)


def estimate_from_features(features: dict[str, Counter]) -> dict:
    """``{"stages": {stage: {resource: n}}, "total": {resource: n}}`` of
    :func:`netlist_features`."""
    stages = {}
    for stage, found in features.items():
        stages[stage] = {"luts": round(sum(weight * found[name]
                                           for name, weight in LUT_MODEL.items())),
                         "ffs": found["ffs"], "brams": found["brams"],
                         "lutrams": found["lutrams"]}
    total = {resource: sum(s[resource] for s in stages.values()) for resource in RESOURCES}
    return {"stages": stages, "total": total}


def estimate(netlist, target: str) -> dict:
    """The resource estimate of ``netlist`` (a design built for ``target``)."""
    return estimate_from_features(netlist_features(netlist, target))
