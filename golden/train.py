"""Training with the conversion-aware activation (Yan, Zhou & Wong, arXiv 2211.08410).

After every conv/linear (+BatchNorm) and every average pooling::

    a = floor(k * clip(z, 0, theta)) / k,   theta = T / k

so ``a`` takes the ``T + 1`` values ``{0, 1/k, ..., T/k}``. Backward: straight through,
the incoming gradient clipped to ``[-1, 1]`` and zero where ``z`` is outside ``[0, theta]``.
Inputs are uint8 pixels, encoded exactly like the IR's input encoder (VR, optionally ICE)
into spike counts ``n`` and fed as ``n / k``.

An architecture is a JSON list of layer specs; hidden conv/linear layers get BatchNorm and
the activation, the last linear is the non-spiking readout::

    ["conv", out, kernel, stride, padding] | ["avgpool", kernel] | ["flatten"] | ["linear", out]
"""

from __future__ import annotations

import json
import math
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .encoding import make_input_spec
from .errors import CheckpointError, UnsupportedLayerError
from .integerize import integer_layer
from .output_file import write_output

__all__ = ["QuantAct", "InputEncoder", "ConvertibleNet", "SEED_MNIST_CNN", "mlp_arch",
           "parse_arch",
           "train_model", "distillation_loss", "evaluate", "recalibrate_batchnorm",
           "save_checkpoint", "load_checkpoint"]

#: The seed paper's MNIST CNN (its public code), used at T=1, k=4.
SEED_MNIST_CNN = [["conv", 32, 3, 1, 0], ["conv", 32, 3, 1, 0], ["conv", 32, 4, 2, 1],
                  ["conv", 64, 3, 1, 0], ["conv", 64, 3, 1, 0], ["conv", 64, 4, 2, 1],
                  ["conv", 128, 3, 1, 0], ["flatten"], ["linear", 10]]

LAYER_SPECS = ("conv", "avgpool", "flatten", "linear")


def mlp_arch(hidden: list[int], classes: int = 10) -> list:
    """``flatten, linear(h1), ..., linear(classes)``."""
    return [["flatten"]] + [["linear", h] for h in hidden] + [["linear", classes]]


def parse_arch(text: str, classes: int) -> list:
    """``seed-cnn``, ``mlp:H1[,H2...]`` or a JSON layer list (see golden.train)."""
    if text == "seed-cnn":
        return [list(a) for a in SEED_MNIST_CNN[:-1]] + [["linear", classes]]
    if text.startswith("mlp:"):
        try:
            hidden = [int(h) for h in text[4:].split(",") if h]
        except ValueError:
            hidden = None
        if not hidden or min(hidden) < 1:
            raise ValueError(f"--arch mlp:H1[,H2...] needs positive widths, not {text!r}")
        return mlp_arch(hidden, classes)
    try:
        arch = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"--arch must be 'seed-cnn', 'mlp:H1[,H2...]' or a JSON list "
                         f"of layer specs, not {text!r}") from None
    check_arch(arch)
    return arch


class _StraightThroughQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, k, theta):
        ctx.save_for_backward(z)
        ctx.theta = theta
        return torch.floor(k * torch.clamp(z, 0.0, theta)) / k

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        inside = (z >= 0) & (z <= ctx.theta)
        return grad.clamp(-1.0, 1.0) * inside, None, None


class QuantAct(nn.Module):
    """``a = floor(k clip(z, 0, T/k)) / k``; with ``quantize=False``, ``clip(z, 0, T/k)``."""

    def __init__(self, timesteps: int, k: int):
        super().__init__()
        self.timesteps, self.k = timesteps, k
        self.theta = timesteps / k
        self.quantize = True

    def forward(self, z):
        if self.quantize:
            return _StraightThroughQuant.apply(z, float(self.k), self.theta)
        return torch.clamp(z, 0.0, self.theta)


class InputEncoder(nn.Module):
    """uint8 pixels ``[N, C, H, W]`` to ``counts / k`` per encoded channel (the IR's
    thresholds); with ``quantize=False``, the raw ``p / 255`` of each source channel."""

    def __init__(self, input_shape, timesteps: int, k: int, ice: bool):
        super().__init__()
        spec = make_input_spec(tuple(input_shape), k, timesteps, ice)
        self.spec, self.k = spec, k
        self.register_buffer("thresholds", torch.tensor(spec.threshold_array(),
                                                        dtype=torch.int16))
        self.register_buffer("sources", torch.tensor(spec.source_array(), dtype=torch.long))
        self.quantize = True

    def forward(self, pixels):
        p = pixels[:, self.sources].to(torch.int16)
        if not self.quantize:
            return p.float() / 255.0
        counts = (p[:, :, None] >= self.thresholds[None, :, :, None, None]).sum(2)
        return counts.float() / self.k


