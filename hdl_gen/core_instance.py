"""The generated top (:data:`.emit.TOP_MODULE`) as an instance, for wrappers written to
their own Verilog file beside it: the same pixel and result streams as the design itself."""

from amaranth import ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .parts import TARGETS
from .plan import NetworkPlan
from .spram import spram_stages, write_layout
from .stream_top import result_layout

__all__ = ["CoreInstance", "core_signature"]


def core_signature(plan: NetworkPlan) -> dict:
    """The streams of the generated top of ``plan`` (pixels in, results out, and the SPRAM
    weight writes where it has them)."""
    members = {"pixels": In(stream.Signature(8 * plan.config.pixels_per_beat)),
               "result": Out(stream.Signature(result_layout(plan)))}
    if spram_stages(plan):
        members["weights"] = In(stream.Signature(write_layout(TARGETS[plan.config.target])))
    return members


class CoreInstance(wiring.Component):
    """The generated top of ``plan``, a module named ``module``; ``debug_outputs``
    (``{port name: width}``: its trace ports) are connected to wires nothing reads."""

    def __init__(self, plan: NetworkPlan, module: str, debug_outputs: dict | None = None):
        self._plan, self._module = plan, module
        self._debug = dict(debug_outputs or {})
        super().__init__(core_signature(plan))

    @classmethod
    def of_manifest(cls, plan: NetworkPlan, manifest: dict) -> "CoreInstance":
        """The design a generator manifest describes (its module name and trace ports)."""
        return cls(plan, manifest["module"], {p["name"]: p["width"] for p in manifest["ports"]
                                              if p["name"].startswith("trace_")})

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = Instance(
            self._module, i_clk=ClockSignal(), i_rst=ResetSignal(),
            i_pixels__payload=self.pixels.payload, i_pixels__valid=self.pixels.valid,
            o_pixels__ready=self.pixels.ready,
            o_result__payload=self.result.payload.as_value(),
            o_result__valid=self.result.valid, i_result__ready=self.result.ready,
            **({"i_weights__payload": self.weights.payload.as_value(),
                "i_weights__valid": self.weights.valid, "o_weights__ready": self.weights.ready}
               if "weights" in self.signature.members else {}),
            **{f"o_{name}": Signal(width, name=f"unused_{name}")
               for name, width in self._debug.items()})
        return m
