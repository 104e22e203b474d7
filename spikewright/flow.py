"""The flow: the steps of the main job as functions over one in-memory :class:`Build`.

    load / convert -> images -> plan -> golden -> evaluate, cycles and energy
                   -> generate -> verify -> synthesize -> report

Each step takes the record, does one thing, stores its result on it and returns it
(``step(build, ...) -> build``), in the manner of FINN's build steps. A step never repeats
what an earlier one did: the dataset is loaded once, the plan made once, golden run once
per image set (its stage times feed the stream model; its trace, verification). The command line is a set of thin parsers over these steps, and they are the
Python API.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spikewright.golden import datasets, ir_io
from spikewright.golden import model as golden_model
from spikewright.golden.ir import Network
from spikewright.golden.output_file import write_output
from spikewright.hdl_gen import plan as plan_module
from spikewright.hdl_gen.config import HwConfig
from spikewright.hdl_gen.stream_model import chain_stages, stage_times, times_of_scans
from spikewright.hdl_gen.stream_plan import layer_scans
from spikewright.shipped import MODELS_DIR

__all__ = ["Build", "ImageSet", "load", "train", "from_torch", "convert", "nir_export",
           "to_nir_graph", "nir_import", "images", "plan", "golden", "evaluate",
           "cycles_and_energy", "generate", "verify", "synthesize", "synthesize_rtl", "report",
           "write_json", "prepare_output_file", "prepare_output_dir", "use_checkpoint",
           "log"]


def log(message: str) -> None:
    """One progress line on stderr."""
    print(f"[spikewright] {message}", file=sys.stderr, flush=True)


def _whole(name: str, value, minimum: int, *, optional: bool = False):
    """``value`` as an int where it is a whole number of at least ``minimum`` (or None
    where ``optional``); a TypeError or ValueError naming ``name`` otherwise."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number (an int), not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def _path(name: str, value) -> Path:
    """``value`` as a Path where it is a path (a str or os.PathLike)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (a str or os.PathLike), not {value!r}")
    if not str(value):
        raise ValueError(f"{name} is an empty path; give a file or folder")
    return Path(value)


def _needs(build: Build, step: str, *, plan_: bool = False, images_: bool = False,
           golden_: bool = False) -> None:
    """Refuse ``step`` on a build that lacks what it reads, naming the step to call first."""
    if not isinstance(build, Build):
        raise TypeError(f"{step} takes a Build (from load, train, convert, from_torch or "
                        f"nir_import), not {type(build).__name__}")
    if plan_ and build.plan is None:
        raise ValueError(f"{step} needs the hardware plan first: call plan(build, "
                         f"HwConfig(...)) or fold(build, fps=...)")
    if (images_ or golden_) and build.images is None:
        raise ValueError(f"{step} needs images first: call images(build, ...)")
    if golden_ and build.images.golden is None:
        raise ValueError(f"{step} needs golden's run on the images first: call "
                         f"run_golden(build)")


def write_json(path, document) -> Path:
    """Write ``document`` as JSON to ``path`` whole or not at all
    (:func:`spikewright.golden.output_file.write_output`), creating the parent directory."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the folder {path.parent} for {path}: "
                         f"{error.strerror}") from None
    text = json.dumps(document, indent=2) + "\n"
    return write_output(path, lambda target: Path(target).write_text(text))


def prepare_output_file(path) -> Path:
    """Check, before any work, that a result can be written to ``path``: its folder is
    created, and ``path`` is not a folder and can be written."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a file name to write the result to")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the folder {path.parent} for {path}: "
                         f"{error.strerror}") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{path} cannot be written (no permission)")
    return path


def prepare_output_dir(path, owned, *, owned_prefixes: tuple = (),
                       force: bool = False) -> list[str]:
    """Check, before any work, that the files ``owned`` (and those whose names start with
    one of ``owned_prefixes``) can be written into directory ``path``: it is created if
    missing; a directory that holds anything else is refused unless ``force``. Returns the
    names of the files that will be replaced."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} exists and is not a directory")
    prepare_output_file(path / "probe")
    present = sorted(p.name for p in path.iterdir())

    def ours(name: str) -> bool:
        return name in owned or name.startswith(tuple(owned_prefixes))

    others = [name for name in present if not ours(name)]
    if others and not force:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5
                                         else "")
        raise ValueError(f"{path} already holds other files ({shown}); write into an empty or "
                         f"new directory, or pass --force to write beside them")
    replaced = [name for name in present if ours(name)]
    if replaced:
        log(f"replacing {', '.join(replaced)} in {path}")
    return replaced


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ImageSet:
    """Images of one dataset split, and what golden computed for them.

    ``golden`` keeps the spike trace of the first ``traced`` images (those to verify)."""
    dataset: str
    split: str
    first: int
    pixels: np.ndarray
    labels: np.ndarray
    golden: object = None
    traced: int = 0
    scans: dict | None = None  # {layer: scan cycles or window pops} (stream_plan.layer_scans)
    stage_times: tuple | None = None  # (plan, {stage: [cycles per image]})


