"""golden.torch_import: plain PyTorch ReLU networks into a ConvertibleNet."""

import numpy as np
import pytest
import torch
from torch import nn

from spikewright.golden import model as golden_model
from spikewright.golden.convert import convert
from spikewright.golden.datasets import load_dataset
from spikewright.golden.errors import UnsupportedLayerError
from spikewright.golden.torch_import import (from_torch, load_torch_file, ops_from_exported,
                                             ops_from_module, run_ops)
from spikewright.golden.train import evaluate, train_model


def _train_relu(module, x, y, epochs=8, lr=3e-3, seed=0):
    torch.manual_seed(seed)
    inputs, labels = torch.from_numpy(x).float() / 255, torch.from_numpy(y).long()
    optimizer = torch.optim.Adam(module.parameters(), lr)
    for _ in range(epochs):
        module.train()
        for start in range(0, len(x), 64):
            loss = nn.functional.cross_entropy(module(inputs[start:start + 64]),
                                               labels[start:start + 64])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return module.eval()


def _accuracy(module, x, y):
    with torch.no_grad():
        return float((module(torch.from_numpy(x).float() / 255).argmax(1).numpy() == y).mean())


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train") + load_dataset("digits", "test")


@pytest.fixture(scope="module")
def relu_mlp(digits):
    x, y, _, _ = digits
    return _train_relu(nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.BatchNorm1d(64),
                                     nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 10)), x, y)


def test_mlp_keeps_its_accuracy_through_fine_tuning_and_conversion(digits, relu_mlp):
    x, y, xt, yt = digits
    relu = _accuracy(relu_mlp, xt, yt)
    assert relu > 0.85
    net = from_torch(relu_mlp, x, timesteps=4, k=4)  # k = T: the 8x8 digits are grey
    assert net.arch == [["flatten"], ["linear", 64], ["linear", 10]]
    train_model(net, x, y, epochs=3, lr=1e-3, max_shift=0)
    quantized = evaluate(net, xt, yt)
    network = convert(net, weight_width=8, neuron="asg")
    snn = float((golden_model.run(network, xt).predictions == yt).mean())
    assert quantized > relu - 0.03
    assert snn > relu - 0.03


def test_the_imported_net_computes_the_module_where_nothing_is_quantized(digits):
    """With T large the quantized activation is fine: the imported network, in evaluation
    mode, gives the module's classes on nearly every image (no fine-tuning)."""
    x, y, xt, yt = digits
    module = _train_relu(nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(),
                                       nn.Linear(32, 10)), x, y, epochs=4)
    net = from_torch(module, x, timesteps=64, k=64)
    with torch.no_grad():
        ours = net(torch.from_numpy(xt)).argmax(1).numpy()
        theirs = module(torch.from_numpy(xt).float() / 255).argmax(1).numpy()
    assert (ours == theirs).mean() > 0.97


def test_a_traced_cnn_an_exported_one_and_torchscript_give_the_same_ops(digits, tmp_path):
    x, y, xt, _ = digits

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 3)
            self.bn = nn.BatchNorm2d(6)
            self.pool = nn.AvgPool2d(2)
            self.conv2 = nn.Conv2d(6, 8, 3, 1, 1)
            self.fc = nn.Linear(8 * 3 * 3, 10)

        def forward(self, v):
            v = self.pool(torch.relu(self.bn(self.conv(v))))
            return self.fc(torch.flatten(nn.functional.relu6(self.conv2(v)), 1))

    module = _train_relu(Net(), x, y, epochs=2)
    labels = _labels(module, xt)
    traced = ops_from_module(module)
    exported = ops_from_exported(torch.export.export(module, (torch.zeros(1, 1, 8, 8),)))
    sequential = nn.Sequential(module.conv, module.bn, nn.ReLU(), module.pool, module.conv2,
                               nn.ReLU6(), nn.Flatten(), module.fc).eval()
    torch.jit.script(sequential).save(str(tmp_path / "net.ts"))
    torch.export.save(torch.export.export(sequential, (torch.zeros(1, 1, 8, 8),)),
                      str(tmp_path / "net.pt2"))
    for ops in (traced, exported, load_torch_file(tmp_path / "net.ts"),
                load_torch_file(tmp_path / "net.pt2")):
        assert [op.kind for op in ops] == ["conv", "bn", "act", "avgpool", "conv", "act",
                                           "flatten", "linear"]
        assert ops[5].params["max"] == 6.0
        classes = run_ops(ops, xt / 255.0).argmax(1)
        assert (classes == labels).mean() >= 0.99  # float64 here, float32 in torch
    net = from_torch(exported, x, timesteps=4)
    assert net.arch == [["conv", 6, 3, 1, 0], ["avgpool", 2], ["conv", 8, 3, 1, 1],
                        ["flatten"], ["linear", 10]]


