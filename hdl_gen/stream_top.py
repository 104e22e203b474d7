"""The dataflow top: the stages of :mod:`.stream_plan` chained by hand-over registers, with
a wide pixel stream in and a result stream out."""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .plan import NetworkPlan
from .stream_stages import ArgmaxStage, DenseStage, EncoderStage
from .top import result_layout

__all__ = ["StreamTop"]


class StreamTop(wiring.Component):
    """A dense spiking network as a pipeline: the encoder, one stage per layer and the
    argmax each work on their own image at the same time; results leave in order.

    Cycles: :func:`.stream_model.stream_timing` (each result's cycle for images streamed
    back to back).

    Attributes
    ----------
    pixels : In(stream.Signature(8 * pixels_per_beat))
        Pixels in C, H, W order, images back to back, the first of a beat in the low byte.
    result : Out(stream.Signature(result_layout(plan)))
        Class and logits of each image, in order.
    trace_input_valid, trace_input_bits : Out
        Debug: high for one cycle when an image's input bitmap is handed over; the bitmap,
        bit ``t * inputs + neuron``.
    trace_<layer>_valid, trace_<layer>_bits : Out
        Debug: the same for each hidden layer's spikes, bit ``t * G*P + neuron``.
    """

    def __init__(self, plan: NetworkPlan):
        if plan.stream is None:
            raise ValueError("StreamTop needs a dataflow plan (HwConfig architecture "
                             "'dataflow')")
        self._plan = plan
        stream_plan = plan.stream
        self.encoder = EncoderStage(stream_plan.encoder)
        self.stages = [DenseStage(stage) for stage in stream_plan.stages]
        self.argmax = ArgmaxStage(plan.classes, plan.logit_width, result_layout(plan))
        members = {
            "pixels": In(stream.Signature(8 * stream_plan.encoder.pixels_per_beat)),
            "result": Out(stream.Signature(result_layout(plan))),
            "trace_input_valid": Out(1),
            "trace_input_bits": Out(len(self.encoder.out_bits)),
        }
        for stage in self.stages[:-1]:
            name = stage._plan.layer.name
            members[f"trace_{name}_valid"] = Out(1)
            members[f"trace_{name}_bits"] = Out(len(stage.out_bits))
        super().__init__(members)

    @property
    def plan(self):
        return self._plan

    def elaborate(self, platform):
        m = Module()
        m.submodules.encoder = self.encoder
        for stage in self.stages:
            m.submodules[f"stage_{stage._plan.layer.name}"] = stage
        m.submodules.argmax = self.argmax
        wiring.connect(m, wiring.flipped(self.pixels), self.encoder.pixels)

        producers = [self.encoder, *self.stages[:-1]]
        for producer, consumer in zip(producers, self.stages):
            m.d.comb += [consumer.in_bits.eq(producer.out_bits),
                         consumer.in_full.eq(producer.out_full),
                         producer.out_release.eq(consumer.in_release)]
        readout = self.stages[-1]
        m.d.comb += [self.argmax.logits.eq(readout.logits),
                     self.argmax.in_full.eq(readout.out_full),
                     readout.out_release.eq(self.argmax.in_release)]
        wiring.connect(m, self.argmax.result, wiring.flipped(self.result))

        traces = [("input", self.encoder)] + [(s._plan.layer.name, s) for s in self.stages[:-1]]
        for name, producer in traces:
            held = Signal(name=f"was_full_{name}")
            m.d.sync += held.eq(producer.out_full)
            m.d.comb += [getattr(self, f"trace_{name}_valid").eq(producer.out_full & ~held),
                         getattr(self, f"trace_{name}_bits").eq(producer.out_bits)]
        return m
