"""The network top: encoder, dense layer cores and readout, chained by event lists, with
pixel and result streams."""

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from spikewright.golden.ir import Neuron

from .conv_core import ConvCore
from .dense_core import DenseCore
from .encoder import InputEncoder
from .event_list import EventList
from .plan import NetworkPlan, counter_width

__all__ = ["NetworkTop", "result_layout"]


def result_layout(plan: NetworkPlan) -> data.StructLayout:
    """The result payload: ``cls`` in the low bits, then ``logits[0..classes-1]``."""
    return data.StructLayout({
        "cls": plan.class_width,
        "logits": data.ArrayLayout(signed(plan.logit_width), plan.classes),
    })


class NetworkTop(wiring.Component):
    """A whole spiking network (conv and dense layers), one image at a time.

    An image is loaded (one pixel per cycle per encoded channel); then the static schedule of
    layer-steps runs (global step by global step, layer by layer; each core is told its
    phase and whether this is the first step of its window); then the argmax scans the
    logits (one class per cycle, the lowest index wins ties) and the result is offered on
    ``result`` until taken. The next image is accepted after that.

    Cycles per image, first pixel accepted to ``result.valid``::

        (encoder slots - slots of the first pixel + 1) + sum over schedule (1 + core cycles)
        + classes

    Attributes
    ----------
    pixels : In(stream.Signature(8))
        Pixels in C, H, W order, images back to back.
    result : Out(stream.Signature(result_layout(plan)))
        Class and logits of each image.
    trace_valid, trace_layer, trace_step, trace_address : Out
        Every hidden spike: layer (index among weighted layers), global step, neuron.
        The trace ports are registered: they show the events of the previous cycle.
    trace_input_valid, trace_input_steps, trace_input_address : Out
        Every encoded input neuron with spikes: its address; ``trace_input_steps`` has bit
        ``t`` set if it spikes in step ``t``.
    """

    def __init__(self, plan: NetworkPlan):
        self._plan = plan
        self.encoder = InputEncoder(plan.encoder)
        input_count_width = counter_width(plan.encoder.inputs)
        self.input_lists = [EventList(depth=plan.encoder.inputs,
                                      address_width=self.encoder.address_width)
                            for _ in range(plan.encoder.timesteps)]
        self.cores, self.hidden_lists = [], []
        count_width = input_count_width
        for layer in plan.layers:
            if layer.kind == "conv2d":
                core = ConvCore(layer, event_count_width=count_width)
            else:
                core = DenseCore(layer, event_count_width=count_width)
            self.cores.append(core)
            if layer.neuron is not Neuron.NONE:
                events = EventList(depth=layer.neurons, address_width=len(core.out_address))
                self.hidden_lists.append(events)
                count_width = counter_width(layer.neurons)
        self._step_width = counter_width(plan.schedule[-1].step)
        self._layer_width = counter_width(len(plan.layers) - 1)
        hidden_address = max([1] + [counter_width(l.neurons - 1)
                                    for l in plan.layers if l.neuron is not Neuron.NONE])
        super().__init__({
            "pixels": In(stream.Signature(8)),
            "result": Out(stream.Signature(result_layout(plan))),
            "trace_valid": Out(1),
            "trace_layer": Out(self._layer_width),
            "trace_step": Out(self._step_width),
            "trace_address": Out(hidden_address),
            "trace_input_valid": Out(1),
            "trace_input_steps": Out(plan.encoder.timesteps),
            "trace_input_address": Out(len(self.encoder.trace_address)),
        })

    @property
    def plan(self):
        return self._plan

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        m.submodules.encoder = encoder = self.encoder
        for t, events in enumerate(self.input_lists):
            m.submodules[f"input_events_{t}"] = events
        for core in self.cores:
            m.submodules[f"core_{core.plan.name}"] = core
        for core, events in zip(self.cores, self.hidden_lists):
            m.submodules[f"events_{core.plan.name}"] = events

        wiring.connect(m, wiring.flipped(self.pixels), encoder.pixels)
        for t, events in enumerate(self.input_lists):
            m.d.comb += [events.push_valid.eq(encoder.push_valid[t]),
                         events.push_address.eq(encoder.push_address)]
        m.d.sync += [self.trace_input_valid.eq(encoder.push_valid.any()),
                     self.trace_input_steps.eq(encoder.push_valid),
                     self.trace_input_address.eq(encoder.trace_address)]

        schedule = plan.schedule
        entry = Signal(range(max(len(schedule), 2)))
        layer = Signal(range(max(len(plan.layers), 2)))
        phase, first, last = Signal(), Signal(), Signal()
        local_step = Signal(range(max(plan.encoder.timesteps, 2)))
        step = Signal(self._step_width)
        with m.Switch(entry):
            for i, e in enumerate(schedule):
                with m.Case(i):
                    m.d.comb += [layer.eq(e.layer), phase.eq(e.phase), first.eq(e.first),
                                 last.eq(e.last), local_step.eq(e.local_step), step.eq(e.step)]

        # event inputs: layer 0 reads the input list of its local step, layer l the list of l-1
        first_core = self.cores[0]
        with m.Switch(local_step):
            for t, events in enumerate(self.input_lists):
                with m.Case(t):
                    m.d.comb += [first_core.event_count.eq(events.count),
                                 first_core.event_address.eq(events.read_address)]
        for events in self.input_lists:
            m.d.comb += events.read_index.eq(first_core.event_index)
        for core, events in zip(self.cores[1:], self.hidden_lists):
            m.d.comb += [core.event_count.eq(events.count),
                         core.event_address.eq(events.read_address),
                         events.read_index.eq(core.event_index)]
        for index, (core, events) in enumerate(zip(self.cores, self.hidden_lists)):
            m.d.comb += [events.clear.eq(core.out_clear),
                         events.push_valid.eq(core.out_valid),
                         events.push_address.eq(core.out_address)]
            with m.If(core.out_valid):
                traced = core.trace_address if isinstance(core, ConvCore) else core.out_address
                m.d.sync += [self.trace_layer.eq(index), self.trace_address.eq(traced)]
        m.d.sync += [self.trace_valid.eq(Cat(*(c.out_valid for c in self.cores[:-1])).any()),
                     self.trace_step.eq(step)]

        done = Signal()
        m.d.comb += done.eq(Cat(*(core.done for core in self.cores)).any())
        for index, core in enumerate(self.cores):
            m.d.comb += [core.phase.eq(phase), core.first.eq(first)]
            if isinstance(core, ConvCore):
                m.d.comb += core.last.eq(last)

        readout = self.cores[-1]
        classes = plan.classes
        scan = Signal(range(max(classes, 2)))
        best = Signal(signed(plan.logit_width))
        best_class = Signal(plan.class_width)
        candidate = Signal(signed(plan.logit_width))
        with m.Switch(scan):
            for c in range(classes):
                with m.Case(c):
                    m.d.comb += candidate.eq(readout.logits[c])

        m.d.comb += [self.result.payload.cls.eq(best_class),
                     self.result.payload.logits.eq(readout.logits)]

        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += encoder.enable.eq(1)
                with m.If(encoder.done):
                    m.d.sync += entry.eq(0)
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                for index, core in enumerate(self.cores):
                    m.d.comb += core.start.eq(layer == index)
                m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(done):
                    with m.If(entry == len(schedule) - 1):
                        m.d.sync += scan.eq(0)
                        m.next = "ARGMAX"
                    with m.Else():
                        m.d.sync += entry.eq(entry + 1)
                        m.next = "DISPATCH"
            with m.State("ARGMAX"):
                with m.If((scan == 0) | (candidate > best)):
                    m.d.sync += [best.eq(candidate), best_class.eq(scan)]
                m.d.sync += scan.eq(scan + 1)
                with m.If(scan == classes - 1):
                    m.next = "OUTPUT"
            with m.State("OUTPUT"):
                m.d.comb += self.result.valid.eq(1)
                with m.If(self.result.ready):
                    for events in self.input_lists:
                        m.d.comb += events.clear.eq(1)
                    m.next = "LOAD"
        return m
