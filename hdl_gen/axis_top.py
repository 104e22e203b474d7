"""The AXI4-Stream top (``spikewright_axis``): the generated design behind a pixel slave and
a result master, for a Zynq/PYNQ DMA or a LiteX stream (one clock, ``aresetn`` low to
reset; each port's meaning is in the manifest's ``axis.ports``). Pixels come in C, H, W
order with ``s_axis_tlast`` on each image's last beat; each result leaves as one beat, in
order, the result payload zero-extended to whole bytes. ``tlast_error`` is set (until reset)
when ``s_axis_tlast`` is not on an image's last beat: images are counted in beats, so the
results stay in step with the pixels that made them.
"""

from amaranth import ClockDomain, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .plan import NetworkPlan

__all__ = ["AxisTop", "AXIS_MODULE", "result_bytes"]

AXIS_MODULE = "spikewright_axis"


def result_bytes(plan: NetworkPlan) -> int:
    """Bytes of ``m_axis_tdata``: the result payload rounded up to whole bytes."""
    return -(-(plan.class_width + plan.classes * plan.logit_width) // 8)


class AxisTop(wiring.Component):
    """``core`` (the generated top, or its :class:`.core_instance.CoreInstance`) between an
    AXI4-Stream slave and master (module docstring)."""

    def __init__(self, plan: NetworkPlan, core):
        self._plan, self._core = plan, core
        beat = plan.config.pixels_per_beat  # it divides an image (make_plan checks)
        self._beats = plan.encoder.pixel_shape[0] * plan.encoder.positions // beat
        super().__init__({
            "aclk": In(1), "aresetn": In(1),
            "s_axis_tdata": In(8 * beat), "s_axis_tvalid": In(1), "s_axis_tready": Out(1),
            "s_axis_tlast": In(1),
            "m_axis_tdata": Out(8 * result_bytes(plan)), "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1), "m_axis_tlast": Out(1),
            "tlast_error": Out(1),
            **({"s_axis_weights_tdata": In(len(core.weights.payload.as_value())),
                "s_axis_weights_tvalid": In(1), "s_axis_weights_tready": Out(1)}
               if "weights" in core.signature.members else {}),
        })

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = domain = ClockDomain("sync", local=True)
        m.d.comb += [domain.clk.eq(self.aclk), domain.rst.eq(~self.aresetn)]
        m.submodules.core = core = self._core
        pixels, result = core.pixels, core.result
        m.d.comb += [pixels.payload.eq(self.s_axis_tdata), pixels.valid.eq(self.s_axis_tvalid),
                     self.s_axis_tready.eq(pixels.ready),
                     self.m_axis_tdata.eq(result.payload.as_value()),
                     self.m_axis_tvalid.eq(result.valid), result.ready.eq(self.m_axis_tready),
                     self.m_axis_tlast.eq(1)]
        if "weights" in core.signature.members:
            m.d.comb += [core.weights.payload.eq(self.s_axis_weights_tdata),
                         core.weights.valid.eq(self.s_axis_weights_tvalid),
                         self.s_axis_weights_tready.eq(core.weights.ready)]
        beat = Signal(range(max(self._beats, 2)))
        last = beat == self._beats - 1
        with m.If(self.s_axis_tvalid & pixels.ready):
            m.d.sync += beat.eq(beat + 1)
            with m.If(last):
                m.d.sync += beat.eq(0)
            with m.If(self.s_axis_tlast != last):
                m.d.sync += self.tlast_error.eq(1)
        return m