def _labels(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x).float() / 255).argmax(1).numpy()


def test_input_normalization_is_folded_exactly(digits):
    x, y, xt, _ = digits
    mean, std = 0.3, 0.4

    class Normalized(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, v):
            return self.body((v - mean) / std)

    body = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    module = _train_relu(Normalized(body), x, y, epochs=2)
    net = from_torch(body, x, timesteps=64, k=64, input_mean=mean, input_std=std)
    with torch.no_grad():
        ours = net(torch.from_numpy(xt)).argmax(1).numpy()
    assert (ours == _labels(module, xt)).mean() > 0.95


@pytest.mark.parametrize("module, message", [
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                   nn.Linear(36, 10)), r"'2' \(MaxPool2d\) is not supported.*AvgPool2d"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Sigmoid(), nn.Linear(10, 10)),
     r"'2' \(Sigmoid\) is not supported"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.Linear(10, 10)),
     "'1' is followed by '2' .* without a ReLU"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU()), "must end with a Linear"),
    (nn.Sequential(nn.Conv2d(1, 4, 3, dilation=2), nn.ReLU(), nn.Flatten(),
                   nn.Linear(64, 10)), "dilation"),
    (nn.Sequential(nn.Conv2d(1, 4, (3, 1)), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 8, 10)),
     "square"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AvgPool2d(2, 1), nn.Flatten(),
                   nn.Linear(100, 10)), "stride equal to the kernel"),
    (nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.Hardtanh(-1, 1), nn.Linear(8, 10)),
     "clip at 0 below"),
    (nn.Sequential(nn.Flatten(), nn.Linear(60, 8), nn.ReLU(), nn.Linear(8, 10)),
     "Linear 60 -> 8.* needs 60 features"),
])
def test_unsupported_networks_are_refused_by_layer_name_and_type(digits, module, message):
    with pytest.raises((UnsupportedLayerError, ValueError), match=message):
        from_torch(module, digits[0][:16])


def test_a_branching_forward_is_refused(digits):
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(64, 64), nn.Linear(64, 10)

        def forward(self, v):
            v = torch.flatten(v, 1)
            return self.b(torch.relu(self.a(v)) + v)

    with pytest.raises(UnsupportedLayerError, match="chain of layers"):
        from_torch(Skip(), digits[0][:16])


def test_calibration_images_must_be_uint8_images(relu_mlp):
    with pytest.raises(TypeError, match="uint8"):
        from_torch(relu_mlp, np.zeros((4, 1, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        from_torch(relu_mlp, np.zeros((4, 64), dtype=np.uint8))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_torch("model.pt", np.zeros((4, 1, 8, 8), dtype=np.uint8))


def test_a_torchscript_module_whose_forward_is_not_its_children_is_refused(tmp_path):
    """A scripted module with a skip connection and a sigmoid in its forward: reading its
    children in order would give another network; refused, naming the module."""

    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten, self.fc1, self.fc2 = nn.Flatten(), nn.Linear(64, 64), nn.Linear(64, 10)

        def forward(self, v):
            h = self.flatten(v)
            return self.fc2(torch.sigmoid(self.fc1(h)) + h)

    torch.jit.script(Skip().eval()).save(str(tmp_path / "skip.ts"))
    with pytest.raises(UnsupportedLayerError, match=r"^the TorchScript module is a Skip, whose "
                                                    r"forward spikewright does not read"):
        load_torch_file(tmp_path / "skip.ts")


def test_a_pt2_file_that_is_not_a_program_is_named(tmp_path):
    (tmp_path / "model.pt2").write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match=r"model\.pt2 is not a torch\.export program: .*Save "
                                         r"the network with torch\.export\.save"):
        load_torch_file(tmp_path / "model.pt2")
