"""Fuzzing the loaders through the commands: mutated IRs (missing and extra fields, wrong
types, shapes, dtypes, values at and beyond their widths, truncated and corrupt files) and
mutated checkpoints. Each case ends with exit status 2 and one line, or with a valid result
whose numbers are exactly those in the files (nothing wrapped, clipped or skipped); never a
traceback."""

import io
import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_inputs import checkpoint, digits_network, run_command

SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

VALUES = [None, True, False, 0, 1, -1, 2, 3, 64, 2 ** 31, 2 ** 53 + 1, 2 ** 70, -2 ** 70, 1.5,
          float("nan"), "", "x", "if", "asg", "none", "dense", [], [1], [3, 3], {}, {"a": 1}]
EXTREMES = [0, 1, -1, 7, -8, 8, 2 ** 15, -2 ** 15, 2 ** 31 - 1, -2 ** 31, 2 ** 31, 2 ** 47,
            2 ** 62, -2 ** 63, 2 ** 63 - 1]


def json_paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from json_paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from json_paths(value, prefix + (index,))


def parent_of(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def ir_mutations(draw, doc, arrays):
    kind = draw(st.sampled_from(["delete", "replace", "extra", "dtype", "shape", "value",
                                 "drop", "add_array", "truncate", "corrupt"]))
    doc, arrays = json.loads(json.dumps(doc)), dict(arrays)
    raw = {}
    paths = [p for p in json_paths(doc) if p]
    names = sorted(arrays)
    if kind in ("delete", "replace", "extra"):
        path = draw(st.sampled_from(paths))
        holder = parent_of(doc, path)
        if kind == "delete":
            del holder[path[-1]]
        elif kind == "replace":
            holder[path[-1]] = draw(st.sampled_from(VALUES))
        elif isinstance(holder, dict):
            holder[draw(st.sampled_from(["extra", "weight", "neuron", "stride"]))] = \
                draw(st.sampled_from(VALUES))
    elif kind == "dtype":
        name = draw(st.sampled_from(names))
        dtype = draw(st.sampled_from(["float64", "float32", "bool", "int8", "uint8", "int16",
                                      "uint64", "int32", "complex64"]))
        arrays[name] = arrays[name].astype(dtype)
    elif kind == "shape":
        name = draw(st.sampled_from(names))
        array = arrays[name]
        arrays[name] = draw(st.sampled_from([array.reshape(-1), array[..., :-1], array[None],
                                             np.concatenate([array, array[:1]])]))
    elif kind == "value":
        name = draw(st.sampled_from(names))
        array = arrays[name].copy()
        index = draw(st.integers(0, array.size - 1))
        array.reshape(-1)[index] = draw(st.sampled_from(EXTREMES))
        arrays[name] = array
    elif kind == "drop":
        del arrays[draw(st.sampled_from(names))]
    elif kind == "add_array":
        arrays[draw(st.sampled_from(["extra", "fc1.extra", "fc3.weight"]))] = np.zeros(3, int)
    else:
        which = draw(st.sampled_from(["network.json", "weights.npz"]))
        raw[which] = (kind, draw(st.integers(0, 10 ** 6)), draw(st.integers(0, 255)))
    return doc, arrays, raw


def write_ir(folder, doc, arrays, raw):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.json").write_text(json.dumps(doc))
    np.savez(folder / "weights.npz", **arrays)
    for name, (kind, position, byte) in raw.items():
        data = bytearray((folder / name).read_bytes())
        position %= max(len(data), 1)
        if kind == "truncate":
            data = data[:position]
        elif data:
            data[position] ^= byte or 1
        (folder / name).write_bytes(bytes(data))


def assert_one_line_or_valid(status, err, folder=None):
    assert status in (0, 2), (status, err)
    if status == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("spikewright: error: "), err
        assert "Traceback" not in err


def file_arrays(folder):
    with np.load(folder / "weights.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="module")
def base():
    network = digits_network()
    return network.to_json(), {k: np.asarray(v) for k, v in network.arrays().items()}, network


@pytest.mark.parametrize("chunk", range(5))
def test_mutated_irs_fail_cleanly_or_mean_exactly_what_they_say(base, tmp_path_factory, chunk):
    doc, arrays, _ = base
    count = [0]

    @settings(max_examples=100, **SETTINGS)
    @given(st.integers(0, 10 ** 6).flatmap(lambda _: ir_mutations(doc, arrays)))
    def case(mutation):
        from spikewright.golden import load
        count[0] += 1
        folder = tmp_path_factory.mktemp(f"ir{chunk}_")
        write_ir(folder / "ir", *mutation)
        status, out, err = run_command(["eval", str(folder / "ir"), "--limit", "20", "-q"])
        assert_one_line_or_valid(status, err)
        if status == 0:
            network = load(folder / "ir")
            stored = file_arrays(folder / "ir")
            for layer in network.weighted_layers:
                for key in ("weight", "bias", "threshold"):
                    value = getattr(layer, key)
                    if value is not None:
                        assert [int(v) for v in value.reshape(-1)] == \
                            [int(v) for v in stored[f"{layer.name}.{key}"].reshape(-1)]
            assert json.loads(out)["network_digest"] == network.digest()
        shutil.rmtree(folder)

    case()
    assert count[0] == 100


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory):
    import torch
    path = checkpoint(tmp_path_factory.mktemp("ckpt"))
    return torch.load(path, weights_only=True)


CHECKPOINT_VALUES = [None, 0, -1, 1, 3, 2 ** 40, 1.5, "x", [], [1, 8, 8], [3, 8, 8], {},
                     [["linear", 10]], [["conv", 4, 3, 1, 1]], [["lstm", 3]], True]


@settings(max_examples=100, **SETTINGS)
@given(kind=st.sampled_from(["field", "tensor_shape", "tensor_drop", "tensor_dtype", "bytes"]),
       field=st.sampled_from(["arch", "input_shape", "timesteps", "k", "ice", "state_dict",
                              "info", "format", "weight_quantization"]),
       value=st.sampled_from(CHECKPOINT_VALUES), position=st.integers(0, 10 ** 6),
       tensor=st.integers(0, 100))
def test_mutated_checkpoints_fail_cleanly_or_convert(base_checkpoint, tmp_path_factory, kind,
                                                      field, value, position, tensor):
    import copy

    import torch
    data = copy.deepcopy(base_checkpoint)
    names = sorted(data["state_dict"])
    name = names[tensor % len(names)]
    if kind == "field":
        data[field] = value
    elif kind == "tensor_shape":
        data["state_dict"][name] = data["state_dict"][name].reshape(-1)[:-1] \
            if data["state_dict"][name].numel() > 1 else torch.zeros(3)
    elif kind == "tensor_drop":
        del data["state_dict"][name]
    elif kind == "tensor_dtype":
        data["state_dict"][name] = data["state_dict"][name].to(torch.int8)
    folder = tmp_path_factory.mktemp("ck")
    path = folder / "m.pt"
    buffer = io.BytesIO()
    torch.save(data, buffer)
    raw = bytearray(buffer.getvalue())
    if kind == "bytes":
        raw = raw[:position % len(raw)] if position % 2 else raw
        if not position % 2:
            raw[position % len(raw)] ^= 0x5A
    path.write_bytes(bytes(raw))
    status, out, err = run_command(["convert", str(path), "--out", str(folder / "ir")])
    assert_one_line_or_valid(status, err)
    if status == 0:
        from spikewright.golden import load
        assert load(folder / "ir").digest() == json.loads(out)["digest"]
    shutil.rmtree(folder)