@dataclass
class Build:
    """Everything one run knows: the network, where it came from, the hardware plan, the
    images and golden's results, the generated files and every report."""
    network: Network
    ir_dir: Path | None = None
    checkpoint: Path | None = None
    model: str | None = None
    plan: object = None
    images: ImageSet | None = None
    files: dict | None = None
    rtl_dir: Path | None = None
    results: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def dataset(self) -> str | None:
        return self.network.metadata.get("dataset")


def _resolve(network) -> tuple[Path, str | None]:
    """An IR directory given as a path, or the name of a shipped model."""
    text = str(network)
    path = Path(text)
    if not path.is_dir() and "/" not in text and (MODELS_DIR / text / "ir").is_dir():
        return MODELS_DIR / text / "ir", text
    return path, None


def load(network) -> Build:
    """A build of the IR in directory ``network`` (or of the shipped model of that name)."""
    ir_dir, name = _resolve(_path("network", network))
    build = Build(ir_io.load(ir_dir), ir_dir=ir_dir, model=name)
    checkpoint = build.network.metadata.get("checkpoint")
    if isinstance(checkpoint, str) and checkpoint:
        path = (ir_dir / checkpoint).resolve()
        if path.is_file():
            build.checkpoint = path
        else:
            build.notes.append(f"the IR names its checkpoint {checkpoint} (relative to "
                               f"{ir_dir}), which is not there: the ANN's accuracy is not "
                               f"reported; give the checkpoint to report it")
    return build