#: layer kind -> (argument names, their minimum values)
_SPEC_ARGUMENTS = {"conv": (("out", "kernel", "stride", "padding"), (1, 1, 1, 0)),
                   "avgpool": (("kernel",), (1,)), "flatten": ((), ()),
                   "linear": (("out",), (1,))}


def check_arch(arch) -> None:
    """Refuse an architecture that is not a list of layer specs of the supported forms."""
    forms = "; ".join(f"[{', '.join(repr(k) if i == 0 else n for i, n in enumerate((k, *a)))}]"
                      for k, (a, _) in _SPEC_ARGUMENTS.items())
    if not isinstance(arch, (list, tuple)) or not arch:
        raise ValueError(f"an architecture must be a non-empty list of layer specs ({forms}), "
                         f"not {arch!r}")
    for i, spec in enumerate(arch):
        if not isinstance(spec, (list, tuple)) or not spec or spec[0] not in _SPEC_ARGUMENTS:
            raise UnsupportedLayerError(f"layer spec {i} {spec!r} is not supported; "
                                        f"supported: {forms}")
        names, minimums = _SPEC_ARGUMENTS[spec[0]]
        values = list(spec[1:])
        if len(values) != len(names) or any(
                isinstance(v, bool) or not isinstance(v, int) or v < low
                for v, low in zip(values, minimums)):
            raise ValueError(f"layer spec {i} {list(spec)!r} must be "
                             f"[{spec[0]!r}{''.join(', ' + n for n in names)}] with integers "
                             f"of at least {', '.join(map(str, minimums)) or '-'}")


