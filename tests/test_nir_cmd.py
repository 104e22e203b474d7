"""`spikewright nir export|import` and `spikewright import-torch` on the command line."""

import json

import nir
import pytest
import torch
from torch import nn

from spikewright.cli import main
from spikewright.golden import load


def test_nir_export_then_import_gives_the_same_network(tmp_path, capsys):
    assert main(["nir", "export", "mnist_cnn_t1", str(tmp_path / "cnn.nir")]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert main(["nir", "import", str(tmp_path / "cnn.nir"), "--out", str(tmp_path / "ir")]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert imported["network_digest"] == exported["network_digest"] == \
        load(tmp_path / "ir").digest()
    assert imported["exact"] is True


def test_nir_import_of_a_foreign_graph_reports_each_layers_quantization(tmp_path, capsys):
    import numpy as np
    rng = np.random.default_rng(1)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type={"input": np.array([1, 8, 8])}), nir.Flatten(
            input_type={"input": np.array([1, 8, 8])}, start_dim=0),
        nir.Affine(weight=rng.normal(size=(5, 64)).astype(np.float32),
                   bias=np.zeros(5, np.float32)),
        nir.IF(r=np.ones(5), v_threshold=np.ones(5), v_reset=np.zeros(5)),
        nir.Affine(weight=rng.normal(size=(10, 5)).astype(np.float32),
                   bias=np.zeros(10, np.float32)),
        nir.Output(output_type={"output": np.array([10])}))
    nir.write(str(tmp_path / "f.nir"), graph)
    with pytest.raises(ValueError, match="--timesteps"):
        main(["nir", "import", str(tmp_path / "f.nir"), "--out", str(tmp_path / "ir0")])
    assert main(["nir", "import", str(tmp_path / "f.nir"), "--out", str(tmp_path / "ir"),
                 "-T", "1", "--weight-width", "4", "--dataset", "digits"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact"] is False and set(report["layers"]) == {"affine", "affine_1"}
    network = load(tmp_path / "ir")
    assert network.metadata["dataset"] == "digits"
    assert max(abs(layer.weight).max() for layer in network.weighted_layers) == 7


def test_a_file_that_is_not_nir_is_refused(tmp_path):
    (tmp_path / "x.nir").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable NIR file"):
        main(["nir", "import", str(tmp_path / "x.nir"), "--out", str(tmp_path / "ir")])


@pytest.mark.parametrize("saver", ["export", "torchscript"])
def test_import_torch_writes_a_checkpoint_that_train_and_convert_take(tmp_path, capsys,
                                                                     saver):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)).eval()
    path = tmp_path / ("net.pt2" if saver == "export" else "net.ts")
    if saver == "export":
        torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)), str(path))
    else:
        torch.jit.script(net).save(str(path))
    assert main(["import-torch", str(path), "--dataset", "digits", "-T", "2",
                 "--out", str(tmp_path / "ckpt.pt")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["arch"] == [["flatten"], ["linear", 32], ["linear", 10]]
    assert 0 <= printed["accuracy"]["relu"] <= 1
    assert main(["train", "--dataset", "digits", "--init", str(tmp_path / "ckpt.pt"),
                 "--epochs", "1", "--shift", "0", "--out", str(tmp_path / "tuned.pt")]) == 0
    assert main(["convert", str(tmp_path / "tuned.pt"), "--out", str(tmp_path / "ir"),
                 "--calibration-images", "0"]) == 0
    assert load(tmp_path / "ir").timesteps == 2


def test_import_torch_refuses_a_pickled_module(tmp_path):
    torch.save(nn.Linear(2, 2), tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="neither a torch.export program"):
        main(["import-torch", str(tmp_path / "pickled.pt"), "--dataset", "digits",
              "--out", str(tmp_path / "ckpt.pt")])
