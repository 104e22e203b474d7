"""`HwConfig`: how the IR is laid out in hardware. It changes cycles and resources, never a
single output bit."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .parts import TARGETS
from .stream_plan import SCAN_WIDTH

__all__ = ["MemoryStyle", "HwConfig", "check_architecture", "PLACE_ROUTERS"]

#: nextpnr's routers a configuration may name (``auto``: :func:`spikewright.synth.router_arguments`).
PLACE_ROUTERS = ("auto", "router1", "router2")


class MemoryStyle(enum.Enum):
    """Where weight memories go; recorded in the manifest and used by synthesis."""
    AUTO = "auto"
    BLOCK = "block"
    DISTRIBUTED = "distributed"
    #: dense-stage weights in the part's single-port RAM (the iCE40 UP5K's SPRAM), written
    #: at run time through the design's weight port: :mod:`.spram`
    SPRAM = "spram"

    @property
    def weight_attrs(self) -> tuple:
        """``(name, value)`` attributes of a stage's weight memory (a tuple, so that the
        frozen stage plans hold it): for BLOCK ``ram_style = "block"``, which makes Yosys's
        ``memory_libmap`` put it in block RAM even where its cost model would put a memory
        of a few words in logic (:func:`.estimate.memory_home` follows it); none for the
        others (DISTRIBUTED is synthesis's ``-nobram``)."""
        return (("ram_style", "block"),) if self is MemoryStyle.BLOCK else ()


def check_architecture(doc: dict) -> None:
    """Refuse a HwConfig document (``hw_config.json``, a manifest's ``hw_config``) that names
    an architecture other than the dataflow design, the only one built."""
    named = doc.get("architecture", "dataflow")
    if named != "dataflow":
        raise ValueError(f"the hardware configuration names architecture {named!r}, which "
                         f"spikewright no longer builds: every network is built as the "
                         f"dataflow design; remove \"architecture\" from the configuration "
                         f"(lanes and kernel lanes keep their meaning)")


@dataclass(frozen=True)
class HwConfig:
    """Hardware choices for one generated design.

    lanes:         neurons updated per cycle, one number for every layer or a mapping
                   ``{layer name: lanes}`` (layers not named get ``default_lanes``); a layer
                   narrower than its lanes uses as many lanes as it has neurons.
    default_lanes: lanes of layers not named in a ``lanes`` mapping.
    memory_style:  where weight memories go (block RAM, distributed, the tool's choice, or
                   ``"spram"``: the largest dense layers' weights in the part's SPRAM,
                   written at run time, :mod:`.spram`; on a part with SPRAM).
    clock_mhz:     the clock target, in MHz (synthesis constraint and report units).
    target:        the FPGA part (see ``TARGETS``); the weights must fit its block RAM.
    pixels_per_beat: pixels per beat of the input stream (1 to 16).
    input_buffers: input bitmaps the encoder holds: 2 (it takes the next image's
                   pixels while the first layer works on the last) or 1 (it waits for the
                   first layer to release its bitmap; saves T x inputs flip-flops, for small
                   parts such as the iCE40 UP5K).
    kernel_lanes:  conv stages: kernel positions whose weights are added per cycle,
                   one number for every conv layer or ``{layer name: K}`` (others 1); a
                   layer with fewer kernel positions uses them all. The manifest's
                   ``kernel_lanes_used`` says what each conv stage was built with.
    events:        input events taken per cycle, one number for every layer or
                   ``{layer name: E}`` (others 1); a power of two up to
                   :data:`.stream_plan.SCAN_WIDTH` for a dense stage, the last of
                   :data:`.stream_plan.EVENT_CHOICES` for a conv stage (per kernel lane; a
                   conv of fewer input channels takes the largest power of two below them:
                   :func:`.stream_plan.conv_classes`). The weights are split into ``E``
                   memories by input index (channel) modulo ``E``, each read once per cycle
                   (:class:`.stream_plan.DenseStagePlan`, :class:`.stream_plan.ConvStagePlan`).
                   The manifest's ``events_used`` says what each stage was built with.
    place_seed:    nextpnr's placement seed (placement only: the Verilog does not depend on
                   it). A placement that routes and meets timing for one netlist may not for
                   another; a shipped model records the seed its figures were placed with.
    place_router:  nextpnr's router on the ECP5: ``"auto"`` (router2 for designs of many
                   flip-flops, :func:`spikewright.synth.router_arguments`), ``"router1"`` or
                   ``"router2"``; placement only, recorded with the seed.
    """
    lanes: int | dict = 1
    default_lanes: int = 1
    memory_style: MemoryStyle = MemoryStyle.AUTO
    clock_mhz: float = 50.0
    target: str = "ecp5-85k"
    pixels_per_beat: int = 1
    kernel_lanes: int | dict = 1
    input_buffers: int = 2
    place_seed: int = 1
    events: int | dict = 1
    place_router: str = "auto"
    _lanes: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        lanes = self.lanes
        if isinstance(lanes, dict):
            mapping = dict(lanes)
        else:
            mapping = {}
            object.__setattr__(self, "default_lanes", lanes)
        for name, value in [(None, self.default_lanes), *mapping.items()]:
            what = "lanes" if name is None else f"lanes of layer {name!r}"
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{what} must be an integer, not {value!r}")
            if value < 1:
                raise ValueError(f"{what} must be at least 1, not {value}")
        object.__setattr__(self, "_lanes", mapping)
        styles = [style.value for style in MemoryStyle]
        if self.memory_style not in styles and not isinstance(self.memory_style, MemoryStyle):
            raise ValueError(f"memory_style must be one of {', '.join(styles)}, not "
                             f"{self.memory_style!r}")
        object.__setattr__(self, "memory_style", MemoryStyle(self.memory_style))
        if self.memory_style is MemoryStyle.SPRAM:
            if not TARGETS.get(self.target, TARGETS["ecp5-85k"]).spram_banks:
                parts = ", ".join(t.name for t in TARGETS.values() if t.spram_banks)
                raise ValueError(f"memory_style 'spram' needs a part with single-port RAM "
                                 f"banks ({parts}), not {self.target!r}")
        clock = self.clock_mhz
        if (isinstance(clock, bool) or not isinstance(clock, (int, float))
                or not 0 < clock < float("inf")):
            raise ValueError(f"clock_mhz must be a positive, finite number, not {clock!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        kernel = self.kernel_lanes
        for name, value in (kernel.items() if isinstance(kernel, dict) else [(None, kernel)]):
            what = "kernel_lanes" if name is None else f"kernel_lanes of layer {name!r}"
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{what} must be an integer of at least 1, not {value!r}")
        events = self.events
        for name, value in (events.items() if isinstance(events, dict) else [(None, events)]):
            what = "events" if name is None else f"events of layer {name!r}"
            if (isinstance(value, bool) or not isinstance(value, int) or value < 1
                    or value > SCAN_WIDTH or value & (value - 1)):
                raise ValueError(f"{what} must be a power of two from 1 to {SCAN_WIDTH}, "
                                 f"not {value!r}")
        if self.input_buffers not in (1, 2) or isinstance(self.input_buffers, bool):
            raise ValueError(f"input_buffers must be 1 or 2, not {self.input_buffers!r}")
        seed = self.place_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 1:
            raise ValueError(f"place_seed must be a positive integer, not {seed!r}")
        if self.place_router not in PLACE_ROUTERS:
            raise ValueError(f"place_router must be one of {', '.join(PLACE_ROUTERS)}, not "
                             f"{self.place_router!r}")
        beat = self.pixels_per_beat
        if isinstance(beat, bool) or not isinstance(beat, int) or not 1 <= beat <= 16:
            raise ValueError(f"pixels_per_beat must be an integer from 1 to 16, not {beat!r}")

    def lanes_for(self, layer_name: str, neurons: int) -> int:
        """Lanes of a layer of ``neurons`` neurons (never more than it has neurons)."""
        return min(self._lanes.get(layer_name, self.default_lanes), neurons)

    def kernel_lanes_for(self, layer_name: str, positions: int) -> int:
        """Kernel lanes of a conv layer whose kernel has ``positions`` positions."""
        kernel = self.kernel_lanes
        value = kernel.get(layer_name, 1) if isinstance(kernel, dict) else kernel
        return min(value, positions)

    def events_for(self, layer_name: str) -> int:
        """Input events per cycle asked of layer ``layer_name`` (a conv stage may take fewer:
        :func:`.stream_plan.conv_classes`)."""
        events = self.events
        return events.get(layer_name, 1) if isinstance(events, dict) else events

    @property
    def named_layers(self) -> dict:
        """``{option: the layers its mapping names}`` of lanes, kernel_lanes and events."""
        return {option: tuple(mapping) if isinstance(mapping, dict) else ()
                for option, mapping in (("lanes", self._lanes),
                                        ("kernel_lanes", self.kernel_lanes),
                                        ("events", self.events))}

    @classmethod
    def from_json(cls, doc: dict) -> "HwConfig":
        """The inverse of :meth:`to_json` (as stored in a manifest); refuse a document of
        the retired sequential architecture."""
        check_architecture(doc)
        return cls(lanes=doc["lanes"], default_lanes=doc["default_lanes"],
                   memory_style=doc["memory_style"], clock_mhz=doc["clock_mhz"],
                   target=doc["target"],
                   pixels_per_beat=doc.get("pixels_per_beat", 1),
                   kernel_lanes=doc.get("kernel_lanes", 1),
                   input_buffers=doc.get("input_buffers", 2),
                   place_seed=doc.get("place_seed", 1), events=doc.get("events", 1),
                   place_router=doc.get("place_router", "auto"))

    def to_json(self) -> dict:
        return {"lanes": dict(self._lanes) if isinstance(self.lanes, dict) else self.lanes,
                "default_lanes": self.default_lanes, "memory_style": self.memory_style.value,
                "clock_mhz": self.clock_mhz, "target": self.target,
                "pixels_per_beat": self.pixels_per_beat,
                "kernel_lanes": (dict(self.kernel_lanes) if isinstance(self.kernel_lanes, dict)
                                 else self.kernel_lanes),
                "input_buffers": self.input_buffers, "place_seed": self.place_seed,
                "events": dict(self.events) if isinstance(self.events, dict) else self.events,
                "place_router": self.place_router}
