"""The event-driven, accumulator-only dense layer core (IF, ASG or readout)."""

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from spikewright.golden.ir import Neuron

from .lanes import lowest_pending
from .plan import DenseLayerPlan, counter_width

__all__ = ["DenseCore"]


class DenseCore(wiring.Component):
    """One dense layer, ``P`` lanes (neurons) per cycle, driven one time step at a time.

    The ``N`` neurons form ``G = ceil(N / P)`` groups. For each group ``g`` of a step with
    input events ``e_0 .. e_{E-1}`` (addresses of the inputs that spiked)::

        acc_p = sum_k W[g*P + p, e_k]           # one weight word per event: adds only
        IF      (phase 0): V = V + acc + b;  s = V >= theta;   V = V - theta   if s
        ASG     (phase 0): A = A + acc + b
        ASG     (phase 1): U = U + A;        s = U >= T*theta; U = U - T*theta if s
        readout (phase 0): L = L + acc + b

    A spike selects a weight word to add; there is no multiplier. The stored state counts as
    zero on the ``first`` step of a window. Each spike of the group is then pushed to the
    output event list, one per cycle, lowest lane first.

    Cycles of one step, from ``start`` to ``done`` inclusive::

        1 + sum_g (2 + (E + 1 if E > 0 else 0) + S_g)

    with ``S_g`` the spikes of group ``g`` (phase 1 has no input events: ``E = 0``).

    Attributes
    ----------
    start : In(1)
        Begin a step with ``phase``, ``first`` and ``event_count`` (sampled this cycle).
    done : Out(1)
        High in the step's last cycle.
    event_index : Out
        Index into the input event list; its ``event_address`` arrives one cycle later.
    out_clear, out_valid, out_address : Out
        Output events (hidden layers): clear the list at a step's start, then push.
    logits : Out(ArrayLayout(signed(state_width), N))
        The readout's accumulators (readout only).
    """

    def __init__(self, plan: DenseLayerPlan, *, event_count_width: int):
        self._plan = plan
        self._count_width = event_count_width
        self._out_address_width = counter_width(plan.out_features - 1)
        members = {
            "start": In(1),
            "phase": In(1),
            "first": In(1),
            "event_count": In(event_count_width),
            "done": Out(1),
            "event_index": Out(event_count_width),
            "event_address": In(plan.address_width),
        }
        if plan.neuron is Neuron.NONE:
            members["logits"] = Out(data.ArrayLayout(signed(plan.state_width),
                                                     plan.out_features))
        else:
            members.update({"out_clear": Out(1), "out_valid": Out(1),
                            "out_address": Out(self._out_address_width)})
        super().__init__(members)

    @property
    def plan(self):
        return self._plan

    def _lane(self, word, p):
        width = self._plan.state_width
        return word[p * width:(p + 1) * width].as_signed()

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        lanes, groups, sw, ww = plan.lanes, plan.groups, plan.state_width, plan.weight_width
        readout = plan.neuron is Neuron.NONE
        asg = plan.neuron is Neuron.ASG

        m.submodules.weights = weights = memory.Memory(
            shape=unsigned(lanes * ww), depth=len(plan.weight_words), init=plan.weight_words)
        m.submodules.bias = bias_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=groups, init=plan.bias_words)
        weight_read = weights.read_port()
        bias_read = bias_rom.read_port()
        if not readout:
            m.submodules.threshold = threshold_rom = memory.Memory(
                shape=unsigned(lanes * sw), depth=groups, init=plan.threshold_words)
            threshold_read = threshold_rom.read_port()
            m.submodules.state = state_mem = memory.Memory(
                shape=unsigned(lanes * sw), depth=groups, init=[])
            state_read, state_write = state_mem.read_port(), state_mem.write_port()
        if asg:
            m.submodules.regen = regen_mem = memory.Memory(
                shape=unsigned(lanes * sw), depth=groups, init=[])
            regen_read, regen_write = regen_mem.read_port(), regen_mem.write_port()

        phase, first = Signal(), Signal()
        count = Signal(self._count_width)
        group = Signal(range(max(groups, 2)))
        weight_base = Signal(range(max(len(plan.weight_words), 2)))
        lane_base = Signal(range(max(groups * lanes, 2)))
        k = Signal(self._count_width)
        acc = [Signal(signed(sw), name=f"acc_{p}") for p in range(lanes)]
        pending = Signal(lanes)
        last_group = group == groups - 1

        m.d.comb += [weight_read.addr.eq(weight_base + self.event_address),
                     bias_read.addr.eq(group)]
        if not readout:
            m.d.comb += [threshold_read.addr.eq(group), state_read.addr.eq(group),
                         state_write.addr.eq(group)]
        if asg:
            m.d.comb += [regen_read.addr.eq(group), regen_write.addr.eq(group)]

        # the state of lane p before this step's update (zero on the first step of a window)
        if readout:
            previous = [Signal(signed(sw), name=f"prev_{p}") for p in range(lanes)]
            with m.Switch(group):
                for g in range(groups):
                    with m.Case(g):
                        for p in range(lanes):
                            if g * lanes + p < plan.out_features:
                                m.d.comb += previous[p].eq(self.logits[g * lanes + p])
        else:
            previous = [self._lane(state_read.data, p) for p in range(lanes)]
        previous = [Mux(first, 0, v) for v in previous]
        bias = [self._lane(bias_read.data, p) for p in range(lanes)]

        integrated = [Signal(signed(sw), name=f"integrated_{p}") for p in range(lanes)]
        m.d.comb += [integrated[p].eq(previous[p] + acc[p] + bias[p]) for p in range(lanes)]
        spikes = Signal(lanes)
        new_state = [Signal(signed(sw), name=f"new_{p}") for p in range(lanes)]
        if not readout:
            threshold = [self._lane(threshold_read.data, p) for p in range(lanes)]
        if plan.neuron is Neuron.IF:
            for p in range(lanes):
                m.d.comb += [spikes[p].eq(integrated[p] >= threshold[p]),
                             new_state[p].eq(Mux(spikes[p], integrated[p] - threshold[p],
                                                 integrated[p]))]
        elif asg:
            regenerated = [Signal(signed(sw), name=f"regen_{p}") for p in range(lanes)]
            for p in range(lanes):
                accumulated = self._lane(state_read.data, p)
                u = Mux(first, 0, self._lane(regen_read.data, p)) + accumulated
                m.d.comb += [regenerated[p].eq(u),
                             spikes[p].eq(phase & (regenerated[p] >= threshold[p])),
                             new_state[p].eq(Mux(spikes[p], regenerated[p] - threshold[p],
                                                 regenerated[p]))]

        lowest, remaining = lowest_pending(m, pending, lanes)

        def next_group():
            with m.If(last_group):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
            with m.Else():
                m.d.sync += [group.eq(group + 1),
                             weight_base.eq(weight_base + plan.in_features),
                             lane_base.eq(lane_base + lanes)]
                m.next = "LOAD"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [phase.eq(self.phase), first.eq(self.first),
                                 count.eq(Mux(self.phase, 0, self.event_count)),
                                 group.eq(0), weight_base.eq(0), lane_base.eq(0)]
                    if not readout:
                        produces = self.phase if asg else 1
                        m.d.comb += self.out_clear.eq(produces)
                    m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += self.event_index.eq(0)
                m.d.sync += [k.eq(0)] + [a.eq(0) for a in acc]
                with m.If(count != 0):
                    m.next = "ACCUMULATE"
                with m.Else():
                    m.next = "FIRE"
            with m.State("ACCUMULATE"):
                m.d.comb += self.event_index.eq(k + 1)
                m.d.sync += k.eq(k + 1)
                with m.If(k != 0):
                    m.d.sync += [acc[p].eq(acc[p] + weight_read.data[p * ww:(p + 1) * ww]
                                           .as_signed()) for p in range(lanes)]
                with m.If(k == count):
                    m.next = "FIRE"
            with m.State("FIRE"):
                if readout:
                    with m.Switch(group):
                        for g in range(groups):
                            with m.Case(g):
                                for p in range(lanes):
                                    if g * lanes + p < plan.out_features:
                                        m.d.sync += self.logits[g * lanes + p].eq(integrated[p])
                    next_group()
                else:
                    if asg:
                        with m.If(phase):
                            m.d.comb += [regen_write.en.eq(1),
                                         regen_write.data.eq(Cat(*new_state))]
                        with m.Else():
                            m.d.comb += [state_write.en.eq(1),
                                         state_write.data.eq(Cat(*integrated))]
                    else:
                        m.d.comb += [state_write.en.eq(1), state_write.data.eq(Cat(*new_state))]
                    m.d.sync += pending.eq(spikes)
                    with m.If(spikes != 0):
                        m.next = "EMIT"
                    with m.Else():
                        next_group()
            if not readout:
                with m.State("EMIT"):
                    m.d.comb += [self.out_valid.eq(1),
                                 self.out_address.eq(lane_base + lowest)]
                    m.d.sync += pending.eq(remaining)
                    with m.If(remaining == 0):
                        next_group()
        return m