class ConvertibleNet(nn.Module):
    """The ANN that converts 1:1 to the IR: encoder, hidden blocks, readout.

    With :meth:`quantize_weights` it computes every conv/linear with the integer weights,
    biases and thresholds that conversion will write (BatchNorm folded with its running
    statistics, straight-through rounding; see :mod:`.integerize`), so training sees the
    integer network's rounding.
    """

    def __init__(self, arch, input_shape, timesteps: int, k: int, ice: bool = False,
                 seed: int | None = None):
        super().__init__()
        with torch.random.fork_rng():
            if seed is not None:
                torch.manual_seed(seed)
            self._build(arch, input_shape, timesteps, k, ice)

    def _build(self, arch, input_shape, timesteps, k, ice):
        check_arch(arch)
        for name, value in (("timesteps", timesteps), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self.arch, self.input_shape = [list(a) for a in arch], tuple(input_shape)
        self.timesteps, self.k, self.ice = timesteps, k, ice
        self.encoder = InputEncoder(input_shape, timesteps, k, ice)
        channels = len(self.encoder.spec.channels)
        shape = (channels, *input_shape[1:])
        layers = []
        linear_positions = [i for i, a in enumerate(arch) if a[0] == "linear"]
        if linear_positions[-1:] != [len(arch) - 1]:
            raise ValueError(f"an architecture must end with a linear readout, not {arch[-1]!r}")
        for i, spec in enumerate(arch):
            kind = spec[0]
            if kind in ("conv", "avgpool") and len(shape) != 3:
                raise ValueError(f"{kind} layer {i} needs an image input; it comes after a "
                                 f"flatten")
            if kind == "conv":
                _, out, kernel, stride, padding = spec
                layers += [nn.Conv2d(shape[0], out, kernel, stride, padding),
                           nn.BatchNorm2d(out), QuantAct(timesteps, k)]
                size = lambda s: (s + 2 * padding - kernel) // stride + 1
                if min(size(shape[1]), size(shape[2])) < 1:
                    raise ValueError(f"conv layer {i} ({kernel}x{kernel}, padding {padding}) "
                                     f"does not fit its {shape[1]}x{shape[2]} input")
                shape = (out, size(shape[1]), size(shape[2]))
            elif kind == "avgpool":
                kernel = spec[1]
                layers += [nn.AvgPool2d(kernel), QuantAct(timesteps, k)]
                shape = (shape[0], shape[1] // kernel, shape[2] // kernel)
                if min(shape[1:]) < 1:
                    raise ValueError(f"avgpool layer {i} (kernel {kernel}) does not fit its "
                                     f"input")
            elif kind == "flatten":
                layers.append(nn.Flatten())
                shape = (int(np.prod(shape)),)
            elif kind == "linear":
                out = spec[1]
                if len(shape) != 1:
                    raise ValueError(f"linear layer {i} needs a flatten before it")
                if i == len(arch) - 1:
                    layers.append(nn.Linear(shape[0], out))
                else:
                    layers += [nn.Linear(shape[0], out), nn.BatchNorm1d(out),
                               QuantAct(timesteps, k)]
                shape = (out,)
            else:
                raise UnsupportedLayerError(f"layer spec {spec!r} is not supported; "
                                            f"supported: {', '.join(LAYER_SPECS)}")
        self.body = nn.Sequential(*layers)
        self.weight_quantization = None

    def quantize_weights(self, weight_width: int | None, exact_thresholds: bool = False):
        """Compute with integerized weights of ``weight_width`` bits (None: float weights).
        BatchNorm statistics are frozen while this is on."""
        if weight_width is not None and (not isinstance(weight_width, int) or weight_width < 2):
            raise ValueError(f"weight_width must be an integer of at least 2 bits, "
                             f"not {weight_width!r}")
        self.weight_quantization = (None if weight_width is None else
                                    {"weight_width": weight_width,
                                     "exact_thresholds": bool(exact_thresholds)})

    def train(self, mode: bool = True):
        super().train(mode)
        if self.weight_quantization is not None:
            for module in self.body:
                if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    module.eval()
        return self

    def _integer_layer(self, module, bn, x, readout: bool):
        """``(W_int k a + T b_int) / (k D)``, ``D = theta_int`` (hidden) or ``theta s``."""
        quant = self.weight_quantization
        theta, k = self.timesteps / self.k, float(self.k)
        w_int, b_int, theta_int, scale = integer_layer(
            module, bn, theta, quant["weight_width"], per_row=not readout,
            exact_thresholds=quant["exact_thresholds"] and not readout)
        w_int, b_int = w_int.float(), b_int.float()
        divisor = torch.from_numpy(theta * scale if readout else theta_int.astype(np.float64))
        divisor = divisor.float()
        if isinstance(module, nn.Conv2d):
            total = nn.functional.conv2d(x * k, w_int, None, module.stride, module.padding,
                                         module.dilation, module.groups)
            return (total + self.timesteps * b_int[:, None, None]) / (k * divisor[:, None, None])
        total = nn.functional.linear(x * k, w_int)
        return (total + self.timesteps * b_int) / (k * divisor)

    def _forward_integer_weights(self, x):
        modules = list(self.body)
        i = 0
        while i < len(modules):
            module = modules[i]
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                bn = modules[i + 1] if i + 1 < len(modules) and isinstance(
                    modules[i + 1], (nn.BatchNorm1d, nn.BatchNorm2d)) else None
                i += 1 + (bn is not None)
                x = self._integer_layer(module, bn, x, readout=i >= len(modules))
            else:
                x = module(x)
                i += 1
        return x

    def set_quantized(self, quantize: bool):
        """Switch between the quantized ANN and its float relaxation (no floor, raw input)."""
        self.encoder.quantize = quantize
        for module in self.body:
            if isinstance(module, QuantAct):
                module.quantize = quantize

    def forward(self, pixels):
        x = self.encoder(pixels)
        if self.weight_quantization is not None and self.encoder.quantize:
            return self._forward_integer_weights(x)
        return self.body(x)


def _shift_batch(pixels: torch.Tensor, max_shift: int, generator) -> torch.Tensor:
    """Shift each image by a random ``(dy, dx)`` in ``[-max_shift, max_shift]``, zero fill."""
    if max_shift == 0:
        return pixels
    n, c, h, w = pixels.shape
    padded = torch.nn.functional.pad(pixels, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None])[:, :, None]
    cols = (dx[:, None] + torch.arange(w)[None])[:, None, :]
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def _rotate_batch(pixels: torch.Tensor, max_degrees: float, generator) -> torch.Tensor:
    """Rotate each image about its centre by a random angle in ``[-max_degrees, max_degrees]``
    (bilinear, zero fill), rounded back to uint8 pixels."""
    if max_degrees == 0:
        return pixels
    angle = (torch.rand(pixels.shape[0], generator=generator, dtype=torch.float64) * 2 - 1) \
        * math.radians(max_degrees)
    return rotate(pixels, angle)


def rotate(pixels: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """uint8 images ``[N, C, H, W]`` rotated about their centres by ``angle[n]`` radians
    (bilinear, zero fill, rounded back to uint8)."""
    n = pixels.shape[0]
    angle = angle.to(torch.float64)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros(n, dtype=torch.float64)
    affine = torch.stack([torch.stack([cos, -sin, zero], 1),
                          torch.stack([sin, cos, zero], 1)], 1).float()
    grid = nn.functional.affine_grid(affine, list(pixels.shape), align_corners=False)
    rotated = nn.functional.grid_sample(pixels.float(), grid, mode="bilinear",
                                        padding_mode="zeros", align_corners=False)
    return torch.round(rotated).clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def recalibrate_batchnorm(model: ConvertibleNet, pixels: np.ndarray,
                          batch_size: int = 1000) -> None:
    """Replace every BatchNorm's running statistics by the exact mean and (biased) variance
    of its input over ``pixels``, computed in evaluation mode, first layer first.

    Training leaves an exponential average of batch statistics, taken while the earlier
    layers still changed and normalized by batch statistics; conversion folds the running
    statistics into integer weights and thresholds. Recomputed in order, each layer's
    statistics are those of the inputs the converted network will give it. Weights and the
    BatchNorm affine parameters are not touched.
    """
    if model.weight_quantization is not None:
        raise ValueError("recalibrate_batchnorm needs the float-weight network; it was "
                         "trained with integer weights, whose scales come from these "
                         "statistics")
    model.eval()
    model.set_quantized(True)
    modules = list(model.body)
    for position, bn in enumerate(modules):
        if not isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)):
            continue
        prefix = nn.Sequential(*modules[:position])
        total = total_sq = None
        count = 0
        for start in range(0, len(pixels), batch_size):
            x = model.encoder(torch.from_numpy(pixels[start:start + batch_size]))
            z = prefix(x).double()
            dims = [0] + list(range(2, z.dim()))
            batch_sum, batch_sq = z.sum(dims), (z * z).sum(dims)
            total = batch_sum if total is None else total + batch_sum
            total_sq = batch_sq if total_sq is None else total_sq + batch_sq
            count += z.numel() // z.shape[1]
        mean = total / count
        bn.running_mean.copy_(mean.to(bn.running_mean.dtype))
        bn.running_var.copy_((total_sq / count - mean * mean).clamp_min(0)
                             .to(bn.running_var.dtype))


