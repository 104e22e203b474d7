"""The catalogue of bad inputs and the one line each gets; ``docs/errors.md`` is generated
from it (``python tests/bad_inputs.py`` rewrites it; ``tests/test_errors.py`` checks both).

Each case builds its inputs in a fresh folder and names the command that reads them.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"


def run_command(argv: list[str]) -> tuple[int, str, str]:
    """Run the command line in process as the console script does: ``(exit status, stdout,
    stderr)``; a domain error is one ``spikewright: error:`` line and status 2."""
    from spikewright.cli import failure, main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code
        except Exception as error:  # noqa: BLE001  re-raised unless the console script knows it
            ended = failure(error)
            if ended is None:
                raise
            status = ended[0]
            print(ended[1], file=sys.stderr)
    return status, out.getvalue(), err.getvalue()


def digits_network(weight_width=4, seed=0):
    """A small valid network for scikit-learn's 8x8 digits."""
    from spikewright.golden.encoding import make_input_spec
    from spikewright.golden.ir import Dense, Flatten, Network
    rng = np.random.default_rng(seed)
    limit = 1 << (weight_width - 1)
    hidden = Dense("fc1", 64, 12, "if", rng.integers(-limit, limit, (12, 64)),
                   rng.integers(-2, 3, 12), rng.integers(4, 20, 12))
    readout = Dense("fc2", 12, 10, "none", rng.integers(-limit, limit, (10, 12)),
                    rng.integers(-2, 3, 10))
    return Network(1, make_input_spec((1, 8, 8), k=4, timesteps=1),
                   (Flatten("flatten"), hidden, readout), metadata={"dataset": "digits"})


def saved_ir(folder: Path, name="ir") -> Path:
    from spikewright.golden import save
    return save(digits_network(), folder / name)


def edit_json(ir: Path, change) -> Path:
    doc = json.loads((ir / "network.json").read_text())
    change(doc)
    (ir / "network.json").write_text(json.dumps(doc))
    return ir


def edit_arrays(ir: Path, change) -> Path:
    arrays = dict(np.load(ir / "weights.npz"))
    change(arrays)
    np.savez(ir / "weights.npz", **arrays)
    return ir


def checkpoint(folder: Path, name="m.pt", seed=0) -> Path:
    from spikewright.golden.train import ConvertibleNet, mlp_arch, save_checkpoint
    net = ConvertibleNet(mlp_arch([12], 10), (1, 8, 8), 1, 4, False, seed=seed)
    path = folder / name
    save_checkpoint(net, path, dataset="digits")
    return path


def converted(folder: Path) -> Path:
    """An IR converted from a checkpoint (it records the checkpoint's digest)."""
    status, _, err = run_command(["convert", str(checkpoint(folder)), "--out",
                                  str(folder / "ir")])
    assert status == 0, err
    return folder / "ir"


def rtl(folder: Path, ir: Path) -> Path:
    status, _, err = run_command(["generate", str(ir), "--out", str(folder / "rtl")])
    assert status == 0, err
    return folder / "rtl"


def _wide_weights(a):
    a["fc1.weight"] = np.full((12, 64), (1 << 62) - 1, dtype=np.int64)


def _whole_module(folder):
    import torch
    torch.save(torch.nn.Sequential(torch.nn.Linear(64, 10)), folder / "model.pt")
    return ["convert", str(folder / "model.pt"), "--out", str(folder / "ir")]


def _missing_tensor(folder):
    import torch
    path = checkpoint(folder)
    data = torch.load(path, weights_only=True)
    data["state_dict"].pop("body.1.weight")
    torch.save(data, path)
    return ["convert", str(path), "--out", str(folder / "ir")]


def _text_pt(folder):
    (folder / "m.pt").write_text("not a checkpoint\n")
    return ["convert", str(folder / "m.pt"), "--out", str(folder / "ir")]


def _other_checkpoint(folder):
    ir = converted(folder)
    other = checkpoint(folder, "other.pt", seed=1)
    return ["eval", str(ir), "--checkpoint", str(other), "-q"]


def _generate_beside(folder):
    ir = saved_ir(folder)
    (folder / "rtl").mkdir()
    (folder / "rtl" / "notes.txt").write_text("mine\n")
    return ["generate", str(ir), "--out", str(folder / "rtl")]


def _convert_beside(folder):
    path = checkpoint(folder)
    (folder / "ir").mkdir()
    (folder / "ir" / "notes.txt").write_text("mine\n")
    return ["convert", str(path), "--out", str(folder / "ir")]


