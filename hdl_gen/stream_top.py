"""The dataflow top: the stages of :mod:`.stream_plan` chained by hand-over registers, with
a wide pixel stream in and a result stream out."""

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .parts import TARGETS
from .plan import NetworkPlan
from .spram import spram_stages, write_layout
from .stream_plan import ConvStagePlan, DenseStagePlan
from .stages.argmax import ArgmaxStage
from .stages.conv import ConvStage
from .stages.dense import DenseStage
from .stages.encoder import EncoderStage

__all__ = ["StreamTop", "result_layout", "STAGES"]

#: The stage (Amaranth component) that each kind of layer stage plan builds, made from the
#: plan and the part (:func:`.stream_plan.make_stream_plan` makes the plans).
STAGES = {DenseStagePlan: DenseStage, ConvStagePlan: lambda plan, target: ConvStage(plan)}


def result_layout(plan: NetworkPlan) -> data.StructLayout:
    """The result payload: ``cls`` in the low bits, then ``logits[0..classes-1]``."""
    return data.StructLayout({
        "cls": plan.class_width,
        "logits": data.ArrayLayout(signed(plan.logit_width), plan.classes),
    })


class StreamTop(wiring.Component):
    """A spiking network as a pipeline: the encoder, one stage per layer and the argmax each
    work on their own image at the same time; results leave in order. After a conv stage
    lies a double-buffered word memory; elsewhere the producer's bitmap register.

    Cycles: :func:`.stream_model.stream_timing` (each result's cycle for images streamed
    back to back).

    Attributes
    ----------
    pixels : In(stream.Signature(8 * pixels_per_beat))
        Pixels in C, H, W order, images back to back, the first of a beat in the low byte.
    result : Out(stream.Signature(result_layout(plan)))
        Class and logits of each image, in order.
    weights : In(stream.Signature(spram.write_layout(target)))
        Designs with weights in SPRAM only: one word written per beat (``data`` at
        ``address`` of ``bank``), taken while the layer of that bank is idle; every word of
        :func:`.spram.bank_contents` is written after reset, before the first image. A
        write to a bank no layer uses is taken and dropped.
    trace_input_*, trace_<layer>_* : Out
        Debug: each bitmap handed over (the encoder's, a dense stage's), or each word a
        conv stage writes; the manifest's ``trace`` and port descriptions say which
        (:func:`.emit.trace_layout`).
    """

    def __init__(self, plan: NetworkPlan):
        self._plan = plan
        stream_plan = plan.stream
        self.encoder = EncoderStage(stream_plan.encoder)
        target = TARGETS[plan.config.target]
        self.stages = [STAGES[type(stage)](stage, target) for stage in stream_plan.stages]
        self._spram_stages = [s for s in self.stages if s._plan in spram_stages(plan)]
        self.argmax = ArgmaxStage(plan.classes, plan.logit_width, result_layout(plan),
                                  shift=stream_plan.prefetch)
        members = {
            "pixels": In(stream.Signature(8 * stream_plan.encoder.pixels_per_beat)),
            "result": Out(stream.Signature(result_layout(plan))),
            "trace_input_valid": Out(1),
            "trace_input_bits": Out(len(self.encoder.out_bits)),
        }
        if self._spram_stages:
            members["weights"] = In(stream.Signature(write_layout(target)))
        for stage in self.stages[:-1]:
            name = stage._plan.layer.name
            members[f"trace_{name}_valid"] = Out(1)
            if hasattr(stage, "out_bits"):
                members[f"trace_{name}_bits"] = Out(len(stage.out_bits))
            else:
                members[f"trace_{name}_index"] = Out(len(stage.out_index))
                members[f"trace_{name}_word"] = Out(len(stage.out_data))
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
            m.d.comb += [consumer.in_full.eq(producer.out_full),
                         producer.out_release.eq(consumer.in_release)]
            if isinstance(producer, ConvStage):
                self._word_buffer(m, producer, consumer)
            elif isinstance(consumer, ConvStage):
                self._register_reader(m, producer.out_bits, consumer)
            else:
                m.d.comb += consumer.in_bits.eq(producer.out_bits)
        readout = self.stages[-1]
        m.d.comb += [self.argmax.logits.eq(readout.logits),
                     self.argmax.in_full.eq(readout.out_full),
                     readout.out_release.eq(self.argmax.in_release)]
        wiring.connect(m, self.argmax.result, wiring.flipped(self.result))
        if self._spram_stages:
            self._route_weights(m)

        for name, producer in [("input", self.encoder)] + [(s._plan.layer.name, s)
                                                           for s in self.stages[:-1]]:
            if not hasattr(producer, "out_bits"):  # a conv stage: each word it writes
                m.d.comb += [getattr(self, f"trace_{name}_valid").eq(producer.out_en),
                             getattr(self, f"trace_{name}_index").eq(producer.out_index),
                             getattr(self, f"trace_{name}_word").eq(producer.out_data)]
                continue
            held = Signal(name=f"was_full_{name}")
            m.d.sync += held.eq(producer.out_full)
            m.d.comb += [getattr(self, f"trace_{name}_valid").eq(producer.out_full & ~held),
                         getattr(self, f"trace_{name}_bits").eq(producer.out_bits)]
        return m

    def _route_weights(self, m):
        """Each write of ``weights`` to the stage whose banks hold its bank."""
        write = self.weights
        m.d.comb += write.ready.eq(1)
        for stage in self._spram_stages:
            layout = stage._plan.spram
            bank, banks = write.payload.bank, layout.banks
            mine = Const(1, 1)  # no comparison where it is always true
            if layout.first_bank:
                mine = mine & (bank >= layout.first_bank)
            if layout.first_bank + banks < 2 ** len(bank):
                mine = mine & (bank < layout.first_bank + banks)
            m.d.comb += [stage.weights.payload.eq(write.payload),
                         stage.weights.valid.eq(write.valid & mine)]
            with m.If(mine):
                m.d.comb += write.ready.eq(stage.weights.ready)

    @staticmethod
    def _register_reader(m, bits, consumer: ConvStage):
        """A conv stage reading a bitmap register (``t * C * H * W + c * H * W + position``)
        as words (``t * H * W + position``): the word at ``in_addr`` the next cycle."""
        plan = consumer._plan
        channels, height, width = plan.layer.in_shape
        positions, steps = height * width, plan.layer.timesteps
        columns = [Cat(*(bits[(t * channels + c) * positions:(t * channels + c + 1) * positions]
                         for t in range(steps))) for c in range(channels)]
        m.d.sync += consumer.in_data.eq(Cat(*(column.bit_select(consumer.in_addr, 1)
                                              for column in columns)))

    @staticmethod
    def _word_buffer(m, producer: ConvStage, consumer):
        """The double-buffered word memory after a conv stage: the producer writes buffer
        ``out_bank``, the consumer (a conv or dense stage) reads at ``in_addr`` (which
        names the buffer)."""
        words = producer._plan.out_words
        name = f"bitmap_{producer._plan.layer.name}"
        m.submodules[name] = buffer = memory.Memory(
            shape=unsigned(producer._plan.word_width), depth=2 * words, init=[])
        write, read = buffer.write_port(), buffer.read_port()
        m.d.comb += [write.addr.eq(producer.out_index + Mux(producer.out_bank, words, 0)),
                     write.en.eq(producer.out_en), write.data.eq(producer.out_data),
                     read.addr.eq(consumer.in_addr), consumer.in_data.eq(read.data)]
