"""Energy per image: the SNN's counted operations against ANN baselines, at 45 nm.

Per-operation energies from M. Horowitz, "Computing's energy problem (and what we can do
about it)", ISSCC 2014 (45 nm, 0.9 V): integer add 8/16/32 bit 0.03/0.05/0.1 pJ; integer
multiply 8/32 bit 0.2/3.1 pJ; float32 add 0.9 pJ, multiply 3.7 pJ; SRAM read of 64 bits
from an 8 KB array 10 pJ.

Models (estimates; the report says so), all on one memory model: **every use of a weight
reads it from on-chip SRAM**, its bits at the same energy per bit (the 64-bit read above
/ 64), on both sides. Each row gives compute only, memory only and their sum:

- SNN: per synaptic operation one add (of the layer's state width) and one read of a
  ``weight_width``-bit weight, counted from the golden trace; each neuron's update per
  step (bias and threshold) as one add and one compare.
- ANN, int8: every multiply-accumulate of the dense network as an 8x8 multiply and a 32-bit
  add, and one 8-bit weight read.
- ANN, float32: the same MACs as float32 multiply and add, and one 32-bit weight read.
- Quantized ANN with ``b = ceil(log2(T+1))``-bit activations (Yan, Bai, Tang & Wong,
  "Reconsidering the energy efficiency of spiking neural networks", arXiv 2409.08290):
  every MAC as a ``b x weight_width`` multiply (8x8 energy scaled by the bit product) and
  an add of the accumulator width, and one ``weight_width``-bit weight read.

Activations, spikes and membrane states are not charged on either side.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ENERGY_PJ", "SOURCE", "add_energy", "energy_report", "weight_reads_pj"]

SOURCE = "Horowitz, ISSCC 2014, 45 nm"
ENERGY_PJ = {"add8": 0.03, "add16": 0.05, "add32": 0.1, "mul8": 0.2, "mul32": 3.1,
             "fadd32": 0.9, "fmul32": 3.7, "sram_read_64b": 10.0}


def add_energy(width: int) -> float:
    """Energy of one integer add of ``width`` bits (the next listed width up)."""
    for bits in (8, 16, 32):
        if width <= bits:
            return ENERGY_PJ[f"add{bits}"]
    return ENERGY_PJ["add32"] * width / 32


def _multiply_energy(a_bits: int, b_bits: int) -> float:
    return ENERGY_PJ["mul8"] * (a_bits * b_bits) / 64


def _weights(layer) -> int:
    if layer.kind == "conv2d":
        return layer.out_shape[0] * layer.kernel_volume
    return layer.in_features * layer.out_features


def _macs(layer) -> int:
    """Multiply-accumulates of the layer run densely as an ANN."""
    if layer.kind == "conv2d":
        return _weights(layer) * layer.positions
    return _weights(layer)


def weight_reads_pj(uses: float, bits: int) -> float:
    """Energy of ``uses`` reads of a ``bits``-bit weight from SRAM (the one memory model)."""
    return uses * bits * ENERGY_PJ["sram_read_64b"] / 64


def _row(compute: float, memory: float, **counts) -> dict:
    return {**counts, "compute_pj": round(compute, 1), "memory_pj": round(memory, 1),
            "total_pj": round(compute + memory, 1)}


def energy_report(plan, synops: dict) -> dict:
    """Energy per image (pJ) for the SNN (from the golden synaptic operations per layer and
    image) and for the ANN baselines of the same network: compute, memory, total."""
    timesteps = plan.network.timesteps
    layers = {layer.name: layer for layer in plan.layers}
    synops = {name: float(np.mean(v)) for name, v in synops.items()}
    snn_add = sum(synops[name] * add_energy(layers[name].state_width) for name in synops)
    snn_memory = sum(weight_reads_pj(synops[name], layers[name].weight_width)
                     for name in synops)
    updates = timesteps * sum(layer.neurons for layer in plan.layers)
    snn_neuron = updates * 2 * ENERGY_PJ["add16"]
    macs = sum(_macs(layer) for layer in plan.layers)
    activation_bits = max(1, math.ceil(math.log2(timesteps + 1)))
    quant_mac = sum(_macs(layer) *
                    (_multiply_energy(activation_bits, layer.weight_width)
                     + add_energy(layer.state_width)) for layer in plan.layers)
    quant_memory = sum(weight_reads_pj(_macs(layer), layer.weight_width)
                       for layer in plan.layers)
    return {
        "source": SOURCE,
        "per_operation_pj": ENERGY_PJ,
        "note": "estimates from counted operations and per-operation energies at 45 nm, "
                "every weight read from SRAM at each use on both sides; not a measurement "
                "of the FPGA",
        "snn": _row(snn_add + snn_neuron, snn_memory, synaptic_ops=float(sum(synops.values())),
                    adds_pj=round(snn_add, 1), neuron_updates_pj=round(snn_neuron, 1)),
        "ann_int8": _row(macs * (ENERGY_PJ["mul8"] + ENERGY_PJ["add32"]),
                         weight_reads_pj(macs, 8), macs=macs),
        "ann_float32": _row(macs * (ENERGY_PJ["fmul32"] + ENERGY_PJ["fadd32"]),
                            weight_reads_pj(macs, 32), macs=macs),
        "quantized_ann": _row(quant_mac, quant_memory, macs=macs,
                              activation_bits=activation_bits),
    }