@torch.no_grad()
def evaluate(model: ConvertibleNet, pixels: np.ndarray, labels: np.ndarray,
             quantized: bool = True, batch_size: int = 1000) -> float:
    """Top-1 accuracy (fraction) of the ANN, quantized or float."""
    model.eval()
    model.set_quantized(quantized)
    correct = 0
    for start in range(0, len(pixels), batch_size):
        x = torch.from_numpy(pixels[start:start + batch_size])
        correct += int((model(x).argmax(1).numpy() == labels[start:start + batch_size]).sum())
    model.set_quantized(True)
    return correct / max(len(pixels), 1)


def distillation_loss(logits: torch.Tensor, labels: torch.Tensor,
                      teacher_logits: torch.Tensor, weight: float,
                      temperature: float) -> torch.Tensor:
    """Knowledge distillation (Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural
    Network", 2015)::

        loss = (1 - weight) CE(logits, labels)
               + weight tau^2 KL(softmax(teacher / tau) || softmax(logits / tau))

    ``tau^2`` keeps the soft term's gradients on the scale of the hard one's."""
    hard = nn.functional.cross_entropy(logits, labels)
    soft = nn.functional.kl_div(nn.functional.log_softmax(logits / temperature, dim=1),
                                nn.functional.log_softmax(teacher_logits / temperature, dim=1),
                                reduction="batchmean", log_target=True)
    return (1 - weight) * hard + weight * temperature ** 2 * soft


