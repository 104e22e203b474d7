"""The IR as a NIR graph (Neuromorphic Intermediate Representation, PyPI ``nir``) and back.

Export, one node per step of the integer network, integers carried exactly (as float32
arrays of integer values, exact below 2^24)::

    Input (the encoded input spikes, channels x H x W)
    Dense  -> Affine(W, b)            Conv2d -> Conv2d(W, b, stride, padding, groups)
    a depthwise all-ones pooling conv -> SumPool2d(kernel, stride)
    IF/ASG neurons -> IF(r = 1, v_threshold = theta - 1/2, v_reset = 0)
    Flatten -> Flatten(start_dim 0)   readout -> Affine, then Output (logits = sum over T)

What NIR cannot say, and what an importer that ignores the metadata gets instead
(docs/nir.md has the measurements):

- **Firing and reset.** Our IF fires on ``V >= theta`` and resets by subtraction. NIR's IF
  fires on ``v > v_threshold`` and resets to ``v_reset``. On integer membranes
  ``V >= theta`` is exactly ``V > theta - 1/2``; the reset is not expressible. At T = 1 it
  never matters (one step); at T > 1 a reset to 0 drops the residual charge.
- **The input encoding.** The graph starts at the input spikes; the VR pixel thresholds are
  in the graph metadata (``spikewright`` holds the whole ``network.json``). Without them a
  consumer must be given the spike trains (:func:`.encoding.input_spike_train`).
- **ASG neurons** are written as IF (metadata ``neuron: asg``): ASG emits its spikes one
  window later and spreads them evenly.

Import reads our own graphs exactly (the same network digest) and foreign graphs of
Affine/Linear/Conv2d/SumPool2d/AvgPool2d/IF/Flatten, quantizing float weights and
thresholds per output channel to ``weight_width`` bits (:func:`from_nir`).
"""

from __future__ import annotations

import json

import numpy as np

from . import ir_io
from .encoding import make_input_spec
from .errors import IRError, UnsupportedLayerError
from .ir import Conv2d, Dense, Flatten, Network, Neuron
from .output_file import write_output

__all__ = ["to_nir", "write", "from_nir", "read", "is_pool"]

_METADATA_KEY = "spikewright"


def _float(array) -> np.ndarray:
    array = np.asarray(array)
    if array.size and int(np.abs(array).max()) >= 1 << 24:
        raise IRError("a value of 2^24 or more cannot be carried exactly as float32 in NIR")
    return array.astype(np.float32)


def is_pool(layer) -> bool:
    """A depthwise conv of all-ones weights, no bias, stride = kernel, no padding: sum
    pooling (what conversion makes of average pooling)."""
    return (isinstance(layer, Conv2d) and layer.groups == layer.in_channels
            == layer.out_channels and tuple(layer.stride) == tuple(layer.kernel_size)
            and tuple(layer.padding) == (0, 0) and bool((layer.weight == 1).all())
            and not layer.bias.any())


