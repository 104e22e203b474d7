"""Energy per image: the SNN's counted operations against the ANN baselines."""

import numpy as np
import pytest

from spikewright.hdl_gen.config import HwConfig

def test_energy_counts_the_snn_below_the_dense_ann(small_rtl):
    from spikewright.energy import energy_report
    from spikewright.golden import load, model
    from spikewright.golden.random_network import random_pixels
    from spikewright.hdl_gen.plan import make_plan
    net = load(small_rtl / "ir")
    plan = make_plan(net, HwConfig(lanes=3))
    result = model.run(net, random_pixels(np.random.default_rng(0), net, 20), trace=True)
    energy = energy_report(plan, result.synops)
    macs = sum(l.in_features * l.out_features for l in plan.layers)
    assert energy["ann_int8"]["macs"] == macs
    assert energy["snn"]["synaptic_ops"] == pytest.approx(float(result.synops_total.mean()))
    assert energy["quantized_ann"]["activation_bits"] == 2  # T = 3
    assert energy["snn"]["total_pj"] < energy["ann_int8"]["total_pj"]
    widths = {layer.name: layer.weight_width for layer in plan.layers}
    read = sum(float(ops.mean()) * widths[name] for name, ops in result.synops.items())
    assert energy["snn"]["memory_pj"] == pytest.approx(read / 64 * 10.0, abs=0.05)


def test_both_sides_are_charged_a_weight_read_at_each_use_at_the_same_energy_per_bit(
        small_rtl):
    from spikewright.energy import energy_report, weight_reads_pj
    from spikewright.golden import load
    from spikewright.hdl_gen.plan import make_plan
    net = load(small_rtl / "ir")
    plan = make_plan(net, HwConfig(lanes=3))
    synops = {layer.name: np.array([100.0]) for layer in plan.layers}
    energy = energy_report(plan, synops)
    macs = energy["ann_int8"]["macs"]
    per_bit = weight_reads_pj(1, 1)
    assert per_bit == pytest.approx(10.0 / 64)
    assert energy["ann_int8"]["memory_pj"] == pytest.approx(macs * 8 * per_bit, abs=0.05)
    assert energy["ann_float32"]["memory_pj"] == pytest.approx(macs * 32 * per_bit, abs=0.05)
    quant = sum(layer.in_features * layer.out_features * layer.weight_width
                for layer in plan.layers) * per_bit
    assert energy["quantized_ann"]["memory_pj"] == pytest.approx(quant, abs=0.05)
    snn = sum(100.0 * layer.weight_width for layer in plan.layers) * per_bit
    assert energy["snn"]["memory_pj"] == pytest.approx(snn, abs=0.05)
    for row in ("snn", "ann_int8", "ann_float32", "quantized_ann"):
        assert energy[row]["memory_pj"] > 0 and energy[row]["compute_pj"] > 0
        assert energy[row]["total_pj"] == pytest.approx(
            energy[row]["compute_pj"] + energy[row]["memory_pj"], abs=0.11)
