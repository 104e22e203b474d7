"""Plain PyTorch ReLU networks in: a trained ``nn.Module`` to a :class:`~.train.ConvertibleNet`.

A network is read into a chain of :class:`Op` (from an ``nn.Module`` as a sequence or
traced with ``torch.fx``, from a ``torch.export`` program, or from TorchScript), checked
against what the IR can express, and mapped onto a ConvertibleNet with the
conversion-aware activation in place of every ReLU. The module is never called: the ops
are evaluated here, in float64, on the calibration images.

Scales. ReLU is positively homogeneous, so each hidden activation may be carried in its
own units: a channel whose activation ``y = relu(u)`` the module computes is represented
by ``c * y`` with ``c = theta / lambda``, where ``lambda`` is chosen per channel on the
calibration images to minimise ``E[(Q(u) - y)^2]`` for the quantized activation in the
module's units ``Q(u) = (lambda / T) floor(T clip(u / lambda, 0, 1))``. The next layer's
weights are divided by ``c`` along their input axis. The encoder's output ``enc(p)``
stands for the module's input ``x = p / 255`` (after the module's own normalization,
which is folded into the first layer) with the least-squares scale
``c_0 = sum(enc x) / sum(x^2)`` per channel. Each hidden block's BatchNorm (the module's,
or an identity where it has none) is set so that in evaluation mode it computes exactly
``c * BN_module(z)``; its running statistics are those of ``z`` on the calibration images,
so that fine-tuning in training mode sees about the same normalization.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import UnsupportedLayerError
from .train import ConvertibleNet, QuantAct

__all__ = ["Op", "normalized_inputs", "ops_from_module", "ops_from_exported", "ops_from_torchscript",
           "load_torch_file", "from_torch", "run_ops", "SUPPORTED_TORCH_LAYERS"]

SUPPORTED_TORCH_LAYERS = ("Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d", "ReLU", "ReLU6",
                          "Hardtanh(0, max)", "AvgPool2d", "Flatten", "Dropout", "Identity")


@dataclass
class Op:
    """One step of the network: ``kind`` is conv, linear, bn, act, avgpool or flatten;
    ``name`` is the layer's name in the user's module (for messages)."""
    kind: str
    name: str
    params: dict = field(default_factory=dict)


def _unsupported(name: str, what: str, hint: str = "") -> UnsupportedLayerError:
    return UnsupportedLayerError(
        f"layer {name!r} ({what}) is not supported; supported layers: "
        f"{', '.join(SUPPORTED_TORCH_LAYERS)}{'; ' + hint if hint else ''}")


def _tensor(value) -> torch.Tensor:
    return value.detach().to(torch.float64).clone()


def _op_of_module(name: str, module: nn.Module) -> Op | None:
    """The op of one leaf module (None for Dropout and Identity), or an error naming it."""
    kind = type(module).__name__
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise _unsupported(name, f"Conv2d with padding {module.padding!r}, mode "
                               f"{module.padding_mode!r}", "use integer zero padding")
        return Op("conv", name, {"weight": _tensor(module.weight),
                                 "bias": None if module.bias is None else _tensor(module.bias),
                                 "stride": tuple(module.stride),
                                 "padding": tuple(module.padding),
                                 "dilation": tuple(module.dilation), "groups": module.groups})
    if isinstance(module, nn.Linear):
        return Op("linear", name, {"weight": _tensor(module.weight),
                                   "bias": None if module.bias is None else _tensor(module.bias)})
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.running_mean is None:
            raise _unsupported(name, f"{kind} without running statistics",
                               "use track_running_stats=True")
        return _bn_op(name, module.running_mean, module.running_var, module.weight,
                      module.bias, module.eps, kind)
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.Hardtanh)):
        low, high = (0.0, None) if isinstance(module, nn.ReLU) else (
            float(module.min_val), float(module.max_val))
        return _act_op(name, kind, low, high)
    if isinstance(module, nn.AvgPool2d):
        return _pool_op(name, module.kernel_size, module.stride, module.padding,
                        module.ceil_mode, module.divisor_override)
    if isinstance(module, nn.Flatten):
        return _flatten_op(name, module.start_dim, module.end_dim)
    if isinstance(module, (nn.Dropout, nn.Identity)):
        return None
    hint = "replace max pooling by AvgPool2d" if "MaxPool" in kind else ""
    raise _unsupported(name, kind, hint)


def _bn_op(name, mean, var, weight, bias, eps, kind) -> Op:
    channels = len(mean)
    return Op("bn", name, {"mean": _tensor(mean), "var": _tensor(var),
                           "weight": (torch.ones(channels, dtype=torch.float64)
                                      if weight is None else _tensor(weight)),
                           "bias": (torch.zeros(channels, dtype=torch.float64)
                                    if bias is None else _tensor(bias)),
                           "eps": float(eps), "module": kind})


def _act_op(name, kind, low, high) -> Op:
    if low != 0.0 or (high is not None and high <= 0):
        raise _unsupported(name, f"{kind}({low:g}, {high:g})",
                           "a clipping activation must clip at 0 below and at a positive "
                           "value above, as Hardtanh(0, max) does")
    return Op("act", name, {"max": high, "module": kind})


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value), int(value))


def _pool_op(name, kernel, stride, padding, ceil_mode=False, divisor=None) -> Op:
    kernel = _pair(kernel)
    stride = kernel if stride in (None, [], ()) else _pair(stride)
    padding = _pair(padding)
    if kernel[0] != kernel[1] or stride != kernel or padding != (0, 0) or ceil_mode \
            or divisor is not None:
        raise _unsupported(name, f"AvgPool2d(kernel {kernel}, stride {stride}, padding "
                           f"{padding})", "average pooling becomes sum pooling only with a "
                           "square kernel, stride equal to the kernel and no padding")
    return Op("avgpool", name, {"kernel": kernel[0]})


def _flatten_op(name, start, end) -> Op:
    if start != 1 or end != -1:
        raise _unsupported(name, f"Flatten(start_dim={start}, end_dim={end})",
                           "flatten every dimension but the batch (start_dim 1, end_dim -1)")
    return Op("flatten", name)


def _leaf_modules(module: nn.Module, prefix: str = ""):
    """``(name, module)`` in execution order: nested Sequentials unrolled, anything else
    traced with torch.fx."""
    if isinstance(module, nn.Sequential):
        for child_name, child in module.named_children():
            yield from _leaf_modules(child, f"{prefix}{child_name}.")
        return
    if not list(module.children()):
        yield prefix.rstrip(".") or type(module).__name__, module
        return
    yield from _traced_modules(module, prefix)


_FUNCTIONAL_RELU = {torch.relu, nn.functional.relu}
_FUNCTIONAL_FLATTEN = {torch.flatten}


def _traced_modules(module: nn.Module, prefix: str):
    """Leaf modules of a module traced with torch.fx, refusing anything but one chain."""
    try:
        graph = torch.fx.symbolic_trace(module).graph
    except Exception as error:  # noqa: BLE001  fx raises many kinds on untraceable code
        raise UnsupportedLayerError(
            f"module {prefix.rstrip('.') or type(module).__name__} ({type(module).__name__}) "
            f"cannot be traced with torch.fx ({type(error).__name__}: {error}); give an "
            f"nn.Sequential of supported layers") from None
    previous = None
    for node in graph.nodes:
        if node.op == "placeholder":
            previous = node
            continue
        if node.op == "output":
            break
        inputs = [a for a in node.args if isinstance(a, torch.fx.Node)]
        if inputs != [previous]:
            raise UnsupportedLayerError(
                f"{node.name} in {type(module).__name__}.forward does not take its input "
                f"from the step before it: only a chain of layers (no branches, skips or "
                f"reused values) can be converted")
        name = f"{prefix}{node.target}" if node.op == "call_module" else f"{prefix}{node.name}"
        if node.op == "call_module":
            yield from _leaf_modules(module.get_submodule(node.target), f"{name}.")
        elif node.target in _FUNCTIONAL_RELU or (node.op == "call_method"
                                                 and node.target == "relu"):
            yield name, nn.ReLU()
        elif node.target is nn.functional.relu6:
            yield name, nn.ReLU6()
        elif node.target is nn.functional.hardtanh:
            low = node.args[1] if len(node.args) > 1 else node.kwargs.get("min_val", -1.0)
            high = node.args[2] if len(node.args) > 2 else node.kwargs.get("max_val", 1.0)
            yield name, nn.Hardtanh(low, high)
        elif node.target in _FUNCTIONAL_FLATTEN or (node.op == "call_method"
                                                    and node.target == "flatten"):
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
            yield name, nn.Flatten(start, end)
        else:
            raise _unsupported(name, f"{node.op} {getattr(node.target, '__name__', node.target)}",
                               "write the forward with these layers (or torch.relu, "
                               "torch.flatten) only")
        previous = node


def ops_from_module(module: nn.Module) -> list[Op]:
    """The ops of an ``nn.Module`` (a sequence of layers, or a module whose forward is one
    chain of them)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, not {type(module).__name__}")
    return [op for name, leaf in _leaf_modules(module)
            if (op := _op_of_module(name, leaf)) is not None]