def _verify_other(folder):
    ir = saved_ir(folder)
    design = rtl(folder, ir)
    from spikewright.golden import save
    save(digits_network(seed=5), folder / "other")
    return ["verify", str(folder / "other"), str(design), "--bench", "amaranth", "-q"]


def _verify_sequential(folder):
    """A design folder written by an earlier spikewright for the sequential architecture."""
    from spikewright.hdl_gen.emit import seal_manifest
    ir = saved_ir(folder)
    design = rtl(folder, ir)
    manifest = json.loads((design / "manifest.json").read_text())
    manifest["hw_config"]["architecture"] = "sequential"
    (design / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))
    return ["verify", str(ir), str(design), "--bench", "amaranth", "-q"]


def _same_names(doc):
    doc["layers"][2]["name"] = "fc1"


def _json_into_folder(folder):
    ir = saved_ir(folder)
    (folder / "out").mkdir()
    return ["eval", str(ir), "--json", str(folder / "out"), "-q"]


@dataclass(frozen=True)
class Case:
    """A bad input: what it is, how to make it (returns the command's arguments) and the
    message it must get (a regular expression matched against the whole line)."""
    what: str
    make: object
    message: str
    needs_dataset: bool = False


def ir_case(what, change_json=None, change_arrays=None, message="", command="eval"):
    def make(folder):
        ir = saved_ir(folder)
        if change_json:
            edit_json(ir, change_json)
        if change_arrays:
            edit_arrays(ir, change_arrays)
        return [command, str(ir), *(["-q"] if command == "eval" else ["--out", str(folder / "rtl")])]
    return Case(what, make, message)



def _max_pool_network(folder: Path) -> list[str]:
    import torch
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(36, 10)).eval()
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)),
                      str(folder / "net.pt2"))
    return ["import-torch", str(folder / "net.pt2"), "--dataset", "digits", "--out",
            str(folder / "ckpt.pt")]


def _pickled_module(folder: Path) -> list[str]:
    import torch
    torch.save(torch.nn.Linear(2, 2), folder / "pickled.pt")
    return ["import-torch", str(folder / "pickled.pt"), "--dataset", "digits", "--out",
            str(folder / "ckpt.pt")]


def _not_nir(folder: Path) -> list[str]:
    (folder / "x.nir").write_text("not HDF5")
    return ["nir", "import", str(folder / "x.nir"), "--out", str(folder / "ir")]


def _foreign_nir(folder: Path) -> list[str]:
    import nir
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type={"input": np.array([4])}),
        nir.Affine(weight=np.ones((2, 4), np.float32), bias=np.zeros(2, np.float32)),
        nir.Output(output_type={"output": np.array([2])}))
    nir.write(str(folder / "f.nir"), graph)
    return ["nir", "import", str(folder / "f.nir"), "--out", str(folder / "ir")]


def _board_no_port(folder):
    return ["board", "run", str(saved_ir(folder)), "--port", str(folder / "ttyUSB9"),
            "--images", "2", "--out", str(folder / "board"), "-q"]


def _board_fast_baud(folder):
    ir = saved_ir(folder)
    return ["board", "run", str(ir), "--board", "icebreaker", "--simulate",
            "--rtl", str(rtl(folder, ir)), "--baud", "1900000", "--images", "2", "-q"]


CLIENT_GRAPHS = ROOT / "tests" / "data" / "nir_clients"


def _client_nir(name: str, timesteps: int):
    def make(folder: Path) -> list[str]:
        return ["nir", "import", str(CLIENT_GRAPHS / f"{name}.nir"), "--out",
                str(folder / "ir"), "-T", str(timesteps)]
    return make


def _not_a_zip_pt2(folder: Path) -> list[str]:
    (folder / "net.pt2").write_text("not a zip")
    return ["import-torch", str(folder / "net.pt2"), "--dataset", "digits", "--out",
            str(folder / "ckpt.pt")]


def _hdf5_not_nir(folder: Path) -> list[str]:
    import h5py
    with h5py.File(folder / "h.nir", "w") as file:
        file["data"] = np.arange(4)
    return ["nir", "import", str(folder / "h.nir"), "--out", str(folder / "ir"), "-T", "1"]


def _edited_verilog(folder: Path) -> list[str]:
    ir = saved_ir(folder)
    design = rtl(folder, ir)
    verilog = design / "spikewright_top.v"
    verilog.write_text(verilog.read_text() + "// edited by hand\n")
    return ["verify", str(ir), str(design), "--bench", "amaranth", "-q"]


