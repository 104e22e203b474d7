"""A shipped model at its own hardware configuration, run through golden and the stream
model (interval, stage table, limits, energy): what the bench tables read."""

from spikewright import flow
from spikewright.hdl_gen.config import HwConfig
from spikewright.shipped import shipped_hw_config


def modelled(name: str, limit: int | None = None) -> flow.Build:
    """The build of shipped model ``name`` on its first ``limit`` test images (all where
    None), with ``results["stream"]`` and ``results["energy"]``."""
    build = flow.load(name)
    flow.images(build, limit=limit)
    flow.plan(build, HwConfig.from_json(shipped_hw_config(name)))
    flow.golden(build)
    return flow.cycles_and_energy(build)
