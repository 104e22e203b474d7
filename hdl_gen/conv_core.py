"""The event-driven, accumulator-only conv2d layer core (IF or ASG)."""

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from spikewright.golden.ir import Neuron

from .lanes import lowest_pending
from .plan import ConvLayerPlan, counter_width

__all__ = ["ConvCore"]


class ConvCore(wiring.Component):
    """One conv2d layer, ``P`` output channels per cycle, one time step at a time.

    Scatter: each input event ``(c, y, x)`` adds, for every lane group ``lg`` of its conv
    group and every ``(ky, oy)``, ``(kx, ox)`` it reaches (``oy = (y + ph - ky) / sh``), one
    weight word into one membrane word::

        V[lg, oy, ox][p] += W[o(lg, p), c_local, ky, kx]            (adds only)

    Fire pass, over every membrane word after the events of the step::

        IF      (phase 0): V += b;  s = V >= theta;   V -= theta   if s
        ASG     (phase 0): A += b
        ASG     (phase 1): U += A;  s = U >= T*theta; U -= T*theta if s

    State is cleared on the ``last`` step of its window, so the next image starts at zero.
    Spikes leave as events, one per cycle: packed ``(x, y, channel)`` fields when a conv
    layer follows, a flat C, H, W index when a dense layer does (through flatten); events
    are addresses, not bitmaps, because the next layer's work then scales with the spikes
    and the cycle model counts them exactly.

    The membrane read port is transparent to the write port, so back-to-back updates of the
    same word see each other. Cycles of one step, ``start`` to ``done`` inclusive::

        1 + sum over events (2 + U_e) + 2 * words + S

    with ``U_e = lane_groups * |rows(y)| * |cols(x)|`` the words one event updates,
    ``words = groups * lane_groups * OH * OW`` and ``S`` the spikes emitted.
    """

    def __init__(self, plan: ConvLayerPlan, *, event_count_width: int):
        self._plan = plan
        self._count_width = event_count_width
        self._flat_width = counter_width(plan.neurons - 1)
        out_width = plan.output.total_width if plan.output is not None else self._flat_width
        super().__init__({
            "start": In(1), "phase": In(1), "first": In(1), "last": In(1),
            "event_count": In(event_count_width),
            "done": Out(1),
            "event_index": Out(event_count_width),
            "event_address": In(plan.input.total_width),
            "out_clear": Out(1), "out_valid": Out(1), "out_address": Out(out_width),
            "trace_address": Out(self._flat_width),
        })

    @property
    def plan(self):
        return self._plan

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        lanes, sw, ww = plan.lanes, plan.state_width, plan.weight_width
        words = plan.groups * plan.positions
        asg = plan.neuron is Neuron.ASG
        out_c, out_h, out_w = plan.out_shape

        m.submodules.weights = weights = memory.Memory(
            shape=unsigned(lanes * ww), depth=len(plan.weight_words), init=plan.weight_words)
        m.submodules.bias = bias_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=plan.groups, init=plan.bias_words)
        m.submodules.threshold = threshold_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=plan.groups, init=plan.threshold_words)
        m.submodules.state = state_mem = memory.Memory(
            shape=unsigned(lanes * sw), depth=words, init=[])
        weight_read, bias_read, threshold_read = (weights.read_port(), bias_rom.read_port(),
                                                  threshold_rom.read_port())
        state_write = state_mem.write_port()
        state_read = state_mem.read_port(transparent_for=(state_write,))
        if asg:
            m.submodules.regen = regen_mem = memory.Memory(
                shape=unsigned(lanes * sw), depth=words, init=[])
            regen_write = regen_mem.write_port()
            regen_read = regen_mem.read_port()

        lane = lambda word, p, width: word[p * width:(p + 1) * width].as_signed()

        phase, last = Signal(), Signal()
        count = Signal(self._count_width)
        index = Signal(self._count_width)
        fmt = plan.input
        ev_x = self.event_address[:fmt.x_width]
        ev_y = self.event_address[fmt.x_width:fmt.x_width + fmt.y_width]
        ev_c = self.event_address[fmt.x_width + fmt.y_width:]
        y_reg, x_reg = Signal(fmt.y_width), Signal(fmt.x_width)
        decoding = Signal()
        y_src = Mux(decoding, ev_y, y_reg)
        x_src = Mux(decoding, ev_x, x_reg)
        max_rows = max(1, max(len(r) for r in plan.row_rom))
        max_cols = max(1, max(len(c) for c in plan.col_rom))
        j, jj = Signal(range(max_rows + 1)), Signal(range(max_cols + 1))
        rows, cols = Signal(range(max_rows + 1)), Signal(range(max_cols + 1))
        ky_off = Signal(range(max(plan.kernel_volume, 2)))
        oy_off = Signal(range(max(plan.positions, 2)))
        kx, ox = Signal(range(max(plan.kernel_size[1], 2))), Signal(range(max(out_w, 2)))
        with m.Switch(y_src):
            for y, entries in enumerate(plan.row_rom):
                with m.Case(y):
                    m.d.comb += rows.eq(len(entries))
                    with m.Switch(j):
                        for n, (a, b) in enumerate(entries):
                            with m.Case(n):
                                m.d.comb += [ky_off.eq(a), oy_off.eq(b)]
        with m.Switch(x_src):
            for x, entries in enumerate(plan.col_rom):
                with m.Case(x):
                    m.d.comb += cols.eq(len(entries))
                    with m.Switch(jj):
                        for n, (a, b) in enumerate(entries):
                            with m.Case(n):
                                m.d.comb += [kx.eq(a), ox.eq(b)]
        weight_base = Signal(range(max(len(plan.weight_words), 2)))
        state_base = Signal(range(max(words, 2)))
        channel_weight, channel_state = Signal.like(weight_base), Signal.like(state_base)
        with m.Switch(ev_c):
            for c, (wb, mb) in enumerate(plan.channel_rom):
                with m.Case(c):
                    m.d.comb += [channel_weight.eq(wb), channel_state.eq(mb)]
        lane_group = Signal(range(max(plan.lane_groups, 2)))

        # write-back stage of the scatter pipeline (one cycle after each update is issued)
        write_back = Signal()
        write_address = Signal.like(state_base)

        # fire pass counters
        word = Signal(range(max(words, 2)))
        group = Signal(range(max(plan.groups, 2)))
        position = Signal(range(max(plan.positions, 2)))
        oy, ox_f = Signal(range(max(out_h, 2))), Signal(range(max(out_w, 2)))
        pending = Signal(lanes)
        lowest, remaining = lowest_pending(m, pending, lanes)

        m.d.comb += [bias_read.addr.eq(group), threshold_read.addr.eq(group)]
        if asg:
            m.d.comb += [regen_read.addr.eq(word), regen_write.addr.eq(word)]

        with m.If(write_back):
            m.d.comb += [state_write.addr.eq(write_address), state_write.en.eq(1),
                         state_write.data.eq(Cat(*(
                             (lane(state_read.data, p, sw) + lane(weight_read.data, p, ww))[:sw]
                             for p in range(lanes))))]
        m.d.sync += write_back.eq(0)

        bias = [lane(bias_read.data, p, sw) for p in range(lanes)]
        threshold = [lane(threshold_read.data, p, sw) for p in range(lanes)]
        stored = [lane(state_read.data, p, sw) for p in range(lanes)]
        spikes = Signal(lanes)
        new_state = [Signal(signed(sw), name=f"new_{p}") for p in range(lanes)]
        written = Signal(lanes * sw)
        if asg:
            regen = [Signal(signed(sw), name=f"regen_{p}") for p in range(lanes)]
            for p in range(lanes):
                m.d.comb += [regen[p].eq(lane(regen_read.data, p, sw) + stored[p]),
                             spikes[p].eq(phase & (regen[p] >= threshold[p])),
                             new_state[p].eq(Mux(spikes[p], regen[p] - threshold[p], regen[p]))]
        else:
            for p in range(lanes):
                integrated = stored[p] + bias[p]
                m.d.comb += [spikes[p].eq(integrated >= threshold[p]),
                             new_state[p].eq(Mux(spikes[p], integrated - threshold[p],
                                                 integrated))]

        # output event of the lowest pending lane
        channel = Signal(range(max(out_c, 2)))
        flat_channel = Signal(self._flat_width)
        with m.Switch(group):
            for g, first_channel in enumerate(plan.lane_channel):
                with m.Case(g):
                    m.d.comb += [channel.eq(first_channel + lowest),
                                 flat_channel.eq(first_channel * plan.positions)]
        lane_offset = Signal(self._flat_width)
        with m.Switch(lowest):
            for p in range(lanes):
                with m.Case(p):
                    m.d.comb += lane_offset.eq(p * plan.positions)
        m.d.comb += self.trace_address.eq(flat_channel + lane_offset + position)
        if plan.output is not None:
            m.d.comb += self.out_address.eq(Cat(ox_f[:plan.output.x_width],
                                                oy[:plan.output.y_width],
                                                channel[:plan.output.c_width]))
        else:
            m.d.comb += self.out_address.eq(self.trace_address)

        def next_word():
            with m.If(word == words - 1):
                m.d.comb += self.done.eq(1)
                m.next = "IDLE"
            with m.Else():
                m.d.sync += word.eq(word + 1)
                with m.If(position == plan.positions - 1):
                    m.d.sync += [position.eq(0), oy.eq(0), ox_f.eq(0), group.eq(group + 1)]
                with m.Else():
                    m.d.sync += position.eq(position + 1)
                    with m.If(ox_f == out_w - 1):
                        m.d.sync += [ox_f.eq(0), oy.eq(oy + 1)]
                    with m.Else():
                        m.d.sync += ox_f.eq(ox_f + 1)
                m.next = "FIRE_LOAD"

        def start_fire():
            m.d.sync += [word.eq(0), group.eq(0), position.eq(0), oy.eq(0), ox_f.eq(0)]
            m.next = "FIRE_LOAD"

        def next_event():
            with m.If(index + 1 < count):
                m.d.sync += index.eq(index + 1)
                m.next = "FETCH"
            with m.Else():
                start_fire()

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [phase.eq(self.phase), last.eq(self.last), index.eq(0),
                                 count.eq(Mux(self.phase, 0, self.event_count))]
                    m.d.comb += self.out_clear.eq(self.phase if asg else 1)
                    with m.If(~self.phase & (self.event_count != 0)):
                        m.next = "FETCH"
                    with m.Else():
                        start_fire()
            with m.State("FETCH"):
                m.d.comb += self.event_index.eq(index)
                m.next = "DECODE"
            with m.State("DECODE"):
                m.d.comb += decoding.eq(1)
                m.d.sync += [y_reg.eq(ev_y), x_reg.eq(ev_x), j.eq(0), jj.eq(0),
                             lane_group.eq(0), weight_base.eq(channel_weight),
                             state_base.eq(channel_state)]
                with m.If((rows == 0) | (cols == 0)):
                    next_event()
                with m.Else():
                    m.next = "UPDATE"
            with m.State("UPDATE"):
                address = state_base + oy_off + ox
                m.d.comb += [state_read.addr.eq(address),
                             weight_read.addr.eq(weight_base + ky_off + kx)]
                m.d.sync += [write_back.eq(1), write_address.eq(address)]
                with m.If(jj + 1 < cols):
                    m.d.sync += jj.eq(jj + 1)
                with m.Else():
                    m.d.sync += jj.eq(0)
                    with m.If(j + 1 < rows):
                        m.d.sync += j.eq(j + 1)
                    with m.Else():
                        m.d.sync += j.eq(0)
                        with m.If(lane_group + 1 < plan.lane_groups):
                            m.d.sync += [lane_group.eq(lane_group + 1),
                                         weight_base.eq(weight_base + plan.kernel_volume),
                                         state_base.eq(state_base + plan.positions)]
                        with m.Else():
                            next_event()
            with m.State("FIRE_LOAD"):
                m.d.comb += state_read.addr.eq(word)
                m.next = "FIRE"
            with m.State("FIRE"):
                m.d.comb += state_read.addr.eq(word)
                if asg:
                    with m.If(phase):
                        m.d.comb += [regen_write.en.eq(1),
                                     regen_write.data.eq(Mux(last, 0, Cat(*new_state)))]
                        with m.If(last):
                            m.d.comb += [state_write.addr.eq(word), state_write.en.eq(1),
                                         state_write.data.eq(0)]
                    with m.Else():
                        m.d.comb += [state_write.addr.eq(word), state_write.en.eq(1),
                                     state_write.data.eq(Cat(*((stored[p] + bias[p])[:sw]
                                                               for p in range(lanes))))]
                else:
                    m.d.comb += [state_write.addr.eq(word), state_write.en.eq(1),
                                 state_write.data.eq(Mux(last, 0, Cat(*new_state)))]
                m.d.sync += pending.eq(spikes)
                with m.If(spikes != 0):
                    m.next = "EMIT"
                with m.Else():
                    next_word()
            with m.State("EMIT"):
                m.d.comb += self.out_valid.eq(1)
                m.d.sync += pending.eq(remaining)
                with m.If(remaining == 0):
                    next_word()
        return m