def _edited_manifest(folder: Path) -> list[str]:
    ir = saved_ir(folder)
    design = rtl(folder, ir)
    manifest = json.loads((design / "manifest.json").read_text())
    manifest["hw_config"] = "fast"
    (design / "manifest.json").write_text(json.dumps(manifest))
    return ["synth", str(design), "--no-place"]


def _manifest_without_hw_config(folder: Path) -> list[str]:
    ir = saved_ir(folder)
    design = rtl(folder, ir)
    manifest = json.loads((design / "manifest.json").read_text())
    manifest.pop("hw_config")
    (design / "manifest.json").write_text(json.dumps(manifest))
    return ["verify", str(ir), str(design), "--bench", "amaranth", "-q"]


def _run_over_a_users_folder(folder: Path) -> list[str]:
    (folder / "mine").mkdir()
    (folder / "mine" / "notes.txt").write_text("mine\n")
    return ["run", "--out", str(folder / "mine")]


def _run_folder(folder: Path, **files) -> list[str]:
    """``report`` on a hand-made run folder: a valid eval.json and stream.json, then
    ``files`` (name: JSON text) written over them or beside them."""
    evaluation = {"dataset": "mnist", "split": "test", "images": 10, "timesteps": 1,
                  "network_digest": "ab" * 32, "model": "m",
                  "accuracy": {"ann_float": 0.9, "ann_quant": 0.95, "snn_golden": 0.94},
                  "spikes_per_image": {"total": 100.0}, "synops_per_image": {"total": 1000.0}}
    stream = {"latency_cycles": [100, 120], "interval_cycles": 90.0,
              "stage_cycles_mean": {"encoder": 64.0, "fc1": 85.0}}
    run = folder / "run"
    run.mkdir()
    (run / "eval.json").write_text(json.dumps(evaluation))
    (run / "stream.json").write_text(json.dumps(stream))
    for name, text in files.items():
        (run / name.replace("__", ".")).write_text(text)
    return ["report", str(run)]


def _torchscript_with_a_skip(folder: Path) -> list[str]:
    import torch

    class Skip(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.readout = torch.nn.Linear(64, 64), torch.nn.Linear(64, 10)

        def forward(self, x):
            x = x.flatten(1)
            return self.readout(torch.relu(self.hidden(x)) + x)

    torch.jit.save(torch.jit.script(Skip()), str(folder / "skip.pt"))
    return ["import-torch", str(folder / "skip.pt"), "--dataset", "digits", "--out",
            str(folder / "ckpt.pt")]


def _image_file(folder: Path, labels=None) -> list[str]:
    """eval of the digits network on a file of two of the user's images (and labels)."""
    np.save(folder / "images.npy", np.zeros((2, 1, 8, 8), np.uint8))
    if labels is not None:
        np.save(folder / "images.labels.npy", labels)
    return ["eval", str(saved_ir(folder)), "--dataset", str(folder / "images.npy"), "-q"]


def _torchscript_mlp(folder: Path, *options: str) -> list[str]:
    """import-torch of a plain TorchScript MLP for the 8x8 digits, with ``options``."""
    import torch
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 10))
    torch.jit.save(torch.jit.script(net), str(folder / "mlp.pt"))
    return ["import-torch", str(folder / "mlp.pt"), "--dataset", "digits", "--out",
            str(folder / "ckpt.pt"), *options]


