"""Write the NIR files of real clients that ``tests/test_nir_clients.py`` imports.

Not part of the install: each client comes with its own dependencies. Run once, with the
clients on ``PYTHONPATH``, to remake ``tests/data/nir_clients/``::

    pip install --no-deps --target /tmp/clients sinabs==3.1.3 snntorch==1.0.0 \
        spikingjelly==2.0.0 pbr matplotlib
    PYTHONPATH=/tmp/clients .venv/bin/python tools/nir_client_fixtures.py

Each fixture is a small network built in the client, written by the client's own export
function, with the client's own simulation of it on random input spikes
(``NAME.npz``: ``spikes`` [T, N, *input shape], ``logits`` [N, classes], the readout summed
over the T steps) and ``clients.json`` (the versions that wrote them, and what the import
must do with each: ``exact``, or a part of the one-line refusal).

The networks that should import exactly have integer weights and biases and thresholds
half-way between integers: the clients fire on ``v >= theta``, NIR's IF on
``v > v_threshold``; on integer membranes both are ``v >= ceil(theta)`` only when theta is
not an integer. Each client's logits are checked here against that rule: the script
refuses to write a fixture whose client output is not integer.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import nir
import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "nir_clients"
IMAGES = 16


def integer_linear(rng, n_in, n_out):
    layer = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(rng.integers(-3, 4, (n_out, n_in)), dtype=torch.float32))
        layer.bias.copy_(torch.tensor(rng.integers(-1, 2, n_out), dtype=torch.float32))
    return layer


def integer_conv(rng, c_in, c_out, kernel, padding):
    layer = torch.nn.Conv2d(c_in, c_out, kernel, padding=padding)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(rng.integers(-2, 3, tuple(layer.weight.shape)),
                                        dtype=torch.float32))
        layer.bias.copy_(torch.tensor(rng.integers(-1, 2, c_out), dtype=torch.float32))
    return layer


def spikes_of(rng, timesteps, shape):
    return (rng.random((timesteps, IMAGES, *shape)) < 0.4).astype(np.float32)


def summed(outputs) -> np.ndarray:
    logits = np.sum([np.asarray(o, dtype=np.float64) for o in outputs], axis=0)
    if not np.array_equal(logits, np.rint(logits)):
        raise SystemExit("a client's logits are not integers: the fixture would not be exact")
    return np.rint(logits).astype(np.int64)


def sinabs_fixtures(rng) -> dict:
    import sinabs
    import sinabs.activation as sa
    import sinabs.layers as sl

    def iaf(timesteps):
        return sl.IAFSqueeze(num_timesteps=timesteps, spike_threshold=torch.tensor(2.5),
                             spike_fn=sa.SingleSpike, reset_fn=sa.MembraneSubtract(),
                             min_v_mem=None)

    def mlp(timesteps):
        return torch.nn.Sequential(integer_linear(rng, 12, 8), iaf(timesteps),
                                   integer_linear(rng, 8, 5))

    def conv(timesteps):
        return torch.nn.Sequential(integer_conv(rng, 2, 4, 3, 1), iaf(timesteps),
                                   sl.SumPool2d(2), iaf(timesteps), torch.nn.Flatten(),
                                   integer_linear(rng, 4 * 3 * 3, 5))

    written = {}
    for name, make, shape, timesteps, expect in (
            ("sinabs_mlp_t1", mlp, (12,), 1, "exact"),
            ("sinabs_conv_t1", conv, (2, 6, 6), 1, "exact"),
            ("sinabs_mlp_t4", mlp, (12,), 4, "v_reset")):
        net = make(timesteps)
        spikes = spikes_of(rng, timesteps, shape)
        graph = sinabs.to_nir(net, torch.zeros(timesteps, *shape), model_name=name)
        graph.infer_types()  # sinabs 3.1.3 leaves conv and pool types None: nir.write fails
        sinabs.reset_states(net)
        with torch.no_grad():  # [N * T, ...], image-major: the squeeze layers' order
            out = net(torch.tensor(np.moveaxis(spikes, 0, 1).reshape(-1, *shape))).numpy()
        logits = summed(np.moveaxis(out.reshape(IMAGES, timesteps, -1), 1, 0))
        written[name] = (graph, spikes, logits, timesteps, expect, "sinabs")
    return written


def step_by_step(net, spikes, reset):
    """The client's network run one step at a time (its state kept between steps)."""
    reset(net)
    outputs = []
    with torch.no_grad():
        for step in spikes:
            outputs.append(net(torch.tensor(step)).numpy())
    return outputs


def spikingjelly_fixtures(rng) -> dict:
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.nir_exchange import to_nir

    def if_node():
        return neuron.IFNode(v_threshold=2.5, v_reset=0.0)

    written = {}
    for name, dt, expect in (("spikingjelly_mlp_dt1", 1.0, "exact"),
                             ("spikingjelly_mlp_dt1e-4", 1e-4, "r = 10000")):
        net = torch.nn.Sequential(integer_linear(rng, 10, 6), if_node(),
                                  integer_linear(rng, 6, 4))
        spikes = spikes_of(rng, 1, (10,))
        graph = to_nir.export_to_nir(net, torch.zeros(1, 10), dt=dt)
        logits = summed(step_by_step(net, spikes, functional.reset_net))
        written[name] = (graph, spikes, logits, 1, expect, "spikingjelly")
    return written


def snntorch_fixtures(rng) -> dict:
    import snntorch as snn
    from snntorch import export_nir, utils

    net = torch.nn.Sequential(integer_linear(rng, 8, 6),
                              # per-neuron values: nir.write refuses the 0-d arrays that
                              # scalar ones export to
                              snn.Leaky(beta=torch.full((6,), 0.9),
                                        threshold=torch.full((6,), 2.5), init_hidden=True,
                                        reset_mechanism="subtract"),
                              integer_linear(rng, 6, 3))
    # snnTorch 1.0.0's export ends in graph.infer_types(), which fails against nir 1.0.8
    # ("type mismatch: 0.output: [[6]] -> 1.input: []"); the graph is written without it.
    original = nir.NIRGraph.infer_types
    nir.NIRGraph.infer_types = lambda self: None
    try:
        graph = export_nir.export_to_nir(net, torch.zeros(1, 8), ignore_dims=[0])
    finally:
        nir.NIRGraph.infer_types = original
    spikes = spikes_of(rng, 4, (8,))
    outputs = step_by_step(net, spikes, utils.reset)
    logits = np.sum(outputs, axis=0)
    return {"snntorch_leaky_t4": (graph, spikes, logits, 4, "(LIF) leaks", "snntorch")}


def main() -> int:
    rng = np.random.default_rng(2026)
    OUT.mkdir(parents=True, exist_ok=True)
    written = {**sinabs_fixtures(rng), **spikingjelly_fixtures(rng), **snntorch_fixtures(rng)}
    record = {"nir": metadata.version("nir"), "torch": torch.__version__, "fixtures": {}}
    for name, (graph, spikes, logits, timesteps, expect, client) in written.items():
        nir.write(str(OUT / f"{name}.nir"), graph)
        np.savez(OUT / f"{name}.npz", spikes=spikes.astype(np.uint8), logits=logits)
        record["fixtures"][name] = {"client": client, "version": metadata.version(client),
                                    "timesteps": timesteps, "import": expect}
        if expect != "exact":
            record["fixtures"][name].update({"import": "refused", "refusal": expect})
        print(f"{name}: {client} {metadata.version(client)}, T = {timesteps}, {expect}")
    (OUT / "clients.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
