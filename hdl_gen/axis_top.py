"""The AXI4-Stream top (``spikewright_axis``): the generated design behind a pixel slave and
a result master, for a Zynq/PYNQ DMA or a LiteX stream.

Ports (AMBA AXI4-Stream names; one clock, ``aresetn`` low to reset):

- ``s_axis_tdata`` (8 x pixels per beat), ``s_axis_tvalid``, ``s_axis_tready``,
  ``s_axis_tlast``: pixels in C, H, W order, the first of a beat in the low byte; ``tlast``
  on each image's last beat.
- ``m_axis_tdata``, ``m_axis_tvalid``, ``m_axis_tready``, ``m_axis_tlast``: one beat per
  image, in order, ``tlast`` always 1: the result payload (the manifest's
  ``result_payload``: ``cls`` in the low bits, then the logits) zero-extended to whole bytes.
- ``s_axis_weights_tdata`` (32), ``s_axis_weights_tvalid``, ``s_axis_weights_tready``:
  designs with weights in SPRAM only, the design's ``weights`` stream (:mod:`.spram`).
- ``tlast_error``: set (until reset) when ``s_axis_tlast`` is not on an image's last beat;
  images are counted in beats, so the results stay in step with the pixels that made them.
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
        beat = plan.config.pixels_per_beat
        per_image = plan.encoder.pixel_shape[0] * plan.encoder.positions
        if per_image % beat:
            raise ValueError(f"an image of {per_image} pixels is not a whole number of beats "
                             f"of {beat} pixels")
        self._beats = per_image // beat
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