_ATEN_DEFAULTS = {"conv2d": [None, None, None, [1, 1], [0, 0], [1, 1], 1],
                  "linear": [None, None, None],
                  "avg_pool2d": [None, None, [], [0, 0], False, True, None],
                  "hardtanh": [None, -1.0, 1.0],
                  "flatten": [None, 0, -1]}


def _aten_args(node, kind):
    args = list(node.args)
    defaults = _ATEN_DEFAULTS.get(kind, [])
    return args + defaults[len(args):]


def ops_from_exported(program) -> list[Op]:
    """The ops of a ``torch.export`` program (its ATen graph)."""
    graph_module = program.module()
    parameters = dict(graph_module.named_parameters())
    values = {}
    ops, previous = [], None
    for node in graph_module.graph.nodes:
        if node.op == "get_attr":
            values[node.name] = _tensor(parameters[node.target] if node.target in parameters
                                        else graph_module.get_buffer(node.target))
            continue
        if node.op == "placeholder":
            previous = node
            continue
        if node.op == "call_module":  # the export's input guards
            continue
        if node.op == "output":
            break
        kind = getattr(node.target, "__name__", str(node.target)).split(".")[0]
        args = _aten_args(node, kind)
        if args[0] is not previous:
            raise UnsupportedLayerError(f"{node.name} does not take its input from the step "
                                        f"before it: only a chain of layers can be converted")
        tensor = lambda a: None if a is None else values[a.name]
        if kind == "conv2d":
            op = Op("conv", node.name, {"weight": tensor(args[1]), "bias": tensor(args[2]),
                                        "stride": _pair(args[3]), "padding": _pair(args[4]),
                                        "dilation": _pair(args[5]), "groups": args[6]})
        elif kind == "linear":
            op = Op("linear", node.name, {"weight": tensor(args[1]), "bias": tensor(args[2])})
        elif kind in ("batch_norm", "_native_batch_norm_legit_no_training"):
            weight, bias, mean, var = (tensor(a) for a in args[1:5])
            eps = args[7] if kind == "batch_norm" else args[6]
            op = _bn_op(node.name, mean, var, weight, bias, eps, "BatchNorm")
        elif kind == "relu":
            op = _act_op(node.name, "ReLU", 0.0, None)
        elif kind == "relu6":
            op = _act_op(node.name, "ReLU6", 0.0, 6.0)
        elif kind == "hardtanh":
            op = _act_op(node.name, "Hardtanh", float(args[1]), float(args[2]))
        elif kind == "avg_pool2d":
            op = _pool_op(node.name, args[1], args[2], args[3], args[4], args[6])
        elif kind == "flatten":
            op = _flatten_op(node.name, args[1], args[2])
        elif kind in ("dropout", "clone", "alias"):
            op = None
        else:
            raise _unsupported(node.name, f"ATen {kind}", "replace max pooling by AvgPool2d"
                               if "max_pool" in kind else "")
        if op is not None:
            ops.append(op)
        previous = node
    return ops


