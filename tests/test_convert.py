"""Training, conversion and CTT on scikit-learn digits (small and fast)."""

import numpy as np
import pytest
import torch
from helpers import trained
from spikewright.golden import UnsupportedLayerError, ctt, model, quant_ann
from spikewright.golden.convert import convert
from spikewright.golden.integerize import fold_batchnorm
from spikewright.golden.train import (
    ConvertibleNet,
    evaluate,
    load_checkpoint,
    mlp_arch,
    save_checkpoint,
    train_model,
)
from torch import nn


def test_batchnorm_folding_is_exact_in_float():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 2)
    bn.eval()
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64)
    w, b = fold_batchnorm(conv.weight.detach().double(), conv.bias.detach().double(), bn)
    folded = torch.nn.functional.conv2d(x, w, b)
    reference = bn.double()(conv.double()(x))
    assert torch.allclose(folded, reference, atol=1e-12)


@pytest.mark.parametrize("arch", [mlp_arch([32]),
                                  [["conv", 8, 3, 1, 1], ["avgpool", 2], ["conv", 16, 3, 1, 0],
                                   ["flatten"], ["linear", 10]]])
def test_converted_network_tracks_the_quantized_ann(digits, arch):
    net = trained(digits, arch, timesteps=2, k=8, epochs=6)
    _, (xt, yt) = digits
    ir = convert(net, weight_width=8, neuron="asg")
    result = model.run(ir, xt)
    assert np.array_equal(result.logits, quant_ann.run_counts(ir, xt)[0])
    snn = float((result.predictions == yt).mean())
    ann = evaluate(net, xt, yt)
    assert ann > 0.6
    assert abs(snn - ann) <= 0.03
    if any(a[0] == "avgpool" for a in arch):
        pool = ir.layers[1]
        assert pool.kind == "conv2d" and pool.groups == pool.in_channels
        assert pool.weight.min() == pool.weight.max() == 1 and pool.threshold.tolist() == [4] * 8


def test_conversion_scales_each_hidden_row_to_the_weight_width(digits):
    ir = convert(trained(digits, mlp_arch([8]), epochs=1), weight_width=5)
    hidden, readout = ir.layers[1], ir.layers[2]
    assert np.abs(hidden.weight).max(axis=1).tolist() == [15] * 8
    assert np.abs(readout.weight).max() == 15 and hidden.weight_width == readout.weight_width == 5


def test_ctt_moves_if_counts_towards_asg(digits):
    net = trained(digits, mlp_arch([32]), timesteps=4, k=16)
    (x, _), (xt, yt) = digits
    ir = convert(net, neuron="if")
    calibrated = ctt.calibrate(ir, x[:500], epochs=3)
    asg_counts = quant_ann.run_counts(ir, xt)[1]["fc1"].sum()
    before = model.run(ir, xt).spike_counts["fc1"].sum()
    after = model.run(calibrated, xt).spike_counts["fc1"].sum()
    assert abs(after - asg_counts) < abs(before - asg_counts)
    assert not np.array_equal(calibrated.layers[1].threshold, ir.layers[1].threshold)


def test_ice_network_has_three_input_channels_per_pixel_channel(digits):
    ir = convert(trained(digits, mlp_arch([16]), ice=True, epochs=1))
    assert ir.input.encoded_shape == (3, 8, 8) and ir.layers[1].in_features == 192


def test_unsupported_modules_are_named():
    net = ConvertibleNet(mlp_arch([4]), (1, 8, 8), 1, 4)
    net.body[2] = nn.ReLU()
    with pytest.raises(UnsupportedLayerError, match=r"^module 2 \(ReLU\) cannot be converted; "
                                                    r"supported modules: Conv2d, Linear"):
        convert(net)
    with pytest.raises(UnsupportedLayerError, match=r"^layer spec 0 \['maxpool', 2\] is not "
                                                    r"supported; supported: \['conv', out, "
                                                    r"kernel, stride, padding\]; \['avgpool', "
                                                    r"kernel\]; \['flatten'\]; \['linear', "
                                                    r"out\]$"):
        ConvertibleNet([["maxpool", 2], ["flatten"], ["linear", 10]], (1, 8, 8), 1, 4)


def test_exact_thresholds_are_integers_of_the_shrunk_scale(digits):
    net = trained(digits, mlp_arch([16]), epochs=1)
    plain = convert(net, weight_width=6)
    exact = convert(net, weight_width=6, exact_thresholds=True)
    assert exact.metadata["exact_thresholds"] is True and "exact_thresholds" not in plain.metadata
    hidden = exact.layers[1]
    assert np.abs(hidden.weight).max() <= 31 and hidden.threshold.min() >= 1
    # the readout keeps the plain layer scale
    assert np.array_equal(exact.layers[2].weight, plain.layers[2].weight)
    # theta * s_c = floor(theta * s_c_plain): never above the plain threshold
    assert (hidden.threshold <= plain.layers[1].threshold).all()


SMALL_CNN = [["conv", 6, 3, 1, 1], ["conv", 8, 3, 2, 1], ["flatten"], ["linear", 10]]


def _predictions(net, pixels):
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(pixels)).argmax(1).numpy()


@pytest.mark.parametrize("exact", [False, True])
def test_weight_quantized_ann_is_the_integer_snn_at_one_step(digits, exact, tmp_path):
    net = trained(digits, SMALL_CNN, epochs=2)
    net.quantize_weights(5, exact_thresholds=exact)
    _, (xt, _) = digits
    ir = convert(net, weight_width=5, exact_thresholds=exact)
    assert np.array_equal(_predictions(net, xt), model.run(ir, xt).predictions)
    # fine-tuning keeps BatchNorm statistics frozen (conversion folds them) and stays exact
    means = [m.running_mean.clone() for m in net.body if isinstance(m, nn.BatchNorm2d)]
    (x, y), _ = digits
    train_model(net, x, y, epochs=1, lr=1e-3, batch_size=64, max_shift=0, seed=1)
    assert all(torch.equal(a, m.running_mean)
               for a, m in zip(means, [m for m in net.body if isinstance(m, nn.BatchNorm2d)]))
    save_checkpoint(net, tmp_path / "q.pt", dataset="digits", seed=0)
    loaded, _ = load_checkpoint(tmp_path / "q.pt")
    assert loaded.weight_quantization == {"weight_width": 5, "exact_thresholds": exact}
    again = convert(loaded, weight_width=5, exact_thresholds=exact)
    assert np.array_equal(_predictions(loaded, xt), model.run(again, xt).predictions)