def use_checkpoint(build: Build, checkpoint) -> Build:
    """Take ``checkpoint`` as the ANN the build's network was converted from; refuse a
    checkpoint other than the one the IR records (its SHA-256)."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    recorded = build.network.metadata.get("checkpoint_sha256")
    if recorded and file_sha256(checkpoint) != recorded:
        raise ValueError(f"checkpoint {checkpoint} is not the one this network was converted "
                         f"from (SHA-256 {file_sha256(checkpoint)[:16]}, the IR records "
                         f"{str(recorded)[:16]}); give that checkpoint, or none")
    build.checkpoint = checkpoint
    return build


def convert(checkpoint, out=None, *, weight_width=None, neuron="if", calibration_images=2000,
            ctt_epochs=3, data_root=None, exact_thresholds=None, progress=None,
            force: bool = False) -> Build:
    """A build of the network converted from ``checkpoint`` (a file written by training, or
    a :class:`~spikewright.golden.train.ConvertibleNet` in memory), calibrated with CTT where
    IF neurons run at T > 1, saved to ``out`` where given (a directory holding other files
    only with ``force``). ``weight_width`` and ``exact_thresholds`` left None take the
    values the checkpoint was trained with, else 8 bits and rounded thresholds."""
    from spikewright.golden import ctt
    from spikewright.golden.convert import convert as convert_model
    from spikewright.golden.train import load_checkpoint
    from spikewright.golden.train import ConvertibleNet
    if out is not None:
        prepare_output_dir(out, ir_io.FILES, force=force)
    if isinstance(checkpoint, ConvertibleNet):
        model, info, checkpoint = checkpoint, {"dataset": getattr(checkpoint, "dataset",
                                                                  None)}, None
    else:
        model, info = load_checkpoint(checkpoint)
        checkpoint = Path(checkpoint).resolve()
    trained = model.weight_quantization or {"weight_width": 8, "exact_thresholds": False}
    weight_width = trained["weight_width"] if weight_width is None else weight_width
    exact_thresholds = (trained["exact_thresholds"] if exact_thresholds is None
                        else exact_thresholds)
    metadata = {"dataset": info.get("dataset"),
                "checkpoint": (os.path.relpath(checkpoint, Path(out).resolve())
                               if out and checkpoint else None),
                "checkpoint_sha256": file_sha256(checkpoint) if checkpoint else None,
                "ctt": None}
    network = convert_model(model, weight_width=weight_width, neuron=neuron,
                            exact_thresholds=exact_thresholds, metadata=metadata)
    if neuron == "if" and network.timesteps > 1 and calibration_images > 0:
        pixels, _ = datasets.load_dataset(info["dataset"], "train", data_root,
                                          calibration_images)
        network = ctt.calibrate(network, pixels, epochs=ctt_epochs, progress=progress)
        network = type(network)(network.timesteps, network.input, network.layers,
                                {**network.metadata, "ctt": {"images": len(pixels),
                                                             "epochs": ctt_epochs}})
    if out is not None:
        ir_io.save(network, out)
    return Build(network, ir_dir=Path(out) if out is not None else None, checkpoint=checkpoint)


def train(model, *, dataset: str = "mnist", epochs: int = 20, lr: float = 2e-3,
          timesteps: int = 1, k: int | None = None, limit: int | None = None,
          max_shift: int = 1, seed: int = 0, optimizer: str = "adam", weight_width=None,
          out=None, data_root=None, progress=None):
    """Train (or fine-tune) a conversion-ready ANN on a dataset's training images.

    ``model``: an architecture (``"mlp:768"``, ``"seed-cnn"`` or a layer list, see
    :mod:`spikewright.golden.train`), built with ``timesteps`` and ``k``; or a
    :class:`~spikewright.golden.train.ConvertibleNet` (from :func:`from_torch`, or
    :func:`~spikewright.golden.train.load_checkpoint`) to fine-tune in place. With
    ``weight_width`` training sees the integer weights conversion will write. The model
    is saved to the checkpoint ``out`` where given; returns it, its test accuracy
    (quantized ANN) in ``model.test_accuracy``."""
    from spikewright.golden.train import ConvertibleNet, evaluate as evaluate_ann
    from spikewright.golden.train import parse_arch, save_checkpoint, train_model
    info = datasets.dataset_info(dataset)
    if out is not None:
        prepare_output_file(out)
    if not isinstance(model, ConvertibleNet):
        arch = parse_arch(model, info["classes"]) if isinstance(model, str) else model
        model = ConvertibleNet(arch, info["shape"], timesteps, 4 * timesteps if k is None
                               else k, seed=seed)
    if weight_width is not None:
        model.quantize_weights(weight_width)
    x, y = datasets.load_dataset(dataset, "train", data_root, limit)
    xt, yt = datasets.load_dataset(dataset, "test", data_root)
    history = train_model(model, x, y, epochs=epochs, lr=lr, max_shift=max_shift, seed=seed,
                          optimizer=optimizer, progress=progress)
    model.dataset = dataset
    model.test_accuracy = evaluate_ann(model, xt, yt)
    if out is not None:
        save_checkpoint(model, out, dataset=dataset, seed=seed, epochs=epochs,
                        history=history, accuracy={"ann_quant": model.test_accuracy})
    return model


def from_torch(module, *, dataset: str = "mnist", timesteps: int = 1, k: int | None = None,
               input_mean=0.0, input_std=1.0, calibration_images: int = 2000,
               data_root=None, checkpoint=None):
    """A plain PyTorch ReLU network (an ``nn.Module``, or the ops of a saved one) as a
    conversion-ready ANN (:func:`spikewright.golden.torch_import.from_torch`), its
    activation scales measured on ``calibration_images`` training images of ``dataset``.
    ``model.torch_import["accuracy"]`` holds the test accuracy of the ReLU network and of
    the imported quantized one before any fine-tuning; saved to ``checkpoint`` where
    given. Fine-tune it with :func:`train`, then :func:`convert` it."""
    from spikewright.golden.torch_import import from_torch as import_module
    from spikewright.golden.torch_import import normalized_inputs, ops_from_module, run_ops
    from spikewright.golden.train import evaluate as evaluate_ann
    from spikewright.golden.train import save_checkpoint
    ops = module if isinstance(module, list) else ops_from_module(module)
    x, _ = datasets.load_dataset(dataset, "train", data_root, calibration_images)
    xt, yt = datasets.load_dataset(dataset, "test", data_root)
    model = import_module(ops, x, timesteps=timesteps, k=k, input_mean=input_mean,
                          input_std=input_std)
    relu_classes = run_ops(ops, normalized_inputs(xt, input_mean, input_std)).argmax(1)
    model.torch_import["accuracy"] = {
        "relu": float((relu_classes == yt).mean()),
        "imported_quantized": evaluate_ann(model, xt, yt)}
    model.dataset = dataset
    if checkpoint is not None:
        save_checkpoint(model, checkpoint, dataset=dataset, torch_import=model.torch_import)
    return model


def nir_export(build: Build, path) -> Build:
    """Write the build's network as a NIR graph (:mod:`spikewright.golden.nir_io`):
    ``results["nir_export"]``."""
    from spikewright.golden import nir_io
    graph = nir_io.write(build.network, path)
    build.results["nir_export"] = {"file": str(path), "nodes": len(graph.nodes),
                                   "network_digest": build.network.digest()}
    return build


def to_nir_graph(build: Build):
    """The build's network as an in-memory NIR graph."""
    from spikewright.golden import nir_io
    return nir_io.to_nir(build.network)