def train_model(model: ConvertibleNet, pixels: np.ndarray, labels: np.ndarray, *, epochs: int,
                lr: float = 1e-3, batch_size: int = 128, max_shift: int = 1,
                max_rotation: float = 0.0, seed: int = 0, weight_decay: float = 0.0,
                optimizer: str = "adam", teacher: ConvertibleNet | None = None,
                distill_weight: float = 0.5, distill_temperature: float = 4.0,
                progress=None, on_epoch=None) -> list[dict]:
    """Train with Adam (or SGD with momentum 0.9, gentler for fine-tuning), cosine decay to 0,
    cross-entropy, random rotations (``max_rotation`` degrees) and random shifts. With a
    ``teacher`` (any trained network of the same inputs and classes, run as its quantized
    ANN on the same augmented batch) the loss is :func:`distillation_loss`.

    ``progress(step, total, loss)`` is called per batch; ``on_epoch(epoch, record)`` after
    each epoch (a true result stops the training there). Returns the per-epoch history.
    Deterministic for a given seed.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_all, y_all = torch.from_numpy(pixels), torch.from_numpy(labels)
    if optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                                    weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', not {optimizer!r}")
    steps_per_epoch = math.ceil(len(pixels) / batch_size)
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1))))
    if teacher is not None:
        if not 0.0 <= distill_weight <= 1.0 or distill_temperature <= 0:
            raise ValueError(f"distillation needs a weight in [0, 1] and a temperature above 0, "
                             f"not {distill_weight!r} and {distill_temperature!r}")
        teacher.eval()
        teacher.set_quantized(True)
    loss_fn = nn.CrossEntropyLoss()
    history, step = [], 0
    for epoch in range(epochs):
        model.train()
        model.set_quantized(True)
        order = torch.randperm(len(pixels), generator=generator)
        start_time, loss_sum, correct = time.time(), 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            x = _shift_batch(_rotate_batch(x_all[idx], max_rotation, generator), max_shift,
                             generator)
            out = model(x)
            if teacher is None:
                loss = loss_fn(out, y_all[idx])
            else:
                with torch.no_grad():
                    taught = teacher(x)
                loss = distillation_loss(out, y_all[idx], taught, distill_weight,
                                         distill_temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y_all[idx]).sum())
            if progress is not None:
                progress(step, total, float(loss.detach()))
        record = {"epoch": epoch + 1, "loss": loss_sum / len(pixels),
                  "train_accuracy": correct / len(pixels), "seconds": time.time() - start_time}
        history.append(record)
        if on_epoch is not None and on_epoch(epoch + 1, record):
            break
    model.eval()
    return history


def save_checkpoint(model: ConvertibleNet, path, **info) -> None:
    """Save the weights with everything needed to rebuild the model (``info`` is JSON-able).
    Written whole or not at all (:func:`.output_file.write_output`); a model
    with NaN or infinite values is refused, not written."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"the model's tensor {name!r} holds NaN or infinite values (the "
                             f"training diverged; a lower --lr may help); {path} was not "
                             f"written")
    document = {"format": "spikewright-checkpoint", "arch": model.arch,
                "input_shape": list(model.input_shape), "timesteps": model.timesteps,
                "k": model.k, "ice": model.ice, "state_dict": model.state_dict(),
                "weight_quantization": model.weight_quantization, "info": info}
    write_output(path, lambda target: torch.save(document, target))


_CHECKPOINT_FIELDS = {"arch": list, "input_shape": list, "timesteps": int, "k": int,
                      "ice": bool, "state_dict": dict, "info": dict}


def load_checkpoint(path) -> tuple[ConvertibleNet, dict]:
    """Rebuild a model saved by :func:`save_checkpoint`; return ``(model, info)``.

    Only tensors and plain data are read (``torch.load(..., weights_only=True)``): a file
    that holds pickled code, such as a whole module saved with ``torch.save(model)``, is
    refused, as is a foreign, corrupt or incomplete file (:class:`~.errors.CheckpointError`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty; a checkpoint is a PyTorch file written by "
                              f"spikewright's training")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise CheckpointError(
                f"{path} holds pickled Python objects (for example a whole module saved with "
                f"torch.save(model)), which spikewright never unpickles; it reads checkpoints "
                f"of tensors written by its own training") from None
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (its contents "
                              f"cannot be read as tensors and plain data)") from None
    except Exception as error:  # noqa: BLE001  torch's decoders raise anything on foreign bytes
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: "
                              f"{_first_line(error)}") from None
    if not isinstance(data, dict) or data.get("format") != "spikewright-checkpoint":
        raise CheckpointError(f"{path} is a PyTorch file but not a spikewright checkpoint (it "
                              f"lacks \"format\": \"spikewright-checkpoint\"); spikewright reads "
                              f"checkpoints written by its own training")
    for key, kind in _CHECKPOINT_FIELDS.items():
        if not isinstance(data.get(key), kind) or (kind is int and isinstance(data[key], bool)):
            raise CheckpointError(f"{path}: field {key!r} must be a {kind.__name__}, not "
                                  f"{type(data.get(key)).__name__}")
    for name, tensor in data["state_dict"].items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {name!r} is not a tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {name!r} holds NaN or infinite values")
    try:
        model = ConvertibleNet(data["arch"], data["input_shape"], data["timesteps"], data["k"],
                               data["ice"])
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise CheckpointError(f"{path}: its architecture cannot be built: "
                              f"{_first_line(error)}") from None
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise CheckpointError(f"{path}: its tensors do not match its architecture: "
                              f"{detail[:400]}") from None
    quant = data.get("weight_quantization")
    if quant:
        model.quantize_weights(quant["weight_width"], quant["exact_thresholds"])
    model.eval()
    return model, data["info"]


def _first_line(error) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
