"""NIR files written by real clients (Sinabs, SpikingJelly, snnTorch; made by
``tools/nir_client_fixtures.py``, the versions in ``tests/data/nir_clients/clients.json``):
each is imported exactly, its logits equal to the client's own simulation on the same
input spikes, or refused in one line naming what the IR cannot run."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikewright.golden import model as golden_model
from spikewright.golden import nir_io
from spikewright.golden.errors import UnsupportedLayerError

FIXTURES = Path(__file__).parent / "data" / "nir_clients"
RECORD = json.loads((FIXTURES / "clients.json").read_text())["fixtures"]
EXACT = sorted(name for name, entry in RECORD.items() if entry["import"] == "exact")
REFUSED = sorted(name for name, entry in RECORD.items() if entry["import"] == "refused")


def test_every_client_has_a_fixture_imported_exactly_and_one_refused():
    clients = {entry["client"] for entry in RECORD.values()}
    assert clients == {"sinabs", "spikingjelly", "snntorch"}
    assert {RECORD[name]["client"] for name in EXACT} == {"sinabs", "spikingjelly"}
    assert {RECORD[name]["client"] for name in REFUSED} == clients


@pytest.mark.parametrize("name", EXACT)
def test_a_clients_graph_gives_the_clients_own_logits(name):
    entry = RECORD[name]
    network, report = nir_io.read(FIXTURES / f"{name}.nir", timesteps=entry["timesteps"])
    data = np.load(FIXTURES / f"{name}.npz", allow_pickle=False)
    spikes = data["spikes"].astype(bool)
    spikes = spikes.reshape(*spikes.shape[:2], *network.input.encoded_shape)
    logits = golden_model.run_spikes(network, spikes)[0]
    assert logits.shape == data["logits"].shape
    assert np.array_equal(logits, data["logits"])
    assert all(layer["max_weight_error"] == 0 for layer in report["layers"].values())


@pytest.mark.parametrize("name", REFUSED)
def test_a_clients_graph_the_ir_cannot_run_is_refused_in_one_line(name):
    entry = RECORD[name]
    with pytest.raises(UnsupportedLayerError) as refusal:
        nir_io.read(FIXTURES / f"{name}.nir", timesteps=entry["timesteps"])
    message = str(refusal.value)
    assert entry["refusal"] in message and "\n" not in message


def test_the_nir_command_refuses_a_clients_graph_with_exit_2(tmp_path):
    name = "spikingjelly_mlp_dt1e-4"
    done = subprocess.run([str(Path(sys.executable).parent / "spikewright"), "nir", "import",
                           str(FIXTURES / f"{name}.nir"), "--out", str(tmp_path / "ir"),
                           "-T", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "r = 10000" in done.stderr
    assert not list((tmp_path / "ir").glob("*"))  # checked writable first, nothing written