def nir_import(path, out=None, *, timesteps=None, k=None, weight_width=8, dataset=None,
               use_metadata=True, force=False) -> Build:
    """A build of the network in a NIR file (:func:`spikewright.golden.nir_io.from_nir`),
    saved to the IR directory ``out`` where given; what the import did, with each layer's
    quantization error, in ``results["nir_import"]``."""
    from spikewright.golden import nir_io
    path = _path("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"NIR file {path} does not exist")
    if out is not None:
        prepare_output_dir(out, ir_io.FILES, force=force)
    network, report = nir_io.read(path, use_metadata=use_metadata, timesteps=timesteps, k=k,
                                  weight_width=weight_width)
    if dataset is not None:
        network = Network(network.timesteps, network.input, network.layers,
                          {**network.metadata, "dataset": dataset})
    if out is not None:
        ir_io.save(network, out)
    build = Build(network, ir_dir=Path(out) if out is not None else None)
    build.results["nir_import"] = report
    return build


def images(build: Build, *, dataset=None, split="test", limit=None, first=0,
           data_root=None) -> Build:
    """Load images ``first`` to ``first + limit`` of a dataset split (default: the network's
    dataset), checked against the network's input shape."""
    _needs(build, "images")
    limit = _whole("limit", limit, 1, optional=True)
    first = _whole("first", first, 0)
    dataset = dataset or build.dataset
    if not dataset:
        raise ValueError("the network does not name its dataset (metadata 'dataset'); give "
                         "one (--dataset on the command line)")
    if datasets.is_image_file(dataset):
        pixels, labels = datasets.load_image_file(dataset)
        if limit is not None:
            pixels = pixels[:first + limit]
            labels = None if labels is None else labels[:first + limit]
        dataset, split = str(dataset), "file"
    else:
        pixels, labels = datasets.load_dataset(dataset, split, data_root,
                                               None if limit is None else first + limit)
    if first >= len(pixels):
        raise ValueError(f"image {first} is past the end of the {dataset} {split} split "
                         f"({len(pixels)} images)")
    pixels, labels = pixels[first:], None if labels is None else labels[first:]
    if limit is not None and len(pixels) < limit:
        log(f"the {dataset} {split} split ends after image {first + len(pixels) - 1}: "
            f"{len(pixels)} images, not {limit}")
    if pixels.shape[1:] != build.network.input.shape:
        raise ValueError(f"dataset {dataset!r} has images of shape {list(pixels.shape[1:])}, "
                         f"but the network expects {list(build.network.input.shape)}")
    classes = getattr(build.network.weighted_layers[-1], "out_features", None)
    if (split == "file" and labels is not None and classes is not None
            and labels.max() >= classes):
        raise ValueError(f"{dataset} has label {int(labels.max())}, but the network has "
                         f"{classes} classes (labels 0 to {classes - 1})")
    build.images = ImageSet(dataset, split, first, pixels, labels)
    return build


def plan(build: Build, config: HwConfig | None = None) -> Build:
    """Make the hardware plan of the network laid out by ``config``."""
    _needs(build, "plan")
    build.plan = plan_module.make_plan(build.network, config or HwConfig())
    return build


def golden(build: Build, *, traced: int = 0, progress=None, batch_size: int = 500,
           scans: bool = False) -> Build:
    """Run golden once over the build's images: classes, logits, spikes and synaptic
    operations of every image, each stage's cycles per image (where a plan exists), what
    every layer's stage cycles depend on for any lanes (``scans``: dense scan cycles and conv
    window pops, for folding), and the spike trace of the first ``traced`` images (for
    verification)."""
    _needs(build, "run_golden", images_=True)
    traced = _whole("traced", traced, 0)
    batch_size = _whole("batch_size", batch_size, 1)
    image_set = build.images
    scanned = {} if scans else None
    timed = {} if build.plan is not None else None

    def on_batch(first, result):
        if scanned is not None:
            for name, rows in layer_scans(build.network, result).items():
                scanned.setdefault(name, []).append(rows)
        if timed is not None:
            for name, rows in stage_times(build.plan, result).items():
                timed.setdefault(name, []).extend(rows)

    image_set.golden = golden_model.run(
        build.network, image_set.pixels, trace=traced > 0, keep_trace=traced,
        batch_size=batch_size, progress=progress,
        on_batch=on_batch if scans or timed is not None else None)
    image_set.traced = min(traced, len(image_set.pixels))
    if scanned is not None:
        image_set.scans = {name: np.concatenate(parts) for name, parts in scanned.items()}
    image_set.stage_times = (build.plan, timed) if timed is not None else None
    return build


def stream_timing(build: Build):
    """The stream model's timing of the build's images through its dataflow plan."""
    _needs(build, "stream_timing", plan_=True, images_=True)
    images = build.images
    if images.stage_times is not None and images.stage_times[0] is build.plan:
        return chain_stages(build.plan, images.stage_times[1])
    if images.scans is not None:
        return chain_stages(build.plan, times_of_scans(build.plan, images.scans))
    if images.golden is not None and images.traced == len(images.pixels):
        return chain_stages(build.plan, stage_times(build.plan, images.golden))
    raise ValueError("the stream model needs golden's run with this dataflow plan (or a "
                     "full trace) first")


def _sample_scans(build: Build) -> dict:
    """The scan cycles of golden's run on the build's sample images, which folding measures."""
    if build.images is None or build.images.scans is None:
        raise ValueError("folding needs golden's run on sample images first")
    return build.images.scans


def fold(build: Build, *, fps: float, config: HwConfig | None = None) -> Build:
    """Choose the lanes per layer and pixels per beat of a dataflow design for ``fps``
    images per second at ``config.clock_mhz`` (:func:`.hdl_gen.fold.fold` on the build's
    images), record the choice in ``results["folding"]`` and make the plan."""
    from spikewright.hdl_gen.fold import fold as fold_design
    if (isinstance(fps, bool) or not isinstance(fps, (int, float, np.number))
            or not 0 < fps < float("inf")):
        raise ValueError(f"fps must be a positive, finite number of images per second, not "
                         f"{fps!r}")
    config = config or HwConfig()
    folding = fold_design(build.network, _sample_scans(build),
                          interval_cycles=config.clock_mhz * 1e6 / fps, config=config)
    build.results["folding"] = {"fps": fps, "clock_mhz": config.clock_mhz,
                                **folding.to_json()}
    return plan(build, folding.config)


def fold_to_fit(build: Build, *, config: HwConfig | None = None) -> Build:
    """Choose the lanes per layer and pixels per beat of the dataflow design with the most
    images per second whose weights fit ``config.target``'s block RAM
    (:func:`.hdl_gen.fold.fold_to_fit`; ECP5 parts, dense networks), record the choice in
    ``results["folding"]`` and make the plan."""
    from spikewright.hdl_gen.parts import TARGETS
    from spikewright.hdl_gen.fold import dense_weight_blocks
    from spikewright.hdl_gen.fold import fold_to_fit as fold_design
    config = config or HwConfig()
    part = TARGETS[config.target]
    if part.family != "ecp5":
        raise ValueError(f"folding to fit the part models the ECP5's block RAM, not "
                         f"{config.target!r}; give --fps a number of images per second")
    blocks = part.block_count
    folding = fold_design(build.network, _sample_scans(build), config=config, blocks=blocks)
    plan(build, folding.config)
    build.results["folding"] = {
        "fps": "max", "clock_mhz": config.clock_mhz,
        "predicted_fps": config.clock_mhz * 1e6 / folding.timing.interval,
        "block_rams": blocks, "weight_block_rams": dense_weight_blocks(build.plan),
        **folding.to_json()}
    return build


def check_folding_fits(build: Build) -> None:
    """Refuse a folded design that takes more block RAMs than its part has (its weights and
    its other memories, :func:`.hdl_gen.fold.design_block_rams`): folding for a frame rate
    weighs cycles, not the part, and the fastest design for a target it cannot meet may
    not fit."""
    from spikewright.hdl_gen.fold import design_block_rams, weight_block_rams
    from spikewright.hdl_gen.parts import TARGETS
    config = build.plan.config
    part = TARGETS[config.target]
    blocks, needed = part.block_count, design_block_rams(build.plan)
    if needed > blocks:
        folding = build.results["folding"]
        raise ValueError(f"the design folded for {folding['fps']:g} images/s at "
                         f"{folding['clock_mhz']:g} MHz"
                         + ("" if folding["met"] else " (the fastest, short of the target)")
                         + f" needs {needed} block RAMs ({weight_block_rams(build.plan)} for "
                         f"its weights); {config.target} has {blocks}: ask for fewer images "
                         f"per second"
                         + (", or --fps max for the fastest design that fits"
                            if part.family == "ecp5" and all(
                                layer.kind == "dense" for layer in build.plan.layers)
                            else ""))


def evaluate(build: Build, *, ann: bool = True) -> Build:
    """Accuracy at every level on the build's images (golden's, and the float and quantized
    ANN's from the checkpoint where it is known), spikes and synaptic operations per image:
    ``results["eval"]``."""
    _needs(build, "evaluate", golden_=True)
    image_set, result = build.images, build.images.golden
    labels = image_set.labels  # None for a file of images without labels: no accuracy
    accuracy = {"ann_float": None, "ann_quant": None,
                "snn_golden": None if labels is None
                else float((result.predictions == labels).mean())}
    if ann and build.checkpoint is None:
        for note in build.notes:
            log(note)
    if ann and build.checkpoint is not None and labels is not None:
        from spikewright.golden.train import evaluate as evaluate_ann
        from spikewright.golden.train import load_checkpoint
        model, _ = load_checkpoint(build.checkpoint)
        accuracy["ann_float"] = evaluate_ann(model, image_set.pixels, labels, quantized=False)
        accuracy["ann_quant"] = evaluate_ann(model, image_set.pixels, labels, quantized=True)
    spikes = {name: float(c.mean()) for name, c in result.spike_counts.items()}
    synops = {name: float(c.mean()) for name, c in result.synops.items()}
    build.results["eval"] = {
        "model": build.model, "network": str(build.ir_dir) if build.ir_dir else None,
        "dataset": image_set.dataset, "split": image_set.split,
        "first_image": image_set.first, "images": int(len(image_set.pixels)),
        "timesteps": build.network.timesteps,
        "total_timesteps": build.network.total_timesteps,
        "network_digest": build.network.digest(),
        "checkpoint": str(build.checkpoint) if build.checkpoint else None,
        "accuracy": accuracy,
        "spikes_per_image": {"total": float(sum(spikes.values())), "per_layer": spikes},
        "synops_per_image": {"total": float(sum(synops.values())), "per_layer": synops},
    }
    return build


def cycles_and_energy(build: Build) -> Build:
    """The stream model's timing of the build's images streamed back to back and the energy
    estimate: ``results["stream"]`` (the interval, each image's latency and result cycle,
    each stage's mean cycles, the part's limits), ``results["cycles"]`` (each image's
    latency) and ``results["energy"]``."""
    from spikewright.energy import energy_report
    _needs(build, "cycles_and_energy", plan_=True, golden_=True)
    stream = stream_timing(build)
    limits = bandwidth_limits(build.plan, build.images.golden)
    build.results["stream"] = {
        "interval_cycles": stream.interval,
        "latency_cycles": [int(v) for v in stream.latencies],
        "result_cycles": [int(v) for v in stream.results],
        "stage_cycles_mean": {name: float(np.mean(v)) for name, v in stream.stages.items()},
        "stages": stage_table(build.plan, stream, build.images.golden),
        **limits,
        "interval_to_weight_limit": stream.interval / limits["weight_limit_cycles"],
        "interval_to_pixel_limit": stream.interval / limits["pixel_limit_cycles"],
        "source": "stream model (hdl_gen.stream_model) on the golden trace"}
    build.results["cycles"] = {
        "cycles": [int(v) for v in stream.latencies],
        "interval_cycles": stream.interval,
        "stage_cycles_mean": build.results["stream"]["stage_cycles_mean"],
        "source": "stream model (hdl_gen.stream_model) on the golden trace: each image's "
                  "latency, images streamed back to back"}
    build.results["energy"] = energy_report(build.plan, build.images.golden.synops)
    return build


def stage_table(plan, stream, result) -> list[dict]:
    """One row per stage of the dataflow design: its kind, lanes (and kernel lanes), the
    block RAMs its weights take on the plan's part (the stage plan's own count), the mean
    input spikes per image and per stage cycle, its mean cycles per image and their share
    of the interval (the slowest stage sets it), from the stream model ``stream`` of
    golden's ``result``."""
    from spikewright.golden.ir import Neuron

    def row(name, kind, mean, **fields):
        return {"stage": name, "kind": kind, **fields, "mean_cycles": mean,
                "share_of_interval": mean / stream.interval}

    means = {name: float(np.mean(v)) for name, v in stream.stages.items()}
    rows = [row("encoder", "encoder", means["encoder"],
                pixels_per_beat=plan.config.pixels_per_beat)]
    source = "input"
    for stage in plan.stream.stages:
        layer = stage.layer
        spikes = float(np.mean(result.spike_counts[source]))
        conv = layer.kind == "conv2d"
        rows.append(row(
            layer.name, ("grouped conv" if layer.groups_conv > 1 else "conv") if conv
            else "dense", means[layer.name], neuron=layer.neuron.value,
            lanes=stage.lanes if conv else layer.lanes,
            kernel_lanes=stage.kernel_lanes if conv else None,
            events_per_cycle=stage.events,
            weight_block_rams=stage.weight_block_rams(plan.config.target),
            input_spikes_mean=spikes, input_spikes_per_cycle=spikes / means[layer.name]))
        if layer.neuron is not Neuron.NONE:
            source = layer.name
    rows.append(row("argmax", "argmax", means["argmax"]))
    return rows


def bandwidth_limits(plan, result) -> dict:
    """The part's own bounds on cycles per image: the weight bits one image reads (synaptic
    operations times weight width) over the block RAM's read width per cycle, and the pixel
    bytes over the input stream's width (:func:`.hdl_gen.config.Target` facts)."""
    from spikewright.hdl_gen.parts import TARGETS
    target = TARGETS[plan.config.target]
    bits = sum(float(np.mean(result.synops[layer.name])) * layer.weight_width
               for layer in plan.layers)
    pixels = int(np.prod(plan.network.input.shape))
    beat = plan.config.pixels_per_beat
    return {"weight_bits_per_image": bits,
            "block_ram_read_bits_per_cycle": target.block_ram_read_bits,
            "weight_limit_cycles": bits / target.block_ram_read_bits,
            "pixel_limit_cycles": pixels / beat, "pixels_per_beat": beat}


def log_estimate(estimate: dict) -> None:
    """One line per stage and one in total of a design's resources before synthesis
    (:mod:`spikewright.hdl_gen.estimate`)."""
    def counts(found):
        return ", ".join(f"{found[key]:,} {name}" for key, name in
                         (("luts", "LUT4"), ("ffs", "FF"), ("brams", "block RAMs"),
                          ("lutrams", "LUT RAMs")) if found[key] or key != "lutrams")
    log(f"estimate before synthesis ({estimate['target']}): {counts(estimate['total'])}")
    for stage, found in estimate["stages"].items():
        log(f"  {stage}: {counts(found)}")


def generate(build: Build, out, *, force: bool = False) -> Build:
    """Generate the design of the build's plan (Verilog, waivers, manifest) into ``out`` (a
    directory holding other files only with ``force``)."""
    from spikewright.hdl_gen.emit import FILES
    from spikewright.hdl_gen.emit import generate as generate_files
    from spikewright.hdl_gen.emit import write_files
    _needs(build, "generate", plan_=True)
    out = _path("out", out)
    prepare_output_dir(out, FILES, force=force)
    notes = {"folding": build.results["folding"]} if "folding" in build.results else None
    build.files = generate_files(build.network, plan=build.plan, notes=notes)
    build.rtl_dir = write_files(build.files, out)
    log_estimate(json.loads(build.files["manifest.json"])["estimate"])
    lanes = build.plan.config.lanes
    for layer in build.plan.layers:
        wanted = lanes.get(layer.name) if isinstance(lanes, dict) else lanes
        if wanted is not None and wanted > layer.lanes:
            unit = "output channels" if layer.kind == "conv2d" else "neurons"
            log(f"{layer.name} is built with {layer.lanes} lanes, not {wanted}: it has "
                f"{layer.lanes} {unit} (manifest: lanes_used)")
    asked = build.plan.config.kernel_lanes
    for stage in build.plan.stream.stages:
        name = stage.layer.name
        if not isinstance(asked, dict) or name not in asked:
            continue
        if stage.layer.kind != "conv2d":
            log(f"kernel lanes of {name} ignored: it is a {stage.layer.kind} layer, which has "
                f"no kernel")
        elif asked[name] != stage.kernel_lanes:
            log(f"{name} is built with {stage.kernel_lanes} kernel lanes, not {asked[name]}: "
                f"its kernel has {stage.kernel_positions} positions (manifest: "
                f"kernel_lanes_used)")
    for stage in build.plan.stream.stages:
        asked = build.plan.config.events_for(stage.layer.name)
        if asked != stage.events:
            channels = stage.layer.in_shape[0]
            log(f"{stage.layer.name} is built with {stage.events} event"
                f"{'s' * (stage.events > 1)} per cycle, not {asked}: it has {channels} input "
                f"channel{'s' * (channels > 1)} (manifest: events_used)")
    return build


def start_simulator_build(rtl_dir, *, bench="cocotb", simulator="verilator", build_root=None):
    """Start the simulator build that :func:`verify` of ``rtl_dir`` will use, in a thread
    (the compilers run as processes), so that golden can run meanwhile; returns a future of
    its :class:`~spikewright.sim.build.BuildInfo` (``None`` for the Amaranth bench)."""
    from concurrent.futures import ThreadPoolExecutor
    from spikewright.sim.verify import build_for
    pool = ThreadPoolExecutor(1, thread_name_prefix="simulator-build")
    future = pool.submit(build_for, bench, rtl_dir, simulator=simulator, build_root=build_root)
    pool.shutdown(wait=False)
    return future


def verify(build: Build, rtl_dir=None, *, images: int | None = None, simulator="verilator",
           bench="cocotb", seed=0, input_gaps=0.0, backpressure=0.0, batch_size=500,
           build_root=None, progress=None, partial=None, jobs=1, scheduler=None,
           batch_dir=None, resume=False, build_s=0.0) -> Build:
    """Run the first ``images`` of the build's images (all where None) through the design
    in ``rtl_dir`` (default: the one generated) and compare with golden:
    ``results["verify"]``. The design must have been generated from this network.
    ``partial(report)`` sees the report of the batches done so far; ``jobs``,
    ``scheduler``, ``batch_dir`` and ``resume``: where the batches run and are kept
    (:func:`spikewright.sim.verify.verify`); ``build_s``: the seconds of a simulator build
    made before (:func:`start_simulator_build`)."""
    from spikewright.sim.verify import check_design
    from spikewright.sim.verify import verify as verify_design
    _needs(build, "verify", golden_=True)
    images = _whole("images", images, 1, optional=True)
    jobs = _whole("jobs", jobs, 1)
    if rtl_dir is None and build.rtl_dir is None:
        raise ValueError("verify needs a design: call generate(build, out) first, or give "
                         "rtl_dir")
    rtl_dir = _path("rtl_dir", rtl_dir or build.rtl_dir)
    manifest = check_design(rtl_dir, build.network)
    config = HwConfig.from_json(manifest["hw_config"])
    if build.plan is None:
        plan(build, config)
    elif build.plan.config != config:
        raise ValueError(f"{rtl_dir} was generated with another hardware configuration "
                         f"({manifest['hw_config']}) than this build's "
                         f"({build.plan.config.to_json()})")
    image_set = build.images
    count = len(image_set.pixels) if images is None else min(images, len(image_set.pixels))
    if image_set.golden is None or image_set.traced < count:
        raise ValueError(f"golden must keep the trace of the {count} images to verify "
                         f"(it kept {image_set.traced})")
    def finish(report):
        classes, golden_classes = report.pop("classes"), report.pop("golden_classes")
        if image_set.labels is None:  # the user's images without labels
            report["rtl_accuracy"] = report["golden_accuracy_same_images"] = None
        else:
            labels = image_set.labels[:len(classes)]
            report["rtl_accuracy"] = float(np.mean([c == l for c, l in zip(classes, labels)]))
            report["golden_accuracy_same_images"] = float((labels == golden_classes).mean())
        report.update(network_digest=build.network.digest(), rtl=str(rtl_dir),
                      simulated=simulated, dataset=image_set.dataset, split=image_set.split,
                      first_image=image_set.first)
        return report

    files = ", ".join(f"{name} (sha256 {digest[:12]})"
                      for name, digest in manifest["files"].items() if name.endswith(".v"))
    simulated = (f"the design rebuilt in Amaranth from this IR and {rtl_dir}'s hardware "
                 f"configuration; the RTL files ({files}) checked against their manifest "
                 f"but not read" if bench == "amaranth" else
                 f"{rtl_dir}: {files}, checked against their manifest")

    report = verify_design(rtl_dir, build.plan, image_set.pixels[:count],
                           golden=image_set.golden.select(0, count), simulator=simulator,
                           bench=bench, seed=seed, input_gaps=input_gaps,
                           backpressure=backpressure, batch_size=batch_size,
                           build_root=build_root, progress=progress, jobs=jobs,
                           scheduler=scheduler, batch_dir=batch_dir, resume=resume,
                           build_s=build_s, partial=None if partial is None else
                           lambda so_far: partial(finish(so_far)))
    build.results["verify"] = finish(report)
    return build


def synthesize_rtl(rtl_dir, target: str, work_dir=None, *, place=True, clock_mhz=None,
                   lutram_max_bits=0, seed=None, router=None) -> dict:
    """Synthesize (and place and route) the design in ``rtl_dir`` for ``target`` in
    ``work_dir`` (default: ``rtl_dir/synth/target``), at its manifest's clock, memory
    style, placement seed and router unless told otherwise."""
    from spikewright.sim.verify import read_manifest
    from spikewright.synth import synthesize as synthesize_design
    rtl_dir = Path(rtl_dir)
    manifest = read_manifest(rtl_dir)
    config = HwConfig.from_json(manifest["hw_config"])
    log(f"synthesis of {rtl_dir} for {target} (YoWASP tools; the first call compiles them)")
    result = synthesize_design(rtl_dir, target, Path(work_dir or rtl_dir / "synth" / target),
                               place=place,
                               clock_mhz=clock_mhz or manifest["hw_config"]["clock_mhz"],
                               memory_style=manifest["hw_config"]["memory_style"],
                               lutram_max_bits=lutram_max_bits,
                               seed=seed or config.place_seed,
                               router=router or config.place_router)
    estimated = manifest.get("estimate")
    if estimated and estimated["target"] == target and (result or {}).get("resources") \
            and not lutram_max_bits:
        from spikewright.synth import against_synthesis, comparison_text
        result["estimate"] = against_synthesis(estimated["total"], result["resources"])
        log(f"{target}: estimate before synthesis against Yosys: "
            f"{comparison_text(result['estimate'])}")
    return result


def synthesize(build: Build, targets, *, place=True, clock_mhz=None,
               lutram_max_bits=0) -> Build:
    """Synthesize (and place and route) the generated design for each target:
    ``results["synth_<target>"]``."""
    from spikewright.hdl_gen.parts import TARGETS
    if isinstance(targets, str) or any(target not in TARGETS for target in targets):
        raise ValueError(f"targets must be a list of parts from {', '.join(TARGETS)}, not "
                         f"{targets!r}")
    if build.rtl_dir is None:
        raise ValueError("synthesize needs a design: call generate(build, out) first")
    for target in targets:
        build.results[f"synth_{target}"] = synthesize_rtl(
            build.rtl_dir, target, place=place, clock_mhz=clock_mhz,
            lutram_max_bits=lutram_max_bits)
    return build


def report(build: Build, out) -> Build:
    """Write every result of the build as ``<name>.json`` into the run directory ``out``,
    then ``report.json`` and ``report.html`` from them."""
    from spikewright.report import write_report
    out = Path(out)
    for name, document in build.results.items():
        write_json(out / f"{name}.json", document)
    build.results["report"] = json.loads(write_report(out)[0].read_text())
    return build