CASES = [
    ir_case("weights near 2^62 (63 bits wide)", change_arrays=_wide_weights,
            message=r".*fc1.*weights of layer 'fc1' span \[4611686018427387903, "
                    r"4611686018427387903\], which needs 63 bits; at most 32 bits are supported"),
    ir_case("weight_width 100", lambda d: d["layers"][1].update(weight_width=100),
            message=r".*weight_width of layer 'fc1' is 100; at most 32 bits are supported "
                    r"\(its weights need 4\)"),
    ir_case("membrane_width 1000", lambda d: d["layers"][1].update(membrane_width=1000),
            message=r".*membrane_width of layer 'fc1' is 1000; at most 48 bits are supported"),
    ir_case("a state wider than 48 bits (a bias near 2^60)",
            change_arrays=lambda a: a.update({"fc2.bias": np.full(10, 1 << 60)}),
            message=r"the state of layer 'fc2' can reach \[-?\d+, \d+\], which needs 62 bits; "
                    r"at most 48 bits are supported \(it needs smaller weights, biases or "
                    r"thresholds\)"),
    ir_case("float weights", change_arrays=lambda a: a.update(
        {"fc1.weight": a["fc1.weight"].astype(float)}),
            message=r"network\.json layer 1 \('fc1'\): weight of layer 'fc1' must be an "
                    r"integer array, not dtype float64"),
    ir_case("NaN weights", change_arrays=lambda a: a.update(
        {"fc1.weight": np.full((12, 64), np.nan)}),
            message=r"network\.json layer 1 \('fc1'\): weight of layer 'fc1' must be an "
                    r"integer array, not dtype float64"),
    ir_case("bool weights", change_arrays=lambda a: a.update(
        {"fc1.weight": a["fc1.weight"] > 0}),
            message=r"network\.json layer 1 \('fc1'\): weight of layer 'fc1' must be an "
                    r"integer array, not dtype bool"),
    ir_case("weights beyond 64-bit integers", change_arrays=lambda a: a.update(
        {"fc1.weight": np.full((12, 64), 2 ** 64 - 1, dtype=np.uint64)}),
            message=r"network\.json layer 1 \('fc1'\): weight of layer 'fc1' holds "
                    r"18446744073709551615, beyond the 64-bit signed integers the IR holds"),
    Case("an empty weights.npz",
         lambda folder: ["eval", str(_empty_npz(saved_ir(folder))), "-q"],
         r".*weights\.npz is not a readable \.npz file of plain arrays \(.*\)"),
    ir_case("two layers with the same name", _same_names,
            message=r"network\.json names more than one layer 'fc1'; layer names must be "
                    r"unique"),
    ir_case("a layer name that is not an ASCII identifier (a path, an accent)",
            lambda d: d["layers"][1].update(name="../fc\u00e9"), command="generate",
            message=r"network\.json layer 1: layer name '\.\./fc\u00e9' is not an identifier of "
                    r"ASCII letters, digits and underscores .*"),
    ir_case("an unknown layer kind", lambda d: d["layers"][1].update(kind="lstm"),
            message=r"layer 'fc1' has kind 'lstm'; supported kinds: conv2d, dense, flatten"),
    Case("an IR directory that does not exist",
         lambda folder: ["eval", str(folder / "missing"), "-q"],
         r".*missing/network\.json does not exist; an IR directory holds network\.json and "
         r"weights\.npz, as conversion writes them"),
    Case("a whole module saved with torch.save(model)", _whole_module,
         r".*model\.pt holds pickled Python objects \(for example a whole module saved with "
         r"torch\.save\(model\)\), which spikewright never unpickles; it reads checkpoints of "
         r"tensors written by its own training"),
    Case("a text file named .pt", _text_pt,
         r".*m\.pt is not a readable PyTorch checkpoint \(its contents cannot be read as "
         r"tensors and plain data\)"),
    Case("a checkpoint missing a tensor", _missing_tensor,
         r".*m\.pt: its tensors do not match its architecture: .*Missing key\(s\) in "
         r"state_dict: \"body\.1\.weight\".*"),
    Case("eval --checkpoint of another network", _other_checkpoint,
         r"checkpoint .*other\.pt is not the one this network was converted from "
         r"\(SHA-256 [0-9a-f]{16}, the IR records [0-9a-f]{16}\); give that checkpoint, or none"),
    Case("images that do not fit the network",
         lambda folder: ["eval", str(saved_ir(folder)), "--dataset", "mnist", "--limit", "2",
                         "-q"],
         r"dataset 'mnist' has images of shape \[1, 28, 28\], but the network expects "
         r"\[1, 8, 8\]", needs_dataset=True),
    Case("--lanes naming no layer",
         lambda folder: ["generate", str(saved_ir(folder)), "--lanes", "fc9=4", "--out",
                         str(folder / "rtl")],
         r"lanes name layer\(s\) 'fc9', which the network does not have; its weighted layers "
         r"are fc1, fc2"),
    Case("--lanes that is not a number",
         lambda folder: ["generate", str(saved_ir(folder)), "--lanes", "many", "--out",
                         str(folder / "rtl")],
         r"--lanes must be a number or NAME=P\[,NAME=P\.\.\.\], not 'many'"),
    Case("verify a design of the retired sequential architecture", _verify_sequential,
         r"the hardware configuration names architecture 'sequential', which spikewright no "
         r"longer builds: every network is built as the dataflow design; remove "
         r"\"architecture\" from the configuration \(lanes and kernel lanes keep their "
         r"meaning\)"),
    Case("--kernel-lanes that is not a number",
         lambda folder: ["generate", str(saved_ir(folder)), "--kernel-lanes", "wide", "--out", str(folder / "rtl")],
         r"--kernel-lanes must be a number or NAME=P\[,NAME=P\.\.\.\], not 'wide'"),
    Case("generate --fps max for a part whose block RAM is not modelled",
         lambda folder: ["generate", str(saved_ir(folder)), "--fps", "max", "--target", "ice40-up5k", "--fold-images", "20",
                         "--out", str(folder / "rtl")],
         r"folding to fit the part models the ECP5's block RAM, not 'ice40-up5k'; give --fps "
         r"a number of images per second"),
    Case("--memory-style spram on a part without SPRAM",
         lambda folder: ["generate", str(saved_ir(folder)), "--memory-style", "spram", "--out", str(folder / "rtl")],
         r"memory_style 'spram' needs a part with single-port RAM banks \(ice40-up5k\), not "
         r"'ecp5-85k'"),
    Case("generate into a folder holding other files", _generate_beside,
         r".*rtl already holds other files \(notes\.txt\); write into an empty or new "
         r"directory, or pass --force to write beside them"),
    Case("convert into a folder holding other files", _convert_beside,
         r".*ir already holds other files \(notes\.txt\); write into an empty or new "
         r"directory, or pass --force to write beside them"),
    Case("verify a design of another network", _verify_other,
         r".*rtl was generated from another network \(IR digest [0-9a-f]{16}, this network "
         r"[0-9a-f]{16}\); generate it again from this network"),
    Case("verify past the end of the split",
         lambda folder: ["verify", str(saved_ir(folder)), str(rtl(folder, folder / "ir")),
                         "--first", "9999", "--images", "2", "-q"],
         r"image 9999 is past the end of the digits test split \(360 images\)"),
    Case("a .npy of float images in place of a dataset",
         lambda folder: (np.save(folder / "mine.npy", np.zeros((3, 1, 8, 8), np.float32)),
                         ["eval", str(saved_ir(folder)), "--dataset",
                          str(folder / "mine.npy"), "-q"])[1],
         r".*mine\.npy holds float32 of shape \[3, 1, 8, 8\]; images must be uint8 "
         r"\[N, C, H, W\] with N >= 1"),
    Case("a .npy of pickled objects in place of images",
         lambda folder: (np.save(folder / "mine.npy", np.array([{"x": 1}], dtype=object),
                                 allow_pickle=True),
                         ["eval", str(saved_ir(folder)), "--dataset",
                          str(folder / "mine.npy"), "-q"])[1],
         r".*mine\.npy is not a plain \.npy array \(Object arrays cannot be loaded when "
         r"allow_pickle=False\); save the images with numpy\.save"),
    Case("generate --dataset without --fps",
         lambda folder: ["generate", str(saved_ir(folder)), "--dataset", "digits", "--out",
                         str(folder / "rtl")],
         r"--dataset only chooses the images that --fps folds on; give --fps with it, or "
         r"leave it out"),
    Case("a board run at a clock of 0 MHz",
         lambda folder: ["board", "run", str(saved_ir(folder)), "--simulate", "--clock-mhz",
                         "0"],
         r"board run: argument --clock-mhz: must be a positive number, not 0 \(see "
         r"`spikewright board run --help`\)"),
    Case("an --arch that is not a list of layer specs",
         lambda folder: ["train", "--dataset", "digits", "--arch", '[["conv", 4, 3]]',
                         "--out", str(folder / "m.pt")],
         r"layer spec 0 \['conv', 4, 3\] must be \['conv', out, kernel, stride, padding\] "
         r"with integers of at least 1, 1, 1, 0"),
    Case("a conv larger than its input",
         lambda folder: ["train", "--dataset", "digits", "--arch",
                         '[["conv", 4, 9, 1, 0], ["flatten"], ["linear", 10]]', "--epochs", "1",
                         "--out", str(folder / "m.pt")],
         r"conv layer 0 \(9x9, padding 0\) does not fit its 8x8 input"),
    Case("verify --resume with no report to resume",
         lambda folder: ["verify", str(saved_ir(folder)), str(folder), "--resume", "-q"],
         r"--resume continues the run whose report --json names \(its batches are kept in "
         r"JSON\.batches/\); give --json"),
    Case("an empty seed range", lambda folder: ["regress", "--seeds", "5:2"],
         r"--seeds 5:2 is empty: STOP must be greater than START"),
    Case("a seed range that is not two integers", lambda folder: ["regress", "--seeds", "a:b"],
         r"--seeds must be START:STOP with two integers, not 'a:b'"),
    Case("--json naming a folder", _json_into_folder,
         r".*out is a directory; give a file name to write the result to"),
    Case("an unknown dataset",
         lambda folder: ["eval", str(saved_ir(folder)), "--dataset", "imagenet", "-q"],
         r"dataset must be one of .*, not 'imagenet'"),
    Case("import-torch of a network with max pooling", _max_pool_network,
         r"layer 'max_pool2d' \(ATen max_pool2d\) is not supported; supported layers: "
         r"Conv2d, Linear, .*; "
         r"replace max pooling by AvgPool2d"),
    Case("import-torch of a whole pickled module", _pickled_module,
         r".*pickled\.pt is neither a torch\.export program \(\.pt2\) nor a TorchScript "
         r"module: .*"),
    Case("nir import of a file that is not NIR", _not_nir,
         r".*x\.nir is not a readable NIR file: .*"),
    Case("board run on a serial port that does not exist", _board_no_port,
         r"cannot open the serial port .*ttyUSB9 \(.*\): connect the board and give its "
         r"port \(an FTDI port is /dev/ttyUSB0 or similar\), or simulate the board "
         r"\(--simulate\)"),
    Case("board run at a baud rate the board's clock cannot make", _board_fast_baud,
         r"12 MHz makes 1900000 baud only with a 5\.3% error \(at most 2%\): choose a baud "
         r"rate near 2000000 or 1714286"),
    Case("nir import of a foreign graph without -T", _foreign_nir,
         r"a graph without spikewright metadata needs --timesteps: the window length T of "
         r"the VR input encoder to add"),
    Case("nir import of a SpikingJelly graph (r = 1/dt)",
         _client_nir("spikingjelly_mlp_dt1e-4", 1),
         r"IF node '_1' has r = 10000; the IR's IF adds its input once per step \(r = 1\), .*"
         r"fold r \* dt into the preceding weights and bias and write r = 1"),
    Case("nir import of a Sinabs graph at T = 4 (NIR's IF resets to v_reset)",
         _client_nir("sinabs_mlp_t4", 4),
         r"IF node '1' resets to v_reset = 0 after a spike, .*: import with --timesteps 1 .*"),
    Case("nir import of an snnTorch graph (Leaky exports as LIF)",
         _client_nir("snntorch_leaky_t4", 4),
         r"node '1' \(LIF\) leaks or never fires; the IR's neurons are non-leaky "
         r"integrate-and-fire \(IF\) only"),
    Case("nir import of an HDF5 file that is not NIR", _hdf5_not_nir,
         r".*h\.nir is not a readable NIR file: .*"),
    Case("import-torch of a .pt2 that is not a zip", _not_a_zip_pt2,
         r".*net\.pt2 is not a torch\.export program: it is not a zip archive.*"),
    Case("import-torch of a TorchScript module with a skip connection in its forward",
         _torchscript_with_a_skip,
         r"the TorchScript module is a Skip, whose forward spikewright does not read .*"),
    Case("verify a design whose Verilog was edited after generate", _edited_verilog,
         r".*spikewright_top\.v is not the file that was generated \(its sha256 differs from "
         r"the manifest's\); generate the design again rather than editing it"),
    Case("verify a design whose manifest lacks hw_config", _manifest_without_hw_config,
         r".*manifest\.json is not a manifest written by the generator \(it lacks "
         r"hw_config\); generate the design again"),
    Case("a design whose manifest was edited after generate (a value of the wrong type)",
         _edited_manifest,
         r".*manifest\.json was edited after it was generated \(its content no longer matches "
         r"its manifest_sha256\); generate the design again rather than editing it"),
    Case("generate --fps beyond what fits the part",
         lambda folder: ["generate", "mnist_mlp_t1", "--fps", "1e12", "--fold-images", "20",
                         "--out", str(folder / "rtl")],
         r"the design folded for 1e\+12 images/s at 100 MHz \(the fastest, short of the "
         r"target\) needs \d+ block RAMs \(\d+ for its weights\); ecp5-85k has 208: ask for "
         r"fewer images per second, or --fps max for the fastest design that fits",
         needs_dataset=True),
    Case("train --init with an --arch of its own",
         lambda folder: ["train", "--dataset", "digits", "--init", str(checkpoint(folder)),
                         "--arch", "seed-cnn", "-T", "2", "--out", str(folder / "t.pt")],
         r"--init .*m\.pt trains its checkpoint's architecture, T, k and ICE; leave out "
         r"--arch, -T"),
    Case("convert to 64-bit weights",
         lambda folder: ["convert", str(checkpoint(folder)), "--weight-width", "64", "--out",
                         str(folder / "ir")],
         r"convert: argument --weight-width: must be at most 32, not 64 .*"),
    Case("train with a rotation of NaN degrees",
         lambda folder: ["train", "--dataset", "digits", "--rotate", "nan", "--out",
                         str(folder / "t.pt")],
         r"train: argument --rotate: must be a finite number of at least 0, not nan .*"),
    Case("run --out over a folder holding other files", _run_over_a_users_folder,
         r".*mine already holds other files \(notes\.txt\); write into an empty or new "
         r"directory, or pass --force to write beside them"),
    Case("sweep --fps with a zero in the list",
         lambda folder: ["sweep", str(saved_ir(folder)), "--fps", "0,100", "--no-synth",
                         "--out", str(folder / "sweep")],
         r"--fps '0,100': item '0' must be a positive number, not 0; give comma-separated "
         r"values"),
    Case("sweep with both --fps and --lanes",
         lambda folder: ["sweep", str(saved_ir(folder)), "--fps", "100", "--lanes", "4",
                         "--no-synth", "--out", str(folder / "sweep")],
         r"--fps folds a design for each frame rate and --lanes sweeps lane counts; give one "
         r"of them, not both"),
    Case("--kernel-lanes for a network without conv layers",
         lambda folder: ["generate", str(saved_ir(folder)), "--kernel-lanes", "4", "--out",
                         str(folder / "rtl")],
         r"kernel_lanes 4 sets the kernel positions a conv layer adds per cycle, and the "
         r"network has no conv layer \(its weighted layers are fc1, fc2\); leave it at 1"),
    Case("eval --json onto a full device",
         lambda folder: ["eval", str(saved_ir(folder)), "--json", "/dev/full", "-q"],
         r"cannot write /dev/full: No space left on device"),
    Case("report on a run folder whose eval.json is cut short",
         lambda folder: _run_folder(folder, eval__json='{"images": 10,'),
         r"\S*run/eval.json is not JSON \(.*\); write it again with the command that "
         r"makes it, or remove it"),
    Case("report on a run folder whose eval.json is a list",
         lambda folder: _run_folder(folder, eval__json="[1, 2]"),
         r"\S*run/eval.json holds a JSON list, not the object that `spikewright run` writes "
         r"there; write it again .*"),
    Case("report on a run folder whose eval.json lacks a key",
         lambda folder: _run_folder(folder, eval__json='{"images": 10, "accuracy": {}}'),
         r"\S*run/eval.json is not as `spikewright run` writes it \(it lacks the key "
         r"'dataset'\); write it again .*"),
    Case("report on a run folder with an accuracy of 'high'",
         lambda folder: _run_folder(folder, verify__json=json.dumps(
             {"rtl_accuracy": "high", "simulator": "verilator", "simulator_version": "5",
              "images": 10})),
         r"\S*run/verify.json is not as `spikewright run` writes it \(a value of the wrong "
         r"kind: accuracy 'high' is not a number from 0 to 1\); write it again .*"),
    Case("report on a run folder whose stream.json holds text for cycles",
         lambda folder: _run_folder(folder, stream__json=json.dumps(
             {"latency_cycles": ["many"], "interval_cycles": 90.0,
              "stage_cycles_mean": {}})),
         r"\S*run/stream.json is not as `spikewright run` writes it \(a value of the wrong "
         r"kind: .*\); write it again .*"),
    Case("report on a run folder whose synthesis result has a text Fmax",
         lambda folder: _run_folder(folder, **{"synth_ecp5-85k__json": json.dumps(
             {"place_and_route": {"fmax_mhz": "fast", "tool": "nextpnr"}})}),
         r"\S*run/synth_ecp5-85k.json is not as `spikewright run` writes it \(a value of the "
         r"wrong kind: .*\); write it again .*"),
    Case("build --out into the design folder given as --rtl",
         lambda folder: ["build", str(saved_ir(folder)), "--board", "ulx3s-85f", "--rtl",
                         str(rtl(folder, folder / "ir")), "--out", str(folder / "rtl")],
         r"\S*rtl already holds other files \(manifest.json, spikewright_axis.v, "
         r"spikewright_top.vlt\); write into an empty or new directory, or pass --force to "
         r"write beside them"),
    Case("import-torch with an input std of NaN",
         lambda folder: _torchscript_mlp(folder, "--input-std", "nan"),
         r"input_std must be finite, not \[nan\]"),
    Case("import-torch with three means for a one-channel input",
         lambda folder: _torchscript_mlp(folder, "--input-mean", "0.1", "0.2", "0.3"),
         r"input_mean has 3 values for an input of 1 channel; give one per channel, or one "
         r"for all"),
    Case("eval on a file of images whose labels exceed the network's classes",
         lambda folder: _image_file(folder, labels=np.array([1, 57])),
         r"\S*images.npy has label 57, but the network has 10 classes \(labels 0 to 9\)"),
    Case("sweep --place with --no-synth",
         lambda folder: ["sweep", str(saved_ir(folder)), "--place", "--no-synth", "--out",
                         str(folder / "sweep")],
         r"--place is for the syntheses, and --no-synth runs none; drop one of them"),
    Case("sweep --out over a folder holding other files",
         lambda folder: (saved_ir(folder), ["sweep", str(folder / "ir"), "--no-synth",
                                            "--out", str(folder / "ir")])[1],
         r"\S*ir already holds other files \(network.json, weights.npz\); write into an "
         r"empty or new directory, or pass --force to write beside them"),
    Case("eval --data-root for a built-in dataset",
         lambda folder: ["eval", str(saved_ir(folder)), "--data-root", str(folder / "none"),
                         "-q"],
         r"a data root \(--data-root \S*none\) is read for fashion-mnist, cifar10 and "
         r"cifar100; digits is built in: leave it out"),
    Case("run --targets naming no part",
         lambda folder: ["run", "--targets", "ecp5-85k,none", "--out", str(folder / "run")],
         r"--targets names 'none'; the targets are .* \(comma-separated; '' skips "
         r"synthesis\)"),
]