def ops_from_torchscript(script) -> list[Op]:
    """The ops of a TorchScript ``nn.Sequential``: its forward is its children in order.
    Any other module is refused: its forward (a skip connection, an activation called as a
    function) is code that this reader does not follow."""
    kind = getattr(script, "original_name", type(script).__name__)
    if kind != "Sequential":
        raise UnsupportedLayerError(
            f"the TorchScript module is a {kind}, whose forward spikewright does not read (only "
            f"an nn.Sequential's forward is its children in order); save it with torch.export "
            f"(.pt2), which records the graph that runs, or as an nn.Sequential")
    ops = []
    for name, child in script.named_children():
        kind = child.original_name
        params = dict(child.named_parameters())
        buffers = dict(child.named_buffers())
        if kind == "Conv2d":
            op = Op("conv", name, {"weight": _tensor(params["weight"]),
                                   "bias": _tensor(params["bias"]) if "bias" in params else None,
                                   "stride": _pair(child.stride), "padding": _pair(child.padding),
                                   "dilation": _pair(child.dilation), "groups": child.groups})
        elif kind == "Linear":
            op = Op("linear", name, {"weight": _tensor(params["weight"]),
                                     "bias": _tensor(params["bias"]) if "bias" in params else None})
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            op = _bn_op(name, buffers["running_mean"], buffers["running_var"],
                        params.get("weight"), params.get("bias"), child.eps, kind)
        elif kind == "ReLU":
            op = _act_op(name, kind, 0.0, None)
        elif kind in ("ReLU6", "Hardtanh"):
            op = _act_op(name, kind, float(child.min_val), float(child.max_val))
        elif kind == "AvgPool2d":
            op = _pool_op(name, child.kernel_size, child.stride, child.padding,
                          child.ceil_mode, child.divisor_override)
        elif kind == "Flatten":
            op = _flatten_op(name, child.start_dim, child.end_dim)
        elif kind in ("Dropout", "Identity"):
            op = None
        else:
            raise _unsupported(name, kind)
        if op is not None:
            ops.append(op)
    if not ops:
        raise UnsupportedLayerError("the TorchScript module has no layers as children; save "
                                    "an nn.Sequential with torch.jit.script")
    return ops


