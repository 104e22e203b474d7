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
    assert energy["snn"]["weight_reads_pj"] == pytest.approx(read / 64 * 10.0, abs=0.05)