def _empty_npz(ir: Path) -> Path:
    (ir / "weights.npz").write_bytes(b"")
    return ir


def run_case(case: Case, folder: Path) -> tuple[int, str, str]:
    argv = case.make(folder)
    status, out, err = run_command(argv)
    return status, err, _portable(" ".join(argv), folder)


def _portable(text: str, folder: Path) -> str:
    """``text`` with the case folder as DIR and the checkout's own files relative to it."""
    return text.replace(str(folder), "DIR").replace(str(ROOT) + "/", "")


def check(case: Case, folder: Path) -> str:
    """Run ``case``; return its one error line (without the prefix) after checking it."""
    status, err, command = run_case(case, folder)
    lines = err.strip().splitlines()
    assert status == 2, (case.what, status, err)
    assert lines and lines[-1].startswith("spikewright: error: "), (case.what, err)
    message = lines[-1][len("spikewright: error: "):]
    assert re.fullmatch(case.message, message), (case.what, message)
    return _portable(message, folder), command


def render(rows) -> str:
    """docs/errors.md from ``(case, command, message)`` rows."""
    text = ["# Bad inputs and what they get", "",
            "Every command reads its inputs through loaders that check them: a bad input ends",
            "with one line `spikewright: error: <what was wrong, what would be right>` on stderr",
            "and exit status 2 (usage errors too: the command, what was wrong, and `--help`).",
            "A traceback always",
            "means a bug in spikewright. This table is generated from the test cases in",
            "`tests/bad_inputs.py` (`python tests/bad_inputs.py` rewrites it; a test checks that",
            "it is current). `DIR` stands for the folder the case ran in.", "",
            "| bad input | command | message |", "|---|---|---|"]
    for case, command, message in rows:
        escaped = message.replace("|", "\\|")
        text.append(f"| {case.what} | `{command}` | {escaped} |")
    return "\n".join(text) + "\n"


def collect(tmp_root: Path):
    rows = []
    for i, case in enumerate(CASES):
        folder = tmp_root / f"case{i}"
        folder.mkdir(parents=True)
        message, command = check(case, folder)
        rows.append((case, command, message))
    return rows


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        DOC.write_text(render(collect(Path(tmp))))
    print(f"wrote {DOC}")
