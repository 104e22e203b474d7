"""Training, conversion and CTT on scikit-learn digits (small and fast)."""

import numpy as np
import pytest
import torch
from torch import nn

from spikeforge.golden import UnsupportedLayerError, ctt, model, quant_ann
from spikeforge.golden.convert import convert
from spikeforge.golden.datasets import load_dataset
from spikeforge.golden.integerize import fold_batchnorm
from spikeforge.golden.train import (ConvertibleNet, QuantAct, _rotate_batch, evaluate,
                                     load_checkpoint, mlp_arch, recalibrate_batchnorm,
                                     rotate, save_checkpoint, train_model)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train"), load_dataset("digits", "test")


def trained(digits, arch, timesteps=1, k=4, ice=False, epochs=3, seed=0):
    torch.set_num_threads(1)
    (x, y), _ = digits
    net = ConvertibleNet(arch, (1, 8, 8), timesteps, k, ice, seed=seed)
    train_model(net, x, y, epochs=epochs, lr=5e-3, batch_size=64, max_shift=0, seed=seed)
    return net


def test_activation_takes_T_plus_1_levels_with_a_clipped_straight_through_gradient():
    act = QuantAct(timesteps=2, k=8)  # theta = 0.25
    z = torch.tensor([-0.1, 0.0, 0.1, 0.124, 0.125, 0.3], requires_grad=True)
    a = act(z)
    assert a.tolist() == [0.0, 0.0, 0.0, 0.0, 0.125, 0.25]
    (a * torch.tensor([5.0, 1, 1, -3, 1, 1])).sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0, -1.0, 1.0, 0.0]


def test_training_is_reproducible(digits):
    a = trained(digits, mlp_arch([16]), epochs=1, seed=3)
    b = trained(digits, mlp_arch([16]), epochs=1, seed=3)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)


def test_rotation_turns_the_pixel_grid_about_the_image_centre():
    bar = torch.zeros(1, 1, 6, 6, dtype=torch.uint8)
    bar[0, 0, 1, 1:5] = 200
    quarter = rotate(bar, torch.tensor([np.pi / 2]))
    assert quarter.dtype == torch.uint8
    assert torch.equal(quarter, torch.rot90(bar, 1, (2, 3)))
    assert torch.equal(rotate(bar, torch.tensor([2 * np.pi])), bar)


def test_random_rotation_is_seeded_bounded_and_off_at_zero_degrees(digits):
    (x, _), _ = digits
    images = torch.from_numpy(x[:64])
    assert _rotate_batch(images, 0, torch.Generator().manual_seed(0)) is images
    a = _rotate_batch(images, 15, torch.Generator().manual_seed(5))
    b = _rotate_batch(images, 15, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, images)
    angles = (torch.rand(64, generator=torch.Generator().manual_seed(5),
                         dtype=torch.float64) * 2 - 1) * np.radians(15)
    assert torch.equal(a, rotate(images, angles)) and angles.abs().max() <= np.radians(15)


def test_batchnorm_recalibration_sets_the_exact_statistics_in_evaluation_mode(digits):
    net = trained(digits, mlp_arch([24, 16]), epochs=2, seed=2)
    (x, _), _ = digits
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k}
    recalibrate_batchnorm(net, x, batch_size=100)
    first_linear, first_bn = net.body[1], net.body[2]
    with torch.no_grad():
        z = first_linear(net.encoder(torch.from_numpy(x)).flatten(1)).double()
    assert torch.allclose(first_bn.running_mean.double(), z.mean(0), atol=1e-5)
    assert torch.allclose(first_bn.running_var.double(), z.var(0, unbiased=False), atol=1e-4)
    after = net.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in weights.items())
    stats = [v.clone() for k, v in after.items() if "running" in k]
    recalibrate_batchnorm(net, x, batch_size=300)
    again = [v for k, v in net.state_dict().items() if "running" in k]
    assert all(torch.allclose(a, b, rtol=1e-6, atol=1e-6) for a, b in zip(stats, again))
    net.quantize_weights(6)
    with pytest.raises(ValueError, match="needs the float-weight network"):
        recalibrate_batchnorm(net, x)


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


def test_checkpoint_round_trip(digits, tmp_path):
    net = trained(digits, mlp_arch([8]), epochs=1)
    save_checkpoint(net, tmp_path / "c.pt", dataset="digits", seed=0)
    loaded, info = load_checkpoint(tmp_path / "c.pt")
    assert info == {"dataset": "digits", "seed": 0}
    assert convert(loaded).digest() == convert(net).digest()


def test_unsupported_modules_are_named():
    net = ConvertibleNet(mlp_arch([4]), (1, 8, 8), 1, 4)
    net.body[2] = nn.ReLU()
    with pytest.raises(UnsupportedLayerError, match=r"^module 2 \(ReLU\) cannot be converted; "
                                                    r"supported modules: Conv2d, Linear"):
        convert(net)
    with pytest.raises(UnsupportedLayerError, match=r"^layer spec \['maxpool', 2\] is not "
                                                    r"supported; supported: conv, avgpool, "
                                                    r"flatten, linear$"):
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


def test_weight_quantization_refuses_a_width_below_two_bits():
    net = ConvertibleNet(mlp_arch([4]), (1, 8, 8), 1, 4)
    with pytest.raises(ValueError, match="at least 2 bits"):
        net.quantize_weights(1)
