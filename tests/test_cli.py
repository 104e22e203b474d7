"""The command line, end to end on small inputs."""

import json

import numpy as np
import pytest

from spikewright.cli import main
from spikewright.golden import load


@pytest.fixture(scope="module")
def digits_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "digits.pt"
    assert main(["train", "--dataset", "digits", "--arch", "mlp:16", "--epochs", "2",
                 "--seed", "1", "--threads", "1", "--shift", "0", "--out", str(path)]) == 0
    return path


def test_train_records_what_reproduces_it(digits_checkpoint):
    from spikewright.golden.train import load_checkpoint
    _, info = load_checkpoint(digits_checkpoint)
    assert info["command"].startswith("spikewright ") and info["seed"] == 1
    assert info["dataset"] == "digits" and len(info["history"]) == 2
    assert 0 <= info["accuracy"]["ann_quant"] <= 1 and info["train_time_s"] > 0
    assert info["completed_epochs"] == 2
    assert not digits_checkpoint.with_name(digits_checkpoint.name + ".partial").exists()


def test_train_keeps_the_best_validation_epoch_and_reads_the_test_split_once_at_the_end(
        tmp_path, monkeypatch):
    from spikewright.golden import datasets
    from spikewright.golden.train import load_checkpoint
    reads, real = [], datasets.load_dataset

    def recording(name, split="test", *args, **kwargs):
        reads.append(split)
        return real(name, split, *args, **kwargs)
    monkeypatch.setattr(datasets, "load_dataset", recording)
    path = tmp_path / "m.pt"
    assert main(["train", "--dataset", "digits", "--arch", "mlp:16", "--epochs", "6",
                 "--patience", "2", "--lr", "0.05", "--seed", "2", "--threads", "1",
                 "--out", str(path)]) == 0
    assert reads == ["train", "test"]
    _, info = load_checkpoint(path)
    scores = [record["validation_ann_quant"] for record in info["history"]]
    assert all("test_ann_quant" not in record for record in info["history"])
    kept = info["validation"]["kept_epoch"]
    assert scores[kept - 1] == max(scores) and kept == scores.index(max(scores)) + 1
    assert info["accuracy"]["validation_ann_quant"] == max(scores)
    assert len(scores) == 6 or len(scores) - kept == 2  # stopped by --patience or ran out
    assert info["validation"] == {"images": 143, "first_index": 1437 - 143, "kept_epoch": kept}


def test_the_validation_split_is_the_end_of_train_and_never_in_the_test_split():
    from spikewright.golden.datasets import load_dataset, validation_size
    assert validation_size(60000) == 5000 and validation_size(1437) == 143
    train, _ = load_dataset("digits", "train")
    validation, labels = load_dataset("digits", "validation")
    assert np.array_equal(validation, train[-143:]) and len(labels) == 143
    with pytest.raises(ValueError, match="needs a validation split"):
        main(["train", "--dataset", "digits", "--validation", "0", "--patience", "1",
              "--out", "/tmp/unused.pt"])


def test_fine_tune_at_the_conversion_width_converts_to_exactly_that_network(
        digits_checkpoint, tmp_path, capsys):
    from spikewright.golden.train import load_checkpoint
    tuned = tmp_path / "tuned.pt"
    assert main(["train", "--dataset", "digits", "--init", str(digits_checkpoint), "--epochs",
                 "1", "--weight-width", "5", "--exact-thresholds", "--threads", "1",
                 "--optimizer", "sgd", "--lr", "1e-3",
                 "--shift", "0", "--out", str(tuned)]) == 0
    reported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    _, info = load_checkpoint(tuned)
    assert info["init"]["epochs"] == 2 and info["init"]["seed"] == 1
    assert main(["convert", str(tuned), "--out", str(tmp_path / "ir")]) == 0
    network = load(tmp_path / "ir")
    assert network.metadata["weight_width"] == 5 and network.metadata["exact_thresholds"]
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "ir"), "-q"]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    assert accuracy["snn_golden"] == accuracy["ann_quant"] == reported["accuracy"]["ann_quant"]


