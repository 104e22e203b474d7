"""The conv layer stage of the dataflow design (:class:`~.stream_plan.ConvStagePlan`)."""

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .lanes import lowest_pending
from .stream_plan import BANK_LANES, CONV_DRAIN_CYCLES, REGENERATE_DRAIN_CYCLES, ConvStagePlan
from .stream_stages import hand_over_states

__all__ = ["ConvStage", "word_address_width"]


def word_address_width(words: int) -> int:
    """Bits of an address into a double-buffered word memory of ``words`` words per image."""
    return max(1, (2 * words - 1).bit_length())


class ConvStage(wiring.Component):
    """One conv layer of IF or ASG neurons (any groups) as a stage, output-stationary, adds
    only.

    For each step ``t``, each output position ``(oy, ox)`` and each lane group ``g`` (lanes
    ``p``, output channel ``o = g * P + p``), with the window words ``w_k`` (the input
    channels spiking at ``(oy * sh + ky - ph, ox * sw + kx - pw)`` in step ``t``, none
    outside the image) read first, one per cycle::

        acc_p = sum_k sum_{c in w_k} W[o, c, ky, kx]       # KP kernel positions per cycle
        IF:  V = (0 if t == 0 else V) + acc + b;  s = V >= theta;  V = V - theta if s
        ASG: A = (0 if t == 0 else A) + acc + b; after the last step, the regeneration
             (:meth:`_regeneration`) gives the spikes of every step

    ``s`` is output word ``t * OH * OW + oy * OW + ox``, bit ``o``. Each cycle, each kernel
    lane takes the lowest pending channel of its window word and reads its weight word; the
    sums pass through a pipeline of registers (:data:`.stream_plan.CONV_DRAIN_CYCLES`), so
    a position's work overlaps the next one's. Cycles:
    :meth:`.stream_plan.ConvStagePlan.batch_cycles`.

    Attributes
    ----------
    in_addr, in_data : Out, In(C_in)
        A read port on the input bitmap: the word at ``in_addr`` arrives the next cycle
        (``in_addr`` counts both buffers unless the input is the encoder's register).
    in_full, in_release : In(1), Out(1)
        The input's hand-over (:mod:`.stream_stages`).
    out_index, out_data, out_en, out_bank : Out (word memory output)
        Output word ``out_index`` of the image, written in buffer ``out_bank``.
    out_bits : Out(T * C_out * OH * OW) (register output)
        The bitmap, bit ``t * C_out * OH * OW + o * OH * OW + oy * OW + ox``.
    out_full, out_release : Out(1), In(1)
        The output's hand-over.
    """

    def __init__(self, plan: ConvStagePlan):
        self._plan = plan
        layer = plan.layer
        in_width = (max(1, (plan.in_words - 1).bit_length()) if plan.input_register
                    else word_address_width(plan.in_words))
        members = {
            "in_addr": Out(in_width),
            "in_data": In(layer.in_shape[0]),
            "in_full": In(1),
            "in_release": Out(1),
            "out_full": Out(1),
            "out_release": In(1),
        }
        if plan.output_register:
            members["out_bits"] = Out(layer.timesteps * plan.out_bits)
        else:
            members.update({"out_index": Out(max(1, (plan.out_words - 1).bit_length())),
                            "out_data": Out(plan.word_width), "out_en": Out(1),
                            "out_bank": Out(1)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        plan, layer = self._plan, self._plan.layer
        lanes, groups, sw, ww = plan.lanes, plan.lane_groups, layer.state_width, layer.weight_width
        timesteps = layer.timesteps
        channels, height, width = layer.in_shape
        out_channels, out_h, out_w = layer.out_shape
        (kh, kw), (sh, sx), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
        positions = plan.kernel_positions
        kernel_lanes, kernel_groups = plan.kernel_lanes, plan.kernel_groups

        # weights: per kernel lane, banks of BANK_LANES lanes, each with its own address
        weight_reads = []
        for j, words in enumerate(plan.weight_memories):
            banks = []
            for first in range(0, lanes, BANK_LANES):
                bank_width = min(BANK_LANES, lanes - first) * ww
                mask = (1 << bank_width) - 1
                m.submodules[f"weights_{j}_{first // BANK_LANES}"] = bank = memory.Memory(
                    shape=unsigned(bank_width), depth=len(words),
                    init=[word >> (first * ww) & mask for word in words])
                banks.append(bank.read_port())
            weight_reads.append(banks)
        m.submodules.bias = bias_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=groups, init=plan.bias_words)
        m.submodules.threshold = threshold_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=groups, init=plan.threshold_words)
        bias_read, threshold_read = bias_rom.read_port(), threshold_rom.read_port()
        if timesteps > 1:
            m.submodules.state = state_mem = memory.Memory(
                shape=unsigned(lanes * sw), depth=groups * layer.positions, init=[])
            state_read, state_write = state_mem.read_port(), state_mem.write_port()

        # position counters and the window's input addresses (no multiplier: running sums)
        coordinate = signed(max(height, width, 2).bit_length() + 2)
        t = Signal(range(max(timesteps, 2)))
        oy, ox = Signal(range(max(out_h, 2))), Signal(range(max(out_w, 2)))
        origin_y, origin_x = Signal(coordinate), Signal(coordinate)
        address_range = signed((timesteps * height * width + 2 * width + 2).bit_length() + 2)
        row_base = Signal(address_range)   # t * H * W + origin_y * W
        step_base = Signal(address_range)  # t * H * W
        in_bank = Signal()
        k = Signal(range(positions + 1))
        offset_y, offset_x = Signal(range(max(kh, 2))), Signal(range(max(kw, 2)))
        offset = Signal(address_range)
        with m.Switch(k):
            for index in range(positions):
                with m.Case(index):
                    ky, kx = divmod(index, kw)
                    m.d.comb += [offset_y.eq(ky), offset_x.eq(kx), offset.eq(ky * width + kx)]
        iy, ix = origin_y + offset_y, origin_x + offset_x
        inside = (k < positions) & (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
        flat = Signal(address_range)
        m.d.comb += flat.eq(row_base + origin_x + offset)
        if plan.input_register:
            m.d.comb += self.in_addr.eq(flat)
        else:
            m.d.comb += self.in_addr.eq(flat + Mux(in_bank, plan.in_words, 0))
        asked_inside = Signal()
        window = Signal(positions * channels)
        captured = Mux(asked_inside, self.in_data, 0)

        # the work of one (lane group, kernel group): the pending channels of each kernel lane
        group = Signal(range(max(groups, 2)))
        kgroup = Signal(range(max(kernel_groups, 2)))
        weight_base = Signal(range(max(len(plan.weight_memories[0]), 2)))
        item_start = Signal()
        pending = [Signal(channels, name=f"pending_{j}") for j in range(kernel_lanes)]
        current, lowest, remaining = [], [], []
        for j in range(kernel_lanes):
            fresh = Signal(channels, name=f"fresh_{j}")
            with m.Switch(kgroup):
                for g in range(kernel_groups):
                    index = g * kernel_lanes + j
                    if index < positions:
                        with m.Case(g):
                            m.d.comb += fresh.eq(window[index * channels:(index + 1) * channels])
            now = Signal(channels, name=f"current_{j}")
            m.d.comb += now.eq(Mux(item_start, fresh, pending[j]))
            low, rest = lowest_pending(m, now, channels)
            current.append(now)
            lowest.append(low)
            remaining.append(rest)
        item_done = Cat(*(rest == 0 for rest in remaining)).all()

        # output and state indices: a running count of positions and of (position, group)
        out_index = Signal(range(max(plan.out_words, 2)))
        state_index = Signal(range(max(groups * layer.positions, 2)))

        # the pipeline, stage by stage: a (addresses) -> b (block RAM) -> c (weights) ->
        # d (sum of kernel lanes) -> e (accumulator) -> f (fire) -> g (write)
        issue = Signal()
        valid_a = Signal(kernel_lanes)
        tags = ["end", "first", "last_group"]
        tag_a = {name: Signal(name=f"{name}_a") for name in tags}
        group_a = Signal.like(group)
        index_a, state_a = Signal.like(out_index), Signal.like(state_index)
        for j, banks in enumerate(weight_reads):
            for b, bank in enumerate(banks):
                address = Signal(len(bank.addr), name=f"address_{j}_{b}", attrs={"keep": 1})
                m.d.sync += address.eq(weight_base + lowest[j])
                m.d.comb += bank.addr.eq(address)
        m.d.sync += valid_a.eq(Cat(*((now != 0) & issue for now in current)))
        with m.If(issue):
            m.d.sync += [tag_a["end"].eq(item_done & (kgroup == kernel_groups - 1)),
                         tag_a["first"].eq(t == 0),
                         tag_a["last_group"].eq(group == groups - 1),
                         group_a.eq(group), index_a.eq(out_index), state_a.eq(state_index)]
        with m.Else():
            m.d.sync += tag_a["end"].eq(0)

        def delay(signals: dict, suffix: str) -> dict:
            out = {}
            for name, value in signals.items():
                out[name] = Signal.like(value, name=f"{name.rsplit('_', 1)[0]}_{suffix}")
                m.d.sync += out[name].eq(value)
            return out

        stage_a = {"valid": valid_a, **tag_a, "group": group_a, "index": index_a,
                   "state": state_a}
        stage_b = delay(stage_a, "b")
        words = [Cat(*(bank.data for bank in banks)) for banks in weight_reads]
        weights_c = [[Signal(signed(ww), name=f"w_{j}_{p}") for p in range(lanes)]
                     for j in range(kernel_lanes)]
        for j in range(kernel_lanes):
            m.d.sync += [weights_c[j][p].eq(Mux(stage_b["valid"][j],
                                                words[j][p * ww:(p + 1) * ww].as_signed(), 0))
                         for p in range(lanes)]
        stage_c = delay({name: stage_b[name] for name in stage_b if name != "valid"}, "c")
        sums = [Signal(signed(sw), name=f"sum_{p}") for p in range(lanes)]
        m.d.sync += [sums[p].eq(sum(weights_c[j][p] for j in range(kernel_lanes)))
                     for p in range(lanes)]
        stage_d = delay(stage_c, "d")
        acc = [Signal(signed(sw), name=f"acc_{p}") for p in range(lanes)]
        total = [Signal(signed(sw), name=f"total_{p}") for p in range(lanes)]
        with m.If(stage_d["end"]):
            m.d.sync += [total[p].eq(acc[p] + sums[p]) for p in range(lanes)]
            m.d.sync += [a.eq(0) for a in acc]
        with m.Else():
            m.d.sync += [acc[p].eq(acc[p] + sums[p]) for p in range(lanes)]
        m.d.comb += [bias_read.addr.eq(stage_d["group"]),
                     threshold_read.addr.eq(stage_d["group"])]
        stage_e = delay({name: stage_d[name] for name in
                         ("end", "first", "last_group", "group", "index", "state")}, "e")
        bias = [bias_read.data[p * sw:(p + 1) * sw].as_signed() for p in range(lanes)]
        threshold = [threshold_read.data[p * sw:(p + 1) * sw].as_signed() for p in range(lanes)]
        if timesteps > 1:
            m.d.comb += state_read.addr.eq(stage_d["state"])  # the regeneration's, below
            previous = [Mux(stage_e["first"], 0, state_read.data[p * sw:(p + 1) * sw].as_signed())
                        for p in range(lanes)]
        else:
            previous = [Const(0, signed(sw))] * lanes
        charged = [Signal(signed(sw), name=f"charged_{p}") for p in range(lanes)]
        m.d.comb += [charged[p].eq(total[p] + bias[p] + previous[p]) for p in range(lanes)]
        spikes = Cat(*(charged[p] >= threshold[p] for p in range(lanes)))
        spike_word = Signal(groups * lanes)
        write_pending, write_index = Signal(), Signal.like(out_index)
        m.d.sync += write_pending.eq(0)
        regenerate = plan.regenerates
        with m.If(stage_e["end"]):
            if timesteps > 1:
                kept = charged if regenerate else [
                    Mux(spikes[p], charged[p] - threshold[p], charged[p]) for p in range(lanes)]
                m.d.comb += [state_write.addr.eq(stage_e["state"]), state_write.en.eq(1),
                             state_write.data.eq(Cat(*(v[:sw] for v in kept)))]
            if not regenerate:
                self._collect(m, spike_word, stage_e["group"], spikes, lanes, groups)
                m.d.sync += [write_pending.eq(stage_e["last_group"]),
                             write_index.eq(stage_e["index"])]
        if regenerate:
            regeneration = self._regeneration(m, state_read, threshold_read, threshold,
                                              spike_word, write_pending, write_index)
        out_bank = Signal()
        if plan.output_register:
            bitmap = Signal(timesteps * plan.out_bits)
            per_step = layer.positions
            with m.If(write_pending):
                with m.Switch(write_index):
                    for step in range(timesteps):
                        for position in range(per_step):
                            with m.Case(step * per_step + position):
                                m.d.sync += [
                                    bitmap[step * plan.out_bits + o * per_step + position]
                                    .eq(spike_word[o]) for o in range(out_channels)]
        else:
            m.d.comb += [self.out_en.eq(write_pending), self.out_index.eq(write_index),
                         self.out_data.eq(spike_word[:out_channels]),
                         self.out_bank.eq(out_bank)]

        # control: window, then the (lane group, kernel group) items of each position
        drain = Signal(range(CONV_DRAIN_CYCLES + 1))
        with m.If(self.out_release):
            m.d.sync += self.out_full.eq(0)

        def hand_over():
            if plan.output_register:
                m.d.sync += self.out_bits.eq(bitmap)
            else:
                m.d.sync += out_bank.eq(~out_bank)
            m.d.sync += self.out_full.eq(1)

        def next_position():
            """Advance (ox, oy, t) and the running sums that follow them."""
            m.d.sync += [k.eq(0), out_index.eq(out_index + 1)]
            with m.If(ox == out_w - 1):
                m.d.sync += [ox.eq(0), origin_x.eq(-pw)]
                with m.If(oy == out_h - 1):
                    m.d.sync += [oy.eq(0), origin_y.eq(-ph), t.eq(t + 1), state_index.eq(0),
                                 step_base.eq(step_base + height * width),
                                 row_base.eq(step_base + height * width - ph * width)]
                with m.Else():
                    m.d.sync += [oy.eq(oy + 1), origin_y.eq(origin_y + sh),
                                 row_base.eq(row_base + sh * width)]
            with m.Else():
                m.d.sync += [ox.eq(ox + 1), origin_x.eq(origin_x + sx)]

        last_position = (t == timesteps - 1) & (oy == out_h - 1) & (ox == out_w - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.in_full):
                    m.d.sync += [t.eq(0), oy.eq(0), ox.eq(0), origin_y.eq(-ph),
                                 origin_x.eq(-pw), step_base.eq(0), row_base.eq(-ph * width),
                                 k.eq(0), out_index.eq(0), state_index.eq(0)]
                    m.next = "WINDOW"
            with m.State("WINDOW"):
                m.d.sync += [asked_inside.eq(inside), k.eq(k + 1)]
                with m.If(k != 0):
                    m.d.sync += window.eq(Cat(window[channels:], captured)
                                          if positions > 1 else captured)
                with m.If(k == positions):
                    m.d.sync += [group.eq(0), kgroup.eq(0), weight_base.eq(0),
                                 item_start.eq(1)]
                    m.next = "ITEM"
            with m.State("ITEM"):
                m.d.comb += issue.eq(1)
                m.d.sync += [pending[j].eq(remaining[j]) for j in range(kernel_lanes)]
                m.d.sync += item_start.eq(0)
                with m.If(item_done):
                    m.d.sync += item_start.eq(1)
                    with m.If((kgroup == kernel_groups - 1) & (group == groups - 1)):
                        m.d.sync += state_index.eq(state_index + 1)
                        next_position()
                        with m.If(last_position):
                            m.d.sync += drain.eq(0)
                            m.next = "DRAIN"
                        with m.Else():
                            m.next = "WINDOW"
                    with m.Else():
                        m.d.sync += weight_base.eq(weight_base + channels)
                        with m.If(kgroup == kernel_groups - 1):
                            m.d.sync += [kgroup.eq(0), group.eq(group + 1),
                                         state_index.eq(state_index + 1)]
                        with m.Else():
                            m.d.sync += kgroup.eq(kgroup + 1)
            with m.State("DRAIN"):
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == CONV_DRAIN_CYCLES - 1):
                    m.next = "REGENERATE" if regenerate else "DONE"
            if regenerate:
                regeneration(drain)
            hand_over_states(m, self, hand_over)
        with m.If(self.in_release):
            m.d.sync += in_bank.eq(~in_bank)
        return m

    @staticmethod
    def _collect(m, spike_word, group, spikes, lanes: int, groups: int) -> None:
        """Put lane group ``group``'s ``spikes`` into the output word being assembled."""
        with m.Switch(group):
            for g in range(groups):
                with m.Case(g):
                    m.d.sync += spike_word[g * lanes:(g + 1) * lanes].eq(spikes)

    def _regeneration(self, m, state_read, threshold_read, threshold, spike_word,
                      write_pending, write_index):
        """The ASG regeneration, after the last step's accumulation: for each step ``s``,
        output position ``q`` and lane group ``g`` (one per cycle, the state ``A`` and the
        potential ``U`` read the cycle before)::

            U = (0 if s == 0 else U) + A;  spike = U >= T*theta;  U = U - T*theta if spike

        ``spike`` is output word ``s * OH * OW + q``, bit ``g * P + p``. Returns the states'
        builder (``REGENERATE``, then ``REGENERATE_DRAIN``, then ``DONE``)."""
        plan, layer = self._plan, self._plan.layer
        lanes, groups, sw = plan.lanes, plan.lane_groups, layer.state_width
        items = groups * layer.positions
        m.submodules.potential = potential = memory.Memory(
            shape=unsigned(lanes * sw), depth=items, init=[])
        potential_write = potential.write_port()
        potential_read = potential.read_port(transparent_for=(potential_write,))
        item = Signal(range(max(items, 2)))
        group = Signal(range(max(groups, 2)))
        step = Signal(range(max(layer.timesteps, 2)))
        word = Signal.like(write_index)
        issue = Signal()
        tags = {"valid": Signal(1), "first": Signal(1), "last_group": Signal(1),
                "group": Signal.like(group), "item": Signal.like(item), "word": Signal.like(word)}
        m.d.sync += tags["valid"].eq(0)
        with m.If(issue):
            m.d.comb += [state_read.addr.eq(item), threshold_read.addr.eq(group)]
            m.d.sync += [tags["valid"].eq(1), tags["first"].eq(step == 0),
                         tags["last_group"].eq(group == groups - 1), tags["group"].eq(group),
                         tags["item"].eq(item), tags["word"].eq(word)]
        m.d.comb += potential_read.addr.eq(item)
        total = [state_read.data[p * sw:(p + 1) * sw].as_signed() for p in range(lanes)]
        potentials = [Signal(signed(sw), name=f"potential_{p}") for p in range(lanes)]
        m.d.comb += [potentials[p].eq(
            Mux(tags["first"], 0, potential_read.data[p * sw:(p + 1) * sw].as_signed())
            + total[p]) for p in range(lanes)]
        spikes = Cat(*(potentials[p] >= threshold[p] for p in range(lanes)))
        with m.If(tags["valid"]):
            m.d.comb += [potential_write.addr.eq(tags["item"]), potential_write.en.eq(1),
                         potential_write.data.eq(Cat(*(
                             Mux(spikes[p], potentials[p] - threshold[p], potentials[p])[:sw]
                             for p in range(lanes))))]
            self._collect(m, spike_word, tags["group"], spikes, lanes, groups)
            m.d.sync += [write_pending.eq(tags["last_group"]), write_index.eq(tags["word"])]

        def states(drain):
            with m.State("REGENERATE"):
                m.d.comb += issue.eq(1)
                with m.If(group == groups - 1):
                    m.d.sync += [group.eq(0), word.eq(word + 1)]
                with m.Else():
                    m.d.sync += group.eq(group + 1)
                with m.If(item == items - 1):
                    m.d.sync += [item.eq(0), step.eq(step + 1)]
                    with m.If(step == layer.timesteps - 1):
                        m.d.sync += drain.eq(0)
                        m.next = "REGENERATE_DRAIN"
                with m.Else():
                    m.d.sync += item.eq(item + 1)
            with m.State("REGENERATE_DRAIN"):
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == REGENERATE_DRAIN_CYCLES - 1):
                    m.d.sync += [item.eq(0), group.eq(0), step.eq(0), word.eq(0)]
                    m.next = "DONE"
        return states