def to_nir(network: Network):
    """The NIR graph of ``network`` (see the module docstring)."""
    import nir
    nodes = {"input": nir.Input(input_type={"input": np.array(network.input.encoded_shape)})}
    edges, previous = [], "input"
    for index, layer in enumerate(network.layers):
        in_shape, out_shape = network.layer_shapes(index)
        meta = {"layer": layer.name}
        if isinstance(layer, Flatten):
            node = nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=0, end_dim=-1,
                               metadata=meta)
        elif isinstance(layer, Dense):
            node = nir.Affine(weight=_float(layer.weight), bias=_float(layer.bias),
                              metadata=meta)
        elif is_pool(layer):
            node = nir.SumPool2d(kernel_size=np.array(layer.kernel_size),
                                 stride=np.array(layer.stride), padding=np.array([0, 0]),
                                 metadata=meta)
        else:
            # nir 1.0.8 types a Conv2d's input by weight.shape[1], wrong for groups > 1:
            # those are left to the graph's type inference
            node = nir.Conv2d(input_shape=tuple(in_shape[1:]) if layer.groups == 1 else None,
                              weight=_float(layer.weight),
                              stride=tuple(layer.stride), padding=tuple(layer.padding),
                              dilation=(1, 1), groups=layer.groups, bias=_float(layer.bias),
                              metadata=meta)
        nodes[layer.name] = node
        edges.append((previous, layer.name))
        previous = layer.name
        if isinstance(layer, Flatten) or layer.neuron is Neuron.NONE:
            continue
        threshold = np.broadcast_to(
            layer.threshold.reshape(-1, *([1] * (len(out_shape) - 1))), out_shape)
        name = f"{layer.name}_neuron"
        nodes[name] = nir.IF(r=np.ones(out_shape, dtype=np.float32),
                             v_threshold=_float(threshold) - np.float32(0.5),
                             v_reset=np.zeros(out_shape, dtype=np.float32),
                             metadata={"layer": layer.name, "neuron": layer.neuron.value,
                                       "fire": "v >= threshold", "reset": "subtract threshold",
                                       "threshold": json.dumps(layer.threshold.tolist())})
        edges.append((previous, name))
        previous = name
    nodes["output"] = nir.Output(output_type={"output": np.array((network.num_classes,))})
    edges.append((previous, "output"))
    metadata = {_METADATA_KEY: json.dumps(network.to_json(), sort_keys=True),
                "logits": "the sum over the T time steps of the output",
                "input": "the spikes of the VR encoder (pixel thresholds in spikewright)"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write(network: Network, path):
    """Write ``network`` as a NIR file (HDF5); return the graph written."""
    import nir
    graph = to_nir(network)
    write_output(path, lambda target: nir.write(str(target), graph))
    return graph


def read(path, **options) -> tuple[Network, dict]:
    """Read a NIR file: :func:`from_nir` of its graph."""
    import nir
    try:
        graph = nir.read(str(path))
    except Exception as error:  # noqa: BLE001  h5py and nir raise many kinds on a bad file
        detail = str(error) or type(error).__name__
        raise ValueError(f"{path} is not a readable NIR file: {detail}") from None
    return from_nir(graph, **options)


def _chain(graph) -> list[str]:
    """The node names from the input to the output, refusing anything but one chain."""
    import nir
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"the graph must have one Input node, not {len(inputs)}")
    successors = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    order, current = [], inputs[0]
    while True:
        order.append(current)
        following = successors.get(current, [])
        if isinstance(graph.nodes[current], nir.Output):
            return order
        if len(following) != 1 or following[0] in order:
            raise UnsupportedLayerError(f"node {current!r} has {len(following)} successors; "
                                        f"only a chain from Input to Output can be imported")
        current = following[0]


def from_nir(graph, *, use_metadata: bool = True, timesteps: int | None = None,
             k: int | None = None, weight_width: int = 8) -> tuple[Network, dict]:
    """``(network, report)`` of a NIR graph.

    A graph written by :func:`to_nir` is rebuilt exactly from its nodes and metadata
    (``use_metadata=False`` reads it like any other graph). Other graphs: every weighted
    node but the last is followed by an IF; the input spikes get a VR encoder of
    ``timesteps`` (required) and ``k`` (default ``4 T``); weights whose values are
    integers that fit ``weight_width`` bits are kept, others are scaled per output channel
    so the largest magnitude fills them and rounded, and each IF threshold becomes
    ``floor(s v_threshold) + 1`` (``V > v`` on integers). ``report["layers"]`` gives each
    layer's scale and quantization error."""
    if use_metadata and _METADATA_KEY in (graph.metadata or {}):
        return _from_own_graph(graph), {"source": "spikewright metadata", "exact": True}
    return _from_foreign_graph(graph, timesteps, k, weight_width)


def _node_threshold(node) -> np.ndarray:
    meta = node.metadata or {}
    if "threshold" in meta:
        return np.array(json.loads(meta["threshold"]), dtype=np.int64)
    v = np.asarray(node.v_threshold, dtype=np.float64)
    return np.rint(v.reshape(v.shape[0], -1)[:, 0] + 0.5).astype(np.int64)


def _from_own_graph(graph) -> Network:
    doc = json.loads(graph.metadata[_METADATA_KEY])
    arrays = {}
    for entry in doc["layers"]:
        if entry["kind"] == "flatten":
            continue
        name = entry["name"]
        if name not in graph.nodes:
            raise IRError(f"the graph's metadata names layer {name!r}, which has no node")
        node = type(graph.nodes[name]).__name__
        if node == "SumPool2d":
            c, (kh, kw) = entry["out_channels"], entry["kernel_size"]
            weight, bias = np.ones((c, 1, kh, kw), np.int64), np.zeros(c, np.int64)
        else:
            weight = _exact_integers(graph.nodes[name].weight, f"{name}.weight")
            bias = _exact_integers(graph.nodes[name].bias, f"{name}.bias")
        arrays[f"{name}.weight"], arrays[f"{name}.bias"] = weight, bias
        if entry["neuron"] != "none":
            arrays[f"{name}.threshold"] = _node_threshold(graph.nodes[f"{name}_neuron"])
    return ir_io.from_document(doc, arrays)