_SAVE_PT2 = ("Save the network with torch.export.save(torch.export.export(model, (example,)), "
             "'model.pt2')")


def load_torch_file(path) -> list[Op]:
    """The ops of a network saved with ``torch.export.save`` (``.pt2``) or as TorchScript
    (``torch.jit.save``). Neither format unpickles Python code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix == ".pt2":
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is not a torch.export program: it is not a zip archive, "
                             f"as every .pt2 is. {_SAVE_PT2}")
        try:
            program = torch.export.load(str(path))
        except Exception as error:  # noqa: BLE001  torch's readers raise anything on foreign bytes
            raise ValueError(f"{path} is not a torch.export program: {type(error).__name__}: "
                             f"{(str(error).splitlines() or [''])[0][:200]}. {_SAVE_PT2}") from None
        return ops_from_exported(program)
    try:
        script = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"{path} is neither a torch.export program (.pt2) nor a TorchScript "
                         f"module: {type(error).__name__}: {str(error).splitlines()[0]}. Save "
                         f"the network with torch.export.save(torch.export.export(model, "
                         f"(example,)), 'model.pt2') or torch.jit.script(model).save(...)") \
            from None
    return ops_from_torchscript(script)


@dataclass
class _Block:
    """A weighted layer with its BatchNorm and activation (None for the readout)."""
    weighted: Op
    bn: Op | None
    act: Op | None


def _blocks(ops: list[Op]) -> list:
    """Group the ops into weighted blocks, avgpool and flatten, refusing what does not map
    onto a ConvertibleNet."""
    items, i = [], 0
    while i < len(ops):
        op = ops[i]
        if op.kind in ("conv", "linear"):
            bn = ops[i + 1] if i + 1 < len(ops) and ops[i + 1].kind == "bn" else None
            j = i + 1 + (bn is not None)
            act = ops[j] if j < len(ops) and ops[j].kind == "act" else None
            j += act is not None
            if act is None and j < len(ops):
                raise UnsupportedLayerError(
                    f"layer {op.name!r} is followed by {ops[j].name!r} ({ops[j].kind}) without "
                    f"a ReLU: every conv/linear but the last must be followed by a ReLU "
                    f"(optionally after BatchNorm)")
            if act is None and op.kind != "linear":
                raise UnsupportedLayerError(f"the last layer {op.name!r} must be a Linear "
                                            f"readout, not a convolution")
            items.append(_Block(op, bn, act))
            i = j
        elif op.kind == "avgpool":
            if not items or not isinstance(items[-1], _Block) or items[-1].act is None:
                raise UnsupportedLayerError(f"AvgPool2d {op.name!r} must follow a ReLU (after "
                                            f"a convolution)")
            items.append(op)
            i += 1
            if i < len(ops) and ops[i].kind == "act" and ops[i].params["max"] is None:
                i += 1  # the mean of non-negative values: a ReLU after it does nothing
        elif op.kind == "flatten":
            items.append(op)
            i += 1
        else:
            raise UnsupportedLayerError(f"layer {op.name!r} ({op.params.get('module', op.kind)})"
                                        f" must directly follow a conv/linear layer")
    if not items or not isinstance(items[-1], _Block) or items[-1].act is not None:
        raise UnsupportedLayerError("the network must end with a Linear readout (no "
                                    "activation after it)")
    return items


def _arch(items, input_shape) -> tuple[list, list]:
    """The ConvertibleNet architecture of the items, and each item's input shape."""
    arch, shapes, shape = [], [], tuple(input_shape)
    for item in items:
        shapes.append(shape)
        if isinstance(item, Op) and item.kind == "flatten":
            arch.append(["flatten"])
            shape = (int(np.prod(shape)),)
        elif isinstance(item, Op):
            arch.append(["avgpool", item.params["kernel"]])
            k = item.params["kernel"]
            shape = (shape[0], shape[1] // k, shape[2] // k)
        elif item.weighted.kind == "linear":
            weight = item.weighted.params["weight"]
            if len(shape) != 1 or weight.shape[1] != shape[0]:
                raise ValueError(f"layer {item.weighted.name!r} (Linear {weight.shape[1]} -> "
                                 f"{weight.shape[0]}) receives an input of shape "
                                 f"{list(shape)}; it needs {weight.shape[1]} features")
            arch.append(["linear", int(weight.shape[0])])
            shape = (int(weight.shape[0]),)
        else:
            p = item.weighted.params
            out, _, kh, kw = p["weight"].shape
            name = item.weighted.name
            if len(shape) != 3 or p["weight"].shape[1] * p["groups"] != shape[0]:
                raise ValueError(f"layer {name!r} (Conv2d, {p['weight'].shape[1]} input "
                                 f"channels) receives an input of shape {list(shape)}")
            if kh != kw or p["stride"][0] != p["stride"][1] or p["padding"][0] != p["padding"][1]:
                raise _unsupported(name, f"Conv2d kernel {(kh, kw)}, stride {p['stride']}, "
                                   f"padding {p['padding']}", "kernels must be square, with "
                                   "equal strides and paddings in both directions")
            if p["dilation"] != (1, 1) or p["groups"] != 1:
                raise _unsupported(name, f"Conv2d dilation {p['dilation']}, groups "
                                   f"{p['groups']}", "use dilation 1 and groups 1")
            stride, padding = p["stride"][0], p["padding"][0]
            arch.append(["conv", int(out), int(kh), int(stride), int(padding)])
            size = lambda s: (s + 2 * padding - kh) // stride + 1
            shape = (int(out), size(shape[1]), size(shape[2]))
    return arch, shapes


def _apply(item, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(output, pre-activation)`` of one item on float64 ``x`` (the module's function)."""
    if isinstance(item, Op):
        if item.kind == "flatten":
            return x.flatten(1), None
        return nn.functional.avg_pool2d(x, item.params["kernel"]), None
    p = item.weighted.params
    if item.weighted.kind == "conv":
        z = nn.functional.conv2d(x, p["weight"], p["bias"], p["stride"], p["padding"])
    else:
        z = nn.functional.linear(x, p["weight"], p["bias"])
    u = z
    if item.bn is not None:
        a, d = _bn_affine(item.bn)
        u = z * _per_channel(a, z) + _per_channel(d, z)
    if item.act is None:
        return u, None
    y = u.clamp(min=0) if item.act.params["max"] is None else u.clamp(0, item.act.params["max"])
    return y, (z, u)


def _bn_affine(bn: Op):
    """BatchNorm in evaluation mode as ``a z + d`` per channel."""
    p = bn.params
    a = p["weight"] / torch.sqrt(p["var"] + p["eps"])
    return a, p["bias"] - p["mean"] * a


def _per_channel(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (like.dim() - 2)))


def run_ops(ops: list[Op], x: np.ndarray | torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """The module's outputs (float64) for its inputs ``x`` ``[N, C, H, W]``
    (:func:`normalized_inputs` of the pixels), from its ops."""
    items = _blocks(ops)
    outputs = []
    x = torch.as_tensor(x, dtype=torch.float64)
    for start in range(0, len(x), batch_size):
        h = x[start:start + batch_size]
        for item in items:
            h, _ = _apply(item, h)
        outputs.append(h.numpy())
    return np.concatenate(outputs)


def _quantized_in_module_units(u: torch.Tensor, lam: torch.Tensor, timesteps: int):
    return lam / timesteps * torch.floor(timesteps * (u / lam).clamp(0, 1))


def _choose_lambda(u: torch.Tensor, y: torch.Tensor, timesteps: int) -> torch.Tensor:
    """Per channel (rows of ``u``), the ``lambda`` among quantiles of the positive
    pre-activations that minimises the squared error of the quantized activation."""
    positive = torch.where(u > 0, u, torch.nan)
    levels = torch.tensor([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99, 0.995,
                           0.999, 1.0], dtype=torch.float64)
    candidates = torch.nanquantile(positive, levels, dim=1).T  # [C, Q]
    best, best_error = torch.ones(len(u), dtype=torch.float64), None
    for q in range(candidates.shape[1]):
        lam = candidates[:, q]
        usable = torch.isfinite(lam) & (lam > 0)
        lam = torch.where(usable, lam, torch.ones_like(lam))
        error = ((_quantized_in_module_units(u, lam[:, None], timesteps) - y) ** 2).mean(1)
        error = torch.where(usable, error, torch.inf)
        if best_error is None:
            best, best_error = lam, error
        else:
            better = error < best_error
            best, best_error = torch.where(better, lam, best), torch.where(better, error,
                                                                           best_error)
    return best


def _sample_rows(t: torch.Tensor, limit: int, generator) -> torch.Tensor:
    """Channels as rows ``[C, samples]``, at most ``limit`` random samples per channel."""
    rows = t.transpose(0, 1).reshape(t.shape[1], -1)
    if rows.shape[1] > limit:
        rows = rows[:, torch.randperm(rows.shape[1], generator=generator)[:limit]]
    return rows


def _normalization(mean, std, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` per input channel (float64), a scalar standing for every channel."""
    values = {}
    for name, value in (("input_mean", mean), ("input_std", std)):
        array = np.asarray(value, dtype=np.float64).reshape(-1)
        if array.size not in (1, channels):
            raise ValueError(f"{name} has {array.size} values for an input of {channels} "
                             f"channel{'s' if channels != 1 else ''}; give one per channel, "
                             f"or one for all")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} must be finite, not {array.tolist()}")
        values[name] = torch.as_tensor(np.broadcast_to(array, (channels,)).copy())
    mean, std = values["input_mean"], values["input_std"]
    if bool((std <= 0).any()):
        raise ValueError(f"input_std must be positive, not {std.tolist()}")
    return mean, std


def normalized_inputs(pixels: np.ndarray, mean=0.0, std=1.0) -> np.ndarray:
    """The module's input for uint8 ``pixels`` ``[N, C, H, W]``: ``(pixels / 255 - mean) /
    std`` per channel (float64), what :func:`run_ops` takes."""
    mean, std = (v.numpy()[None, :, None, None]
                 for v in _normalization(mean, std, pixels.shape[1]))
    return (pixels / 255.0 - mean) / std


def _fold_normalization(items, mean, std, channels):
    """Fold ``x_n = (x - mean) / std`` into the first weighted layer (exact: no padding
    where the mean is not zero)."""
    mean, std = _normalization(mean, std, channels)
    for item in items:
        if isinstance(item, Op):
            continue
        p = dict(item.weighted.params)
        weight = p["weight"]
        if item.weighted.kind == "conv":
            if p["padding"] != (0, 0) and bool((mean != 0).any()):
                raise ValueError(f"the input normalization (mean {mean.tolist()}) cannot be "
                                 f"folded exactly into {item.weighted.name!r}, which pads with "
                                 f"zeros in normalized units; train without the mean "
                                 f"subtraction or without padding in the first layer")
            scaled = weight / std.reshape(1, -1, 1, 1)
            shift = (scaled * mean.reshape(1, -1, 1, 1)).sum((1, 2, 3))
        else:
            per_feature = weight.shape[1] // channels
            s, m = std.repeat_interleave(per_feature), mean.repeat_interleave(per_feature)
            scaled, shift = weight / s, (weight / s * m).sum(1)
        bias = p["bias"] if p["bias"] is not None else torch.zeros(len(weight),
                                                                   dtype=torch.float64)
        p.update(weight=scaled, bias=bias - shift)
        item.weighted = Op(item.weighted.kind, item.weighted.name, p)
        return


def from_torch(module, calibration: np.ndarray, *, timesteps: int = 1, k: int | None = None,
               input_mean=0.0, input_std=1.0, samples_per_channel: int = 20000,
               seed: int = 0) -> ConvertibleNet:
    """A :class:`~.train.ConvertibleNet` equal in form to a trained ReLU network.

    ``module``: an ``nn.Module`` of Conv2d, Linear, BatchNorm1d/2d, ReLU (ReLU6,
    Hardtanh(0, max)), AvgPool2d, Flatten and Dropout layers (a sequence, or one chain
    traced with torch.fx), or the ops of a saved one (:func:`load_torch_file`). It must
    take ``(pixels / 255 - input_mean) / input_std`` (per channel) and end with a Linear
    readout. ``calibration``: uint8 images ``[N, C, H, W]`` of its training data, on which
    the activation scales and BatchNorm statistics are measured (see the module
    docstring). ``k`` defaults to ``4 T``, as in training. Returns the network in
    evaluation mode, ready to fine-tune (:func:`~.train.train_model`) and convert.
    """
    from .encoding import check_pixels
    ops = module if isinstance(module, list) else ops_from_module(module)
    if not isinstance(calibration, np.ndarray) or calibration.ndim != 4:
        raise ValueError("calibration must be uint8 images [N, C, H, W] of the training data")
    calibration = check_pixels(calibration, calibration.shape[1:])
    if len(calibration) == 0:
        raise ValueError("calibration needs at least one image")
    k = 4 * timesteps if k is None else k
    items = _blocks(ops)
    input_shape = calibration.shape[1:]
    arch, shapes = _arch(items, input_shape)
    _fold_normalization(items, input_mean, input_std, input_shape[0])
    net = ConvertibleNet(arch, input_shape, timesteps, k, ice=False)
    theta = timesteps / k
    generator = torch.Generator().manual_seed(seed)

    x = torch.from_numpy(calibration).to(torch.float64) / 255.0
    with torch.no_grad():
        encoded = net.encoder(torch.from_numpy(calibration)).to(torch.float64)
    dims = (0, 2, 3)
    scale = (encoded * x).sum(dims) / (x * x).sum(dims).clamp_min(1e-12)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))

    stats = _calibrate(items, x, samples_per_channel, timesteps, generator)
    body = list(net.body)
    position = 0
    with torch.no_grad():
        for index, item in enumerate(items):
            if isinstance(item, Op):
                if item.kind == "flatten":
                    per_feature = int(np.prod(shapes[index][1:]))
                    scale = scale.repeat_interleave(per_feature)
                position += 1 if item.kind == "flatten" else 2
                continue
            p = item.weighted.params
            target = body[position]
            weight = p["weight"]
            divisor = scale.reshape(1, -1, *([1] * (weight.dim() - 2)))
            target.weight.copy_(weight / divisor)
            target.bias.copy_(p["bias"] if p["bias"] is not None else torch.zeros(len(weight)))
            if item.act is None:
                break
            z_mean, z_var, lam = stats[index]
            a, d = (_bn_affine(item.bn) if item.bn is not None
                    else (torch.ones(len(weight), dtype=torch.float64),
                          torch.zeros(len(weight), dtype=torch.float64)))
            c = theta / lam
            bn = body[position + 1]
            bn.running_mean.copy_(z_mean)
            bn.running_var.copy_(z_var)
            bn.weight.copy_(c * a * torch.sqrt(z_var + bn.eps))
            bn.bias.copy_(c * (d + a * z_mean))
            scale = c
            position += 3
    assert isinstance(body[position], nn.Linear) and not any(
        isinstance(m, QuantAct) for m in body[position + 1:])
    net.eval()
    net.torch_import = {"activation_scale_lambda": {
        str(i): stats[i][2].tolist() for i in stats}, "k": k}
    return net


def _calibrate(items, x: torch.Tensor, samples: int, timesteps: int, generator,
               batch_size: int = 250) -> dict:
    """Per hidden block (by index): the mean and variance of ``z`` (before BatchNorm) and
    ``lambda`` per channel, over the calibration inputs ``x`` run through the module's
    function."""
    sums, sampled = {}, {}
    per_batch = max(1, math.ceil(samples * batch_size / len(x)))
    for start in range(0, len(x), batch_size):
        h = x[start:start + batch_size]
        for index, item in enumerate(items):
            h, pre = _apply(item, h)
            if pre is None:
                continue
            z, u = pre
            dims = [0] + list(range(2, z.dim()))
            total, total_sq, n = sums.get(index, (0.0, 0.0, 0))
            sums[index] = (total + z.sum(dims), total_sq + (z * z).sum(dims),
                           n + z.numel() // z.shape[1])
            sampled.setdefault(index, []).append(_sample_rows(u, per_batch, generator))
    stats = {}
    for index, (total, total_sq, n) in sums.items():
        mean = total / n
        var = (total_sq / n - mean * mean).clamp_min(0)
        u = torch.cat(sampled[index], 1)
        high = items[index].act.params["max"]
        y = u.clamp(min=0) if high is None else u.clamp(0, high)
        stats[index] = (mean, var, _choose_lambda(u, y, timesteps))
    return stats
