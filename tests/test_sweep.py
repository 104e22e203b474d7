"""The lanes sweep and its Pareto front."""

import json

import numpy as np
import pytest

from spikewright.cli import main
from spikewright.golden import save
from spikewright.golden.random_network import random_dense_network
from spikewright.sweep import pareto_front

def test_pareto_front():
    points = [{"mean_cycles": 100, "luts": 50}, {"mean_cycles": 50, "luts": 80},
              {"mean_cycles": 120, "luts": 90}, {"mean_cycles": 40, "luts": 200}]
    pareto_front(points)
    assert [p["pareto"] for p in points] == [True, True, False, True]


@pytest.mark.synth
def test_sweep_marks_the_pareto_front_of_luts_against_cycles(tmp_path, capsys):
    # the sweep reads test images of the IR's dataset: give the small network digits' shape
    from spikewright.golden import Network
    from spikewright.golden.encoding import make_input_spec
    net = random_dense_network(np.random.default_rng(4), max_width=12, depth=1, timesteps=2)
    flat = net.layers[1]
    spec = make_input_spec((1, 8, 8), k=8, timesteps=2)
    from spikewright.golden.ir import Dense
    first = Dense("fc1", 64, flat.out_features, flat.neuron,
                  np.resize(flat.weight, (flat.out_features, 64)), flat.bias, flat.threshold)
    digits_net = Network(2, spec, (net.layers[0], first, net.layers[2]),
                         metadata={"dataset": "digits"})
    save(digits_net, tmp_path / "ir")
    for jobs in ("2", "1"):
        assert main(["sweep", str(tmp_path / "ir"), "--lanes", "1,4", "--images", "20",
                     "--target", "ecp5-85k", "--jobs", jobs,
                     "--out", str(tmp_path / f"sweep{jobs}")]) == 0
    sweep = json.loads((tmp_path / "sweep2" / "sweep.json").read_text())
    points = sweep["points"]
    assert [p["lanes"] for p in points] == [1, 4]
    assert points[0]["mean_cycles"] > points[1]["mean_cycles"]
    assert all(p["luts"] > 0 for p in points) and any(p["pareto"] for p in points)
    # syntheses in two processes give what one process gives, point for point
    serial = json.loads((tmp_path / "sweep1" / "sweep.json").read_text())["points"]
    figures = ("lanes", "mean_cycles", "luts", "ffs", "brams", "pareto")
    assert [[p[k] for k in figures] for p in points] == [[p[k] for k in figures] for p in serial]


def test_a_folded_point_records_the_whole_fold(tmp_path):
    """A point of ``--fps`` names every folding choice of its design (conv kernel lanes,
    events per cycle, pixels per beat, input buffers), so that it can be rebuilt."""
    from spikewright.sweep import FOLD_KEYS
    assert main(["sweep", "mnist_cnn_t1", "--fps", "1000", "--no-synth", "--images", "20",
                 "--clock-mhz", "50", "--out", str(tmp_path)]) == 0
    point = json.loads((tmp_path / "sweep.json").read_text())["points"][0]
    assert set(FOLD_KEYS) <= set(point)
    assert isinstance(point["kernel_lanes"], dict) and point["kernel_lanes"]
    assert point["lanes"]["conv1"] >= 1 and point["pixels_per_beat"] >= 1
