"""The generated top (:data:`.emit.TOP_MODULE`) as an instance, for wrappers written to
their own Verilog file beside it: the same pixel and result streams as the design itself."""

from amaranth import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .plan import NetworkPlan
from .top import result_layout

__all__ = ["CoreInstance", "core_signature"]


def core_signature(plan: NetworkPlan) -> dict:
    """The streams of the generated top of ``plan`` (pixels in, results out)."""
    return {"pixels": In(stream.Signature(8 * plan.config.pixels_per_beat)),
            "result": Out(stream.Signature(result_layout(plan)))}


class CoreInstance(wiring.Component):
    """The generated top of ``plan``, a module named ``module`` (its debug trace outputs
    left open)."""

    def __init__(self, plan: NetworkPlan, module: str):
        self._plan, self._module = plan, module
        super().__init__(core_signature(plan))

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = Instance(
            self._module, i_clk=ClockSignal(), i_rst=ResetSignal(),
            i_pixels__payload=self.pixels.payload, i_pixels__valid=self.pixels.valid,
            o_pixels__ready=self.pixels.ready,
            o_result__payload=self.result.payload.as_value(),
            o_result__valid=self.result.valid, i_result__ready=self.result.ready)
        return m