def _exact_integers(values, what) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if not np.array_equal(values, np.rint(values)):
        raise IRError(f"{what} in the graph holds non-integer values; a graph with "
                      f"spikewright metadata carries integers")
    return np.rint(values).astype(np.int64)


def _quantize(weight, bias, width, per_row):
    """``(W_int, b_int, s)`` with one scale per output row (or one for all)."""
    limit = (1 << (width - 1)) - 1
    if np.array_equal(weight, np.rint(weight)) and np.array_equal(bias, np.rint(bias)) \
            and np.abs(weight).max(initial=0) <= limit:
        scale = np.ones(len(weight))
    else:
        rows = np.abs(weight.reshape(len(weight), -1)).max(1)
        rows = rows if per_row else np.full_like(rows, rows.max(initial=0))
        scale = limit / np.where(rows > 0, rows, 1.0)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return (np.rint(weight * scale.reshape(shape)).astype(np.int64),
            np.rint(bias * scale).astype(np.int64), scale)


def _per_channel(values, what) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    rows = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]
    if not np.all(rows == rows[:, :1]):
        raise UnsupportedLayerError(f"{what} differs between positions of one channel; the IR "
                                    f"has one value per channel")
    return rows[:, 0]


def _from_foreign_graph(graph, timesteps, k, weight_width):
    import nir
    if timesteps is None:
        raise ValueError("a graph without spikewright metadata needs --timesteps: the "
                         "window length T of the VR input encoder to add")
    order = _chain(graph)
    shape = tuple(int(v) for v in graph.nodes[order[0]].input_type["input"])
    image = shape if len(shape) == 3 else (1, 1, int(np.prod(shape)))
    k = 4 * timesteps if k is None else k
    spec = make_input_spec(image, k, timesteps)
    layers, report, pending = [], {}, None
    if len(shape) != 3:
        layers.append(Flatten("flatten0"))
    steps = order[1:-1]
    counters = {"fc": 0, "conv": 0, "pool": 0, "flatten": len(layers)}

    def finish(neuron_node):
        kind, node, name = pending
        if kind == "pool":
            p = int(np.prod(np.asarray(node.kernel_size)))
            channels = layer_shape()[0]
            weight = np.ones((channels, 1, *np.asarray(node.kernel_size).tolist()), np.int64)
            bias, scale = np.zeros(channels, np.int64), np.full(channels, 1.0 if
                                                                 isinstance(node, nir.SumPool2d)
                                                                 else float(p))
        else:
            raw_w = np.asarray(node.weight, dtype=np.float64)
            raw_b = np.asarray(getattr(node, "bias", np.zeros(len(raw_w))), dtype=np.float64)
            for what, values in (("weight", raw_w), ("bias", raw_b)):
                if not np.all(np.isfinite(values)):
                    raise UnsupportedLayerError(
                        f"node {name!r} has a {what} that is NaN or infinite; every weight and "
                        f"bias must be a finite number")
            weight, bias, scale = _quantize(raw_w, raw_b, weight_width, neuron_node is not None)
            error = np.abs(raw_w - weight / scale.reshape((-1,) + (1,) * (raw_w.ndim - 1)))
            report[name] = {"scale": scale.tolist() if neuron_node is not None else
                            float(scale[0]), "max_weight_error": float(error.max()),
                            "relative_rms_error": float(np.sqrt((error ** 2).mean()) /
                                                        max(np.sqrt((raw_w ** 2).mean()), 1e-30))}
        threshold, neuron = None, Neuron.NONE
        if neuron_node is not None:
            v = _per_channel(neuron_node.v_threshold, f"{name} v_threshold")
            threshold = np.maximum(np.floor(v * scale) + 1, 1).astype(np.int64)
            neuron = Neuron.IF
        if kind == "dense":
            layers.append(Dense(name, weight.shape[1], weight.shape[0], neuron, weight, bias,
                                threshold, weight_width=weight_width))
        else:
            stride = tuple(np.broadcast_to(np.asarray(getattr(node, "stride", 1)), 2).tolist())
            padding = tuple(np.broadcast_to(np.asarray(getattr(node, "padding", 0)), 2).tolist())
            groups = weight.shape[0] if kind == "pool" else int(node.groups)
            layers.append(Conv2d(name, weight.shape[1] * groups, weight.shape[0],
                                 weight.shape[2:], stride, padding, groups, neuron, weight,
                                 bias, threshold,
                                 weight_width=None if kind == "pool" else weight_width))

    def layer_shape():
        current = spec.encoded_shape
        for layer in layers:
            current = layer.output_shape(current)
        return current

    for name in steps:
        node = graph.nodes[name]
        kind = type(node).__name__
        if kind in ("LIF", "CubaLIF", "LI", "CubaLI", "I"):
            raise UnsupportedLayerError(f"node {name!r} ({kind}) leaks or never fires; the IR's "
                                        f"neurons are non-leaky integrate-and-fire (IF) only")
        if pending is not None and kind != "IF":
            raise UnsupportedLayerError(f"{pending[2]!r} is followed by {name!r} ({kind}); "
                                        f"every weighted node but the last must be "
                                        f"followed by an IF node")
        if kind in ("Affine", "Linear"):
            counters["fc"] += 1
            pending = ("dense", node, _identifier(name, f"fc{counters['fc']}"))
        elif kind == "Conv2d":
            counters["conv"] += 1
            if np.any(np.asarray(node.dilation) != 1) or isinstance(node.padding, str):
                raise UnsupportedLayerError(f"Conv2d {name!r}: dilation {node.dilation} or "
                                            f"padding {node.padding!r} is not supported")
            pending = ("conv", node, _identifier(name, f"conv{counters['conv']}"))
        elif kind in ("SumPool2d", "AvgPool2d"):
            counters["pool"] += 1
            if np.any(np.asarray(node.padding) != 0) or np.any(
                    np.asarray(node.stride) != np.asarray(node.kernel_size)):
                raise UnsupportedLayerError(f"{kind} {name!r} needs stride = kernel and no "
                                            f"padding")
            pending = ("pool", node, _identifier(name, f"pool{counters['pool']}"))
        elif kind == "IF":
            if pending is None:
                raise UnsupportedLayerError(f"IF node {name!r} must follow a weighted node")
            _check_foreign_if(name, node, timesteps)
            finish(node)
            pending = None
        elif kind == "Flatten":
            counters["flatten"] += 1
            layers.append(Flatten(_identifier(name, f"flatten{counters['flatten']}")))
        else:
            raise UnsupportedLayerError(f"node {name!r} ({kind}) is not supported; supported: "
                                        f"Affine, Linear, Conv2d, SumPool2d, AvgPool2d, IF, "
                                        f"Flatten")
    if pending is None or pending[0] == "pool":
        raise UnsupportedLayerError("the last weighted node (the readout) must feed the Output "
                                    "directly: its summed output is the logits")
    finish(None)
    network = Network(timesteps, spec, tuple(layers),
                      metadata={"nir_import": {"weight_width": weight_width, "k": k}})
    return network, {"source": "NIR nodes (quantized)", "exact": False, "layers": report}