def test_zero_epochs_only_recalibrates_batchnorm(digits_checkpoint, tmp_path):
    import torch
    from spikewright.golden.train import load_checkpoint
    with pytest.raises(ValueError, match="--epochs must be at least 1"):
        main(["train", "--dataset", "digits", "--init", str(digits_checkpoint), "--epochs",
              "0", "--out", str(tmp_path / "x.pt")])
    out = tmp_path / "recalibrated.pt"
    assert main(["train", "--dataset", "digits", "--init", str(digits_checkpoint), "--epochs",
                 "0", "--recalibrate-bn", "--threads", "1", "--out", str(out)]) == 0
    before, _ = load_checkpoint(digits_checkpoint)
    after, info = load_checkpoint(out)
    assert info["recalibrated_bn"] and info["history"] == [] and info["init"]["epochs"] == 2
    b, a = before.state_dict(), after.state_dict()
    assert all(torch.equal(b[k], a[k]) for k in b if "running" not in k)
    assert not torch.equal(b["body.2.running_mean"], a["body.2.running_mean"])


def test_train_distils_from_a_teacher_and_refuses_one_of_other_inputs(digits_checkpoint,
                                                                      tmp_path):
    from spikewright.golden.train import load_checkpoint
    out = tmp_path / "student.pt"
    assert main(["train", "--dataset", "digits", "--arch", "mlp:8", "--epochs", "1",
                 "--teacher", str(digits_checkpoint), "--distill-weight", "0.8",
                 "--threads", "1", "--out", str(out)]) == 0
    _, info = load_checkpoint(out)
    assert info["distillation"] == {"teacher": str(digits_checkpoint), "weight": 0.8,
                                    "temperature": 4.0}
    with pytest.raises(ValueError, match="need --teacher"):
        main(["train", "--dataset", "digits", "--distill-temperature", "2",
              "--out", str(tmp_path / "x.pt")])
    with pytest.raises(ValueError, match="was trained on digits, not mnist"):
        main(["train", "--dataset", "mnist", "--teacher",
              str(digits_checkpoint), "--out", str(tmp_path / "y.pt")])


def test_exact_thresholds_without_a_width_is_refused(digits_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="--exact-thresholds needs --weight-width"):
        main(["train", "--dataset", "digits", "--init", str(digits_checkpoint),
              "--exact-thresholds", "--out", str(tmp_path / "x.pt")])


def test_convert_then_eval_writes_the_documented_json(digits_checkpoint, tmp_path, capsys):
    ir = tmp_path / "ir"
    assert main(["convert", str(digits_checkpoint), "--out", str(ir), "--weight-width", "6"]) == 0
    network = load(ir)
    assert network.metadata["dataset"] == "digits"
    assert all(l.weight_width == 6 for l in network.weighted_layers)
    capsys.readouterr()
    out = tmp_path / "eval.json"
    assert main(["eval", str(ir), "--limit", "50", "--json", str(out), "--dump",
                 str(tmp_path / "dump"), "-q"]) == 0
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert report["images"] == 50 and report["timesteps"] == 1
    assert set(report["accuracy"]) == {"ann_float", "ann_quant", "snn_golden"}
    assert all(0 <= v <= 1 for v in report["accuracy"].values())
    logits = np.load(tmp_path / "dump" / "logits.npy")
    labels = np.load(tmp_path / "dump" / "labels.npy")
    assert logits.dtype == np.int64 and logits.shape == (50, 10) and labels.shape == (50,)
    assert report["accuracy"]["snn_golden"] == float((logits.argmax(1) == labels).mean())
    assert report["synops_per_image"]["total"] > 0


@pytest.mark.dataset
def test_eval_refuses_a_dataset_of_the_wrong_shape(digits_checkpoint, tmp_path):
    main(["convert", str(digits_checkpoint), "--out", str(tmp_path / "ir")])
    with pytest.raises(ValueError, match=r"^dataset 'mnist' has images of shape \[1, 28, 28\], "
                                         r"but the network expects \[1, 8, 8\]$"):
        main(["eval", str(tmp_path / "ir"), "--dataset", "mnist", "--limit", "2", "-q"])


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for command in ("train", "convert", "eval", "run"):
        assert command in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_mlp_t1", "mnist_cnn_t1", "mnist_mlp_up5k",
                                  "fmnist_cnn_t4"])
def test_shipped_models_convert_reproducibly_from_their_checkpoints(name, tmp_path):
    from spikewright import flow
    from spikewright.shipped import model_dir
    shipped = load(model_dir(name) / "ir")
    again = flow.convert(model_dir(name) / "checkpoint.pt", tmp_path / "ir",
                         weight_width=shipped.metadata["weight_width"],
                         neuron=shipped.metadata["hidden_neuron"],
                         exact_thresholds=shipped.metadata.get("exact_thresholds", False))
    assert again.network.digest() == shipped.digest()


