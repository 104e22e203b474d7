"""Training, conversion and CTT on scikit-learn digits (small and fast)."""

import re

import numpy as np
import pytest
import torch
from torch import nn
from helpers import trained
from spikewright.golden.convert import convert
from spikewright.golden.train import (
    ConvertibleNet,
    QuantAct,
    _rotate_batch,
    load_checkpoint,
    mlp_arch,
    recalibrate_batchnorm,
    rotate,
    save_checkpoint,
)


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


def test_checkpoint_round_trip(digits, tmp_path):
    net = trained(digits, mlp_arch([8]), epochs=1)
    save_checkpoint(net, tmp_path / "c.pt", dataset="digits", seed=0)
    loaded, info = load_checkpoint(tmp_path / "c.pt")
    assert info == {"dataset": "digits", "seed": 0}
    assert convert(loaded).digest() == convert(net).digest()


def test_a_model_with_nan_weights_is_not_written(tmp_path):
    net = ConvertibleNet(mlp_arch([4]), (1, 8, 8), 1, 4)
    name, tensor = next((k, v) for k, v in net.state_dict().items() if v.is_floating_point())
    tensor.view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match=rf"^the model's tensor '{re.escape(name)}' holds NaN or "
                                         r"infinite values \(the training diverged; a lower "
                                         r"--lr may help\); .*c\.pt was not written$"):
        save_checkpoint(net, tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == []


def test_weight_quantization_refuses_a_width_below_two_bits():
    net = ConvertibleNet(mlp_arch([4]), (1, 8, 8), 1, 4)
    with pytest.raises(ValueError, match="at least 2 bits"):
        net.quantize_weights(1)


def test_distillation_loss_is_cross_entropy_mixed_with_the_softened_kl():
    from spikewright.golden.train import distillation_loss
    torch.manual_seed(0)
    logits, teacher = torch.randn(5, 10), torch.randn(5, 10)
    labels = torch.tensor([0, 3, 9, 2, 2])
    tau, weight = 3.0, 0.25
    p = torch.softmax(teacher / tau, 1)
    kl = (p * (p.log() - torch.log_softmax(logits / tau, 1))).sum(1).mean()
    expected = (1 - weight) * nn.functional.cross_entropy(logits, labels) + weight * tau ** 2 * kl
    assert torch.allclose(distillation_loss(logits, labels, teacher, weight, tau), expected)
    assert torch.allclose(distillation_loss(logits, labels, logits, 1.0, tau), torch.tensor(0.0),
                          atol=1e-6)


def test_a_teacher_changes_training_and_its_weight_zero_does_not(digits):
    from spikewright.golden.train import train_model
    (x, y), _ = digits
    teacher = trained(digits, mlp_arch([32]), epochs=2, seed=5)

    def student(**distill):
        net = ConvertibleNet(mlp_arch([16]), (1, 8, 8), 1, 4, seed=1)
        train_model(net, x, y, epochs=1, lr=5e-3, batch_size=64, max_shift=0, seed=1, **distill)
        return net.state_dict()

    plain, soft = student(), student(teacher=teacher, distill_weight=0.7)
    weightless = student(teacher=teacher, distill_weight=0.0)
    assert all(torch.equal(plain[k], weightless[k]) for k in plain)
    assert not all(torch.equal(plain[k], soft[k]) for k in plain)
    with pytest.raises(ValueError, match=r"weight in \[0, 1\]"):
        student(teacher=teacher, distill_weight=1.5)