def _check_foreign_if(name: str, node, timesteps: int) -> None:
    """Refuse an IF node of a foreign graph that the IR's IF would run differently: a gain
    ``r`` other than 1 (its meaning depends on a step length ``dt`` the graph does not hold;
    SpikingJelly writes r = 1/dt), a reset to ``v_reset`` at T > 1 (the IR subtracts the
    threshold; the two agree only over one step), a threshold that is not a positive finite
    number."""
    r = np.asarray(node.r, dtype=np.float64)
    if not np.all(r == 1):
        raise UnsupportedLayerError(
            f"IF node {name!r} has r = {r.flat[0]:g}; the IR's IF adds its input once per step "
            f"(r = 1), and what r means depends on a step length dt that the graph does not "
            f"hold: fold r * dt into the preceding weights and bias and write r = 1")
    if timesteps > 1:
        raise UnsupportedLayerError(
            f"IF node {name!r} resets to v_reset = {np.asarray(node.v_reset).flat[0]:g} after "
            f"a spike, as NIR's IF does; the IR's IF resets by subtraction, which is the same "
            f"only at T = 1: import with --timesteps 1 (graphs that spikewright exported keep "
            f"their reset in the metadata and import exactly at any T)")
    threshold = np.asarray(node.v_threshold, dtype=np.float64)
    if not np.all(np.isfinite(threshold)) or np.any(threshold <= 0):
        bad = threshold[~(np.isfinite(threshold) & (threshold > 0))].flat[0]
        raise UnsupportedLayerError(
            f"IF node {name!r} has v_threshold {bad:g}; a threshold must be a positive finite "
            f"number (at or below zero a neuron would fire on no input)")


def _identifier(name: str, fallback: str) -> str:
    return name if name.isidentifier() else fallback