def test_the_command_says_what_is_wrong_without_a_traceback(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    script = Path(sys.executable).parent / "spikewright"
    result = subprocess.run([str(script), "eval", str(tmp_path / "missing")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("spikewright: error: ") and "Traceback" not in result.stderr
    assert "network.json does not exist" in result.stderr


def test_generate_folds_the_fastest_design_whose_weights_fit_the_part(tmp_path, capsys):
    from bad_inputs import digits_network
    from spikewright.golden import save
    save(digits_network(), tmp_path / "ir")
    assert main(["generate", str(tmp_path / "ir"), "--fps", "max",
                 "--fold-images", "50", "--out", str(tmp_path / "rtl")]) == 0
    manifest = json.loads((tmp_path / "rtl" / "manifest.json").read_text())
    folding = manifest["folding"]
    assert folding["fps"] == "max" and folding["met"] and folding["block_rams"] == 208
    assert folding["weight_block_rams"] <= 208
    # the digits network fits whole: every neuron its own lane
    assert manifest["lanes_used"] == folding["lanes"] == {"fc1": 12, "fc2": 10}
    assert folding["predicted_fps"] == 50e6 / folding["predicted_interval_cycles"]


def test_generate_refuses_an_fps_that_is_neither_a_frame_rate_nor_max(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "ir", "--fps", "fast", "--out", str(tmp_path / "rtl")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "spikewright: error: generate: argument --fps: must be a positive number of images "
        "per second or 'max', not 'fast' (see `spikewright generate --help`)\n")


def test_generate_folds_a_dataflow_design_for_a_frame_rate(tmp_path, capsys):
    from bad_inputs import digits_network
    from spikewright.golden import save
    save(digits_network(), tmp_path / "ir")
    assert main(["generate", str(tmp_path / "ir"), "--fps",
                 "1e6", "--clock-mhz", "100", "--fold-images", "50", "--out",
                 str(tmp_path / "rtl")]) == 0
    manifest = json.loads((tmp_path / "rtl" / "manifest.json").read_text())
    folding = manifest["folding"]
    assert folding["target_interval_cycles"] == 100.0 and folding["sample_images"] == 50
    assert folding["met"] == (folding["predicted_interval_cycles"] <= 100.0)
    assert manifest["lanes_used"] == folding["lanes"]
    assert manifest["pixels"]["per_beat"] == folding["pixels_per_beat"]


@pytest.mark.parametrize("raised, status, line", [
    (OSError(28, "No space left on device", "/data/run/report.json"), 2,
     "spikewright: error: No space left on device: /data/run/report.json"),
    (PermissionError(13, "Permission denied", "/data/run"), 2,
     "spikewright: error: Permission denied: /data/run"),
    (KeyboardInterrupt(), 130, "spikewright: interrupted; results written so far are complete "
                               "files (JSON is written whole or not at all)"),
])
def test_os_errors_and_ctrl_c_end_in_one_line(monkeypatch, capsys, raised, status, line):
    from spikewright import cli

    def fail(argv=None):
        raise raised
    monkeypatch.setattr(cli, "main", fail)
    with pytest.raises(SystemExit) as ended:
        cli.entry()
    assert ended.value.code == status
    assert capsys.readouterr().err == line + "\n"


def test_a_folding_target_beside_the_options_it_chooses_is_refused(tmp_path):
    from spikewright.cli import main
    with pytest.raises(ValueError, match=r"^--fps chooses the lanes, kernel lanes, events and "
                                         r"pixels per beat; give either --fps or --lanes 8, "
                                         r"--events 2, --pixels-per-beat 2, not both$"):
        main(["generate", "mnist_mlp_t1", "--out", str(tmp_path / "rtl"), "--fps", "1000",
              "--lanes", "8", "--pixels-per-beat", "2", "--events", "2"])
    assert not (tmp_path / "rtl").exists()


def test_generate_on_a_shipped_model_takes_its_hw_config_and_options_override_it():
    """As `run` does: `generate mnist_cnn_t1` builds the model's own design, not 1 lane."""
    from spikewright import flow
    from spikewright.cli import build_parser
    from spikewright.commands.args import hw_config_from_args
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.shipped import shipped_hw_config
    shipped = shipped_hw_config("mnist_cnn_t1")
    args = build_parser().parse_args(["generate", "mnist_cnn_t1", "--out", "rtl"])
    model = flow.load(args.network).model
    config = hw_config_from_args(args, base=shipped_hw_config(model))
    assert config == HwConfig.from_json({**HwConfig().to_json(), **shipped})
    args = build_parser().parse_args(["generate", "mnist_cnn_t1", "--out", "rtl", "-P", "4"])
    assert hw_config_from_args(args, base=shipped).lanes == 4


@pytest.mark.parametrize("command", ["generate", "run"])
def test_every_fact_of_a_shipped_hw_config_reaches_the_design(command):
    """Events, the placement seed and router included: nothing in hw_config.json is
    dropped on the way to the manifest."""
    from spikewright.cli import build_parser
    from spikewright.commands.args import hw_config_from_args
    from spikewright.hdl_gen.config import HwConfig
    from spikewright.shipped import shipped_hw_config, shipped_models
    for model in shipped_models():
        shipped = shipped_hw_config(model)
        argv = ([command, model, "--out", "rtl"] if command == "generate"
                else [command, "--model", model])
        config = hw_config_from_args(build_parser().parse_args(argv), base=shipped)
        assert config == HwConfig.from_json(shipped), model


def test_eval_and_verify_take_a_users_own_images(tmp_path):
    """A .npy file of uint8 [N, C, H, W] in place of a dataset; without a labels file the
    accuracies are None, never a number made up."""
    from bad_inputs import run_command, saved_ir
    ir = saved_ir(tmp_path)
    pixels = np.random.default_rng(0).integers(0, 256, (6, 1, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "mine.npy", pixels)
    status, out, err = run_command(["eval", str(ir), "--dataset", str(tmp_path / "mine.npy"),
                                    "-q"])
    assert status == 0, err
    report = json.loads(out)
    assert report["images"] == 6 and report["split"] == "file"
    assert report["accuracy"]["snn_golden"] is None
    np.save(tmp_path / "mine.labels.npy", np.arange(6) % 10)
    status, _, err = run_command(["generate", str(ir), "--out", str(tmp_path / "rtl")])
    assert status == 0, err
    status, out, err = run_command(["verify", str(ir), str(tmp_path / "rtl"), "--dataset",
                                    str(tmp_path / "mine.npy"), "--images", "4", "--bench",
                                    "amaranth", "-q"])
    assert status == 0, err
    report = json.loads(out)
    assert report["images"] == 4 and report["mismatches"] == 0
    assert report["rtl_accuracy"] == report["golden_accuracy_same_images"] is not None


def test_kernel_lanes_above_a_kernel_are_named_and_recorded(tmp_path, capsys):
    """A named layer's kernel lanes above its kernel positions: the design uses them all,
    says so, and the manifest records what each conv stage was built with."""
    assert main(["generate", "mnist_cnn_t1", "--kernel-lanes", "conv1=12,conv2=2", "--out",
                 str(tmp_path / "rtl")]) == 0
    assert ("conv1 is built with 9 kernel lanes, not 12: its kernel has 9 positions"
            in capsys.readouterr().err)
    manifest = json.loads((tmp_path / "rtl" / "manifest.json").read_text())
    assert manifest["kernel_lanes_used"]["conv1"] == 9
    assert manifest["kernel_lanes_used"]["conv2"] == 2
    assert manifest["hw_config"]["kernel_lanes"]["conv1"] == 12


def test_conv_events_above_the_input_channels_are_named_and_recorded(tmp_path, capsys):
    """Events per cycle of a conv layer of fewer input channels: the stage takes the largest
    power of two below them, says so, and the manifest records what each stage takes."""
    assert main(["generate", "mnist_cnn_t1", "--events", "conv1=4,conv2=8,fc1=2", "--out",
                 str(tmp_path / "rtl")]) == 0
    err = capsys.readouterr().err
    assert "conv1 is built with 1 event per cycle, not 4: it has 1 input channel" in err
    assert "conv2 is built with" not in err
    manifest = json.loads((tmp_path / "rtl" / "manifest.json").read_text())
    assert manifest["events_used"] == {"conv1": 1, "conv2": 8, "conv3": 1, "conv4": 1,
                                       "conv5": 1, "conv6": 1, "conv7": 1, "fc1": 2}
