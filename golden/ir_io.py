"""Reading and writing the IR directory: ``network.json`` + ``weights.npz``.

The format (version 1) is documented in ``docs/ir-format.md``. Loading validates
everything: a malformed file raises :class:`~.errors.IRError` naming the file, the layer
and the field; an unknown layer kind raises :class:`~.errors.UnsupportedLayerError`.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import IRError, UnsupportedLayerError
from .ir import Conv2d, Dense, Flatten, InputChannel, InputSpec, Network, check_layer_name

__all__ = ["save", "load", "from_document", "FORMAT", "FORMAT_VERSION", "SUPPORTED_KINDS", "FILES"]

#: The files of an IR directory.
FILES = ("network.json", "weights.npz")

FORMAT = "spikewright-ir"
FORMAT_VERSION = 1
SUPPORTED_KINDS = ("conv2d", "dense", "flatten")

_SHAPE_FIELDS = {
    "dense": ("in_features", "out_features"),
    "conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "groups"),
    "flatten": (),
}


def save(network: Network, directory) -> Path:
    """Write ``network`` to ``directory`` (created if needed); return the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(network.to_json(), indent=2, sort_keys=False) + "\n"
    _write_atomically(directory / "network.json", text.encode())
    buffer = io.BytesIO()
    # Written by hand with a fixed timestamp so that the same network gives the same bytes.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in sorted(network.arrays().items()):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    _write_atomically(directory / "weights.npz", buffer.getvalue())
    return directory


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _get(obj: dict, key: str, where: str, kind=None):
    if not isinstance(obj, dict) or key not in obj:
        raise IRError(f"{where} lacks {key!r}")
    value = obj[key]
    if kind is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise IRError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}")
    return value


def _parse_input(doc: dict) -> InputSpec:
    spec = _get(doc, "input", "network.json", dict)
    shape = _get(spec, "shape", "network.json 'input'", list)
    channels = []
    for i, ch in enumerate(_get(spec, "channels", "network.json 'input'", list)):
        where = f"network.json input channel {i}"
        source = _get(ch, "source", where, int)
        thresholds = _get(ch, "thresholds", where, list)
        try:
            channels.append(InputChannel(source, tuple(thresholds)))
        except (TypeError, ValueError) as error:
            raise IRError(f"{where}: {error}") from None
    try:
        return InputSpec(tuple(shape), tuple(channels))
    except (TypeError, ValueError) as error:
        raise IRError(f"network.json 'input': {error}") from None


def _parse_layer(i: int, entry: dict, arrays: dict, used: set):
    where = f"network.json layer {i}"
    name = _get(entry, "name", where, str)
    try:
        check_layer_name(name)
    except ValueError as error:
        raise IRError(f"{where}: {error}") from None
    where = f"network.json layer {i} ({name!r})"
    kind = _get(entry, "kind", where, str)
    if kind not in SUPPORTED_KINDS:
        raise UnsupportedLayerError(f"layer {name!r} has kind {kind!r}; supported kinds: "
                                    f"{', '.join(SUPPORTED_KINDS)}")
    if kind == "flatten":
        return Flatten(name)
    fields = {key: _get(entry, key, where, list if key in ("kernel_size", "stride", "padding")
                        else int) for key in _SHAPE_FIELDS[kind]}
    fields["neuron"] = _get(entry, "neuron", where, str)
    fields["weight_width"] = _get(entry, "weight_width", where, int)
    fields["membrane_width"] = _get(entry, "membrane_width", where, int)
    wanted = ["weight", "bias"] + ([] if fields["neuron"] == "none" else ["threshold"])
    for key in wanted:
        array_name = f"{name}.{key}"
        if array_name not in arrays:
            raise IRError(f"weights.npz lacks {array_name!r}, needed by layer {name!r}")
        fields[key] = arrays[array_name]
        used.add(array_name)
    cls = Dense if kind == "dense" else Conv2d
    if kind == "conv2d":
        for key in ("kernel_size", "stride", "padding"):
            fields[key] = tuple(fields[key])
    try:
        return cls(name=name, **fields)
    except (TypeError, ValueError) as error:
        if isinstance(error, IRError):
            raise
        kind_of_error = type(error) if isinstance(error, ValueError) else IRError
        raise kind_of_error(f"{where}: {error}") from None


def load(directory) -> Network:
    """Read and validate the IR in ``directory``."""
    directory = Path(directory)
    json_path, npz_path = directory / "network.json", directory / "weights.npz"
    for path in (json_path, npz_path):
        if not path.is_file():
            raise IRError(f"{path} does not exist; an IR directory holds network.json and "
                          f"weights.npz, as conversion writes them")
    try:
        doc = json.loads(json_path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise IRError(f"{json_path} is not valid UTF-8 JSON: {error}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise IRError(f"{json_path} must have \"format\": \"{FORMAT}\", "
                      f"not {doc.get('format') if isinstance(doc, dict) else doc!r}")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise IRError(f"{json_path} has format_version {version!r}; this spikewright reads "
                      f"version {FORMAT_VERSION}")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise IRError(f"{npz_path} is not a readable .npz file of plain arrays "
                      f"({type(error).__name__}: {str(error) or 'empty'})") from None
    return from_document(doc, arrays)


def from_document(doc: dict, arrays: dict) -> Network:
    """The network of a ``network.json`` document and its arrays (validated)."""
    timesteps = _get(doc, "timesteps", "network.json", int)
    spec = _parse_input(doc)
    entries = _get(doc, "layers", "network.json", list)
    names = [entry.get("name") if isinstance(entry, dict) else None for entry in entries]
    twice = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if twice:
        raise IRError(f"network.json names more than one layer {twice[0]!r}; layer names must "
                      f"be unique")
    used: set[str] = set()
    layers = [_parse_layer(i, entry, arrays, used) for i, entry in enumerate(entries)]
    extra = sorted(set(arrays) - used)
    if extra:
        raise IRError(f"weights.npz holds arrays that no layer uses: {', '.join(extra)}")
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise IRError(f"network.json 'metadata' must be an object, not {metadata!r}")
    return Network(timesteps=timesteps, input=spec, layers=tuple(layers), metadata=metadata)
