"""The conv layer stage of the dataflow design (:class:`spikewright.hdl_gen.stream_plan.ConvStagePlan`)."""

from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..stream_plan import PIECE_CHOICE, REGENERATE_DRAIN_CYCLES, WINDOW_LATENCY, ConvStagePlan
from .hand_over import hand_over_states, word_address_width
from .lanes import at_most_one, lowest_set
from .neuron import charge, fire, lanes_of, regenerate, reset
from .replicas import CLEAR_LANES, replicas

#: Window bits shifted under one copy of ``arriving`` (:meth:`ConvStage._window`).
WINDOW_BITS = 64

__all__ = ["ConvStage"]


class ConvStage(wiring.Component):
    """One conv layer of IF or ASG neurons (any groups) as a stage, output-stationary, adds
    only.

    For each step ``t``, each output position ``(oy, ox)`` and each lane group ``g`` (lanes
    ``p``, output channel ``o = g * P + p``), with the window words ``w_k`` (the input
    channels spiking at ``(oy * sh + ky - ph, ox * sw + kx - pw)`` in step ``t``, none
    outside the image) read first, one per cycle::

        acc_p = sum_k sum_{c in w_k} W[o, c, ky, kx]       # KP kernel positions x E per cycle
        IF:  V = (0 if t == 0 else V) + acc + b;  s = V >= theta;  V = V - theta if s
        ASG: A = (0 if t == 0 else A) + acc + b; after the last step, the regeneration
             (:meth:`_regeneration`) gives the spikes of every step

    ``s`` is output word ``t * OH * OW + oy * OW + ox``, bit ``o``. The window is a shift
    register of words in column order (slot ``kx * KH + ky``): after the first position of
    a row only the columns the window moved onto are read, and the others shift over
    (:func:`spikewright.hdl_gen.stream_plan.window_reads`). Each cycle, each kernel
    lane takes the lowest pending channel of each residue class (modulo the plan's
    ``events``, ``E``) of its window word and reads its weight word from that class's
    memory; the sums pass through a pipeline of registers
    (:func:`spikewright.hdl_gen.stream_plan.conv_drain_cycles`), so a position's work
    overlaps the next one's. Cycles:
    :meth:`spikewright.hdl_gen.stream_plan.ConvStagePlan.batch_cycles`.

    Attributes
    ----------
    in_addr, in_data : Out, In(C_in)
        A read port on the input bitmap: the word at ``in_addr`` arrives the next cycle
        (``in_addr`` counts both buffers unless the input is the encoder's register, whose
        address is a register here).
    in_full, in_release : In(1), Out(1)
        The input's hand-over (:mod:`.hand_over`).
    out_index, out_data, out_en, out_bank : Out
        Output word ``out_index`` of the image, written in buffer ``out_bank`` of the
        word memory the next stage reads.
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
            "out_index": Out(max(1, (plan.out_words - 1).bit_length())),
            "out_data": Out(plan.word_width),
            "out_en": Out(1),
            "out_bank": Out(1),
        }
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        s = SimpleNamespace()
        self._memories(m, s)
        self._window(m, s)
        self._items(m, s)
        self._pipeline(m, s)
        self._neurons(m, s)
        self._output(m, s)
        s.drain = Signal(range(self._plan.drain_cycles + 1), name="drain")
        with m.If(self.out_release):
            m.d.sync += self.out_full.eq(0)
        m.d.sync += s.asking.eq(0)
        self._item_control(m, s)
        with m.FSM():
            self._control_states(m, s)
            if self._plan.regenerates:
                s.regeneration(s.drain)
            hand_over_states(m, self, lambda: self._hand_over(m, s))
        with m.If(self.in_release):
            m.d.sync += s.in_bank.eq(~s.in_bank)
        return m

    def _memories(self, m, s) -> None:
        """The weights (per kernel lane and class, in banks of pieces:
        :meth:`.ConvStagePlan.weight_pieces`), the bias and threshold
        words of each lane group and (T > 1) the state ``V`` or ``A`` of each (position,
        lane group)."""
        plan, layer = self._plan, self._plan.layer
        lanes, sw = plan.lanes, layer.state_width
        weight_reads = []
        for j, words in enumerate(plan.weight_memories):
            banks = []
            for b, pieces in enumerate(plan.weight_pieces(words)):
                reads = []
                for q, (bits, init) in enumerate(pieces):
                    name = f"weights_{j}_{b}" + (f"_{q}" if len(pieces) > 1 else "")
                    m.submodules[name] = piece = memory.Memory(
                        shape=unsigned(bits), depth=len(init), init=init,
                        attrs=dict(plan.weight_attrs))
                    reads.append(piece.read_port())
                banks.append(reads)
            weight_reads.append(banks)
        m.submodules.bias = bias_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=plan.lane_groups, init=plan.bias_words)
        m.submodules.threshold = threshold_rom = memory.Memory(
            shape=unsigned(lanes * sw), depth=plan.lane_groups, init=plan.threshold_words)
        bias_read, threshold_read = bias_rom.read_port(), threshold_rom.read_port()
        s.weight_reads, s.bias_read, s.threshold_read = weight_reads, bias_read, threshold_read
        s.state_read = s.state_write = None
        if layer.timesteps > 1:
            m.submodules.state = state_mem = memory.Memory(
                shape=unsigned(lanes * sw), depth=plan.lane_groups * layer.positions, init=[])
            state_read, state_write = state_mem.read_port(), state_mem.write_port()
            s.state_read, s.state_write = state_read, state_write

    def _window(self, m, s) -> None:
        """Position counters and the input address of window slot ``k`` (kernel position
        ``(ky, kx) = (k % KH, k // KH)``; no multiplier: running sums); ``s.window`` shifts
        the window's words in, slot ``k`` at the top (:meth:`_set_k`). The address
        adds two registers, ``position_base`` (the window origin's address, buffer included)
        and ``offset`` (kernel position ``k``'s, set as ``k`` is: :meth:`_set_k`), so that
        one carry chain lies before the address register (the encoder's bitmap register is
        read through a multiplexer after it) or the word memory (whose word is held in a
        register after it): :data:`.stream_plan.WINDOW_LATENCY`."""
        plan, layer = self._plan, self._plan.layer
        timesteps = layer.timesteps
        channels, height, width = layer.in_shape
        _, out_h, out_w = layer.out_shape
        positions = plan.kernel_positions
        coordinate = signed(max(height, width, 2).bit_length() + 2)
        t = Signal(range(max(timesteps, 2)))
        oy, ox = Signal(range(max(out_h, 2))), Signal(range(max(out_w, 2)))
        origin_y, origin_x = Signal(coordinate), Signal(coordinate)
        address_range = signed((2 * timesteps * height * width + 2 * width + 2).bit_length() + 2)
        row_base = Signal(address_range)       # bank + t * H * W + origin_y * W
        step_base = Signal(address_range)      # bank + t * H * W
        position_base = Signal(address_range)  # row_base + origin_x
        in_bank = Signal()
        k = Signal(range(positions + WINDOW_LATENCY))
        offset_y, offset_x = Signal(range(max(layer.kernel_size[0], 2))), \
            Signal(range(max(layer.kernel_size[1], 2)))
        offset = Signal(address_range)   # offset_y * W + offset_x
        iy, ix = origin_y + offset_y, origin_x + offset_x
        inside = (k < positions) & (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
        flat = Signal(address_range)
        m.d.comb += flat.eq(position_base + offset)
        if self._plan.input_register:  # the address in a register before the multiplexer
            m.d.sync += self.in_addr.eq(flat)
            data = self.in_data
        else:                          # the word memory's output in a register
            data = Signal(channels, name="in_word")
            m.d.comb += self.in_addr.eq(flat)
            m.d.sync += data.eq(self.in_data)
        # a word asked for in slot k - 2 arrives (WINDOW_LATENCY), and whether it lies
        # inside; ``arriving`` (high only in WINDOW) in copies, each shifting WINDOW_BITS bits
        asked_inside, asking_inside, asking = Signal(), Signal(), Signal()
        window = Signal(positions * channels)
        arriving = replicas("arriving", len(window), per=WINDOW_BITS)
        m.d.sync += [asked_inside.eq(asking_inside), *(a.eq(asking) for a in arriving)]
        captured = Mux(asked_inside, data, 0)
        next_window = Signal(positions * channels)  # the window after this cycle's word
        m.d.comb += next_window.eq(Cat(window[channels:], captured) if positions > 1
                                   else captured)
        for b, copy in enumerate(arriving):
            with m.If(copy):
                bits = slice(b * WINDOW_BITS, (b + 1) * WINDOW_BITS)
                m.d.sync += window[bits].eq(next_window[bits])
        s.__dict__.update(next_window=next_window, t=t, oy=oy, ox=ox, origin_y=origin_y,
                          origin_x=origin_x, row_base=row_base, step_base=step_base,
                          position_base=position_base, in_bank=in_bank, k=k,
                          offsets=(offset_y, offset_x, offset),
                          inside=inside, asking_inside=asking_inside, asking=asking,
                          arriving=arriving, window=window)

    def _set_k(self, m, s, advance: bool, shift: bool = False) -> None:
        """``k`` to the window's first slot to read (0, or with ``shift`` the first of the
        last ``SW`` columns: the window moves one position along the row), or
        (``advance``) to ``k + 1``, and the offset registers with it: kernel position
        ``(kx, ky) = divmod(k, KH)``, address offset ``ky * W + kx`` (0 past the last
        position)."""
        layer = self._plan.layer
        width, (kh, kw), sx = layer.in_shape[2], layer.kernel_size, layer.stride[1]
        offset_y, offset_x, offset = s.offsets

        def table(index):
            kx, ky = divmod(index, kh) if index < self._plan.kernel_positions else (0, 0)
            return [offset_y.eq(ky), offset_x.eq(kx), offset.eq(ky * width + kx)]

        if not advance:
            first = (kw - sx) * kh if shift and sx < kw else 0
            m.d.sync += [s.k.eq(first), *table(first)]
            return
        m.d.sync += s.k.eq(s.k + 1)
        with m.Switch(s.k):
            for index in range(self._plan.kernel_positions):
                with m.Case(index):
                    m.d.sync += table(index + 1)

    def _items(self, m, s) -> None:
        """The work of one (lane group, kernel group): each kernel lane's pending channels of
        each class (``mask``), the lowest taken per cycle. As in :class:`.scan.PrefetchScan`,
        ``rest`` (``mask`` without its lowest channel) and ``single`` (at most one left) are
        kept beside ``mask``, and the next item's channels wait in ``upcoming`` (kernel
        group ``ahead`` is the one after it): an item ends on an AND of flip-flops, and only
        a 2:1 choice lies on the loop back to ``mask``."""
        plan = self._plan
        channels = self._plan.layer.in_shape[0]
        positions, kernel_lanes, kernel_groups = (plan.kernel_positions, plan.kernel_lanes,
                                                  plan.kernel_groups)
        events, depth = plan.events, plan.class_depth
        group = Signal(range(max(plan.lane_groups, 2)))
        kgroup = Signal(range(max(kernel_groups, 2)))
        ahead = Signal(range(max(kernel_groups, 2)))
        weight_base = Signal(range(max(len(plan.weight_memories[0]), 2)))
        last_kgroup, last_group = Signal(name="last_kgroup"), Signal(name="last_group")
        s.__dict__.update(window_last=Signal(name="window_last"), in_item=Signal(name="in_item"),
                          last_kgroup=last_kgroup, last_group=last_group,
                          item_last=last_kgroup & last_group)

        kh, kw = plan.layer.kernel_size

        def word_of(window, g: int, j: int):  # kernel lane j's window word in kernel group g
            ky, kx = divmod(g * kernel_lanes + j, kw)  # kernel position ky * KW + kx
            slot = kx * kh + ky
            return (window[slot * channels:(slot + 1) * channels] if ky < kh
                    else Const(0, channels))

        def class_of(word, e: int):  # channels e, e + E, ... of a window word
            if events == 1:
                return word
            return Cat(*(word[c] if c < channels else Const(0, 1)
                         for c in range(e, depth * events, events)))

        readers = [(j, e) for j in range(kernel_lanes) for e in range(events)]
        suffixes = [f"{j}" if events == 1 else f"{j}_{e}" for j, e in readers]
        masks, rests, upcoming = ([Signal(depth, name=f"{name}_{suffix}") for suffix in suffixes]
                                  for name in ("mask", "rest", "upcoming"))
        singles = [Signal(name=f"single_{suffix}") for suffix in suffixes]
        load, advance, stay = [], [], []
        for n, ((j, e), suffix) in enumerate(zip(readers, suffixes)):
            def take(bits, n=n):
                return [masks[n].eq(bits), rests[n].eq(bits & (bits - 1)),
                        singles[n].eq(at_most_one(bits))]
            chosen = Signal(depth, name=f"chosen_{suffix}")
            with m.Switch(ahead):
                for g in range(kernel_groups):
                    if g * kernel_lanes + j < positions:
                        with m.Case(g):
                            m.d.comb += chosen.eq(class_of(word_of(s.window, g, j), e))
            first = Signal(depth, name=f"first_{suffix}")
            m.d.comb += first.eq(class_of(word_of(s.next_window, 0, j), e))
            load += [*take(first), upcoming[n].eq(
                class_of(word_of(s.next_window, 1 % kernel_groups, j), e))]
            advance += [*take(upcoming[n]), upcoming[n].eq(chosen)]
            stay += take(rests[n])
        load.append(ahead.eq(2 % kernel_groups))
        advance.append(ahead.eq(Mux(ahead == kernel_groups - 1, 0, ahead + 1)))
        s.__dict__.update(group=group, kgroup=kgroup, weight_base=weight_base, masks=masks,
                          lowest=[lowest_set(mask) for mask in masks],
                          load_items=load, next_item=advance, stay_in_item=stay,
                          item_done=Cat(*singles).all())
        # output and state indices: a running count of positions and of (position, group)
        out_index = Signal(range(max(plan.out_words, 2)))
        state_index = Signal(range(max(plan.lane_groups * plan.layer.positions, 2)))
        s.out_index, s.state_index = out_index, state_index

    def _pipeline(self, m, s) -> None:
        """The pipeline, stage by stage: a (addresses) -> a2 (a memory of several pieces:
        every piece read; of one: its address held) -> b (the pieces' words in registers;
        one piece: its address held again) -> b2 (the first level of the piece's choice,
        :data:`.PIECE_CHOICE` words at a time, in registers; one piece: the block RAM read)
        -> r (the words read, in registers: nothing but routing after a block RAM's output,
        at most one multiplexer level before a register) -> c (weights, zero where no
        channel was read) -> d (each lane's sum of the readers' weights, a tree of
        registered pairwise adds: one carry chain between registers,
        :attr:`.ConvStagePlan.sum_levels`) -> e (accumulator ``acc``, the item's ``total``
        at its end)."""
        plan, layer = self._plan, self._plan.layer
        lanes, sw, ww, readers = plan.lanes, layer.state_width, layer.weight_width, \
            len(s.weight_reads)
        s.issue = issue = Signal(name="issue")
        valid_a = Signal(readers)
        tags = ["end", "first", "last_group"]
        tag_a = {name: Signal(name=f"{name}_a") for name in tags}
        group_a = Signal.like(s.group)
        index_a, state_a = Signal.like(s.out_index), Signal.like(s.state_index)
        words_read = []  # each reader's banks' words, in stage b2
        for j, banks in enumerate(s.weight_reads):
            depth = len(plan.weight_memories[j])
            outputs = []
            for b, pieces in enumerate(banks):
                address = Signal(range(max(depth, 2)), name=f"address_{j}_{b}",
                                 attrs={"keep": 1})
                m.d.sync += address.eq(s.weight_base + s.lowest[j])
                if len(pieces) == 1:  # the address held two cycles more: read in stage b2
                    held = address
                    for suffix in ("a2", "b"):
                        held, before = Signal.like(address, name=f"address_{j}_{b}_{suffix}",
                                                   attrs={"keep": 1}), held
                        m.d.sync += held.eq(before)
                    m.d.comb += pieces[0].addr.eq(held)
                    outputs.append(pieces[0].data)
                    continue
                low = len(pieces[0].addr)
                kept = []
                for q, read in enumerate(pieces):
                    word = Signal(len(read.data), name=f"read_{j}_{b}_{q}")
                    m.d.comb += read.addr.eq(address[:low])
                    m.d.sync += word.eq(read.data)
                    kept.append(word)
                outputs.append(self._choose_piece(m, f"{j}_{b}", address[low:], kept))
            words_read.append(outputs)
        m.d.sync += valid_a.eq(Cat(*((mask != 0) & issue for mask in s.masks)))
        with m.If(issue):
            m.d.sync += [tag_a["end"].eq(s.item_done & s.last_kgroup),
                         tag_a["first"].eq(s.t == 0),
                         tag_a["last_group"].eq(s.last_group),
                         group_a.eq(s.group), index_a.eq(s.out_index),
                         state_a.eq(s.state_index)]
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
        stage_b2 = delay(delay(delay(stage_a, "a2"), "b"), "b2")
        words = [Signal(lanes * ww, name=f"word_{j}") for j in range(readers)]
        m.d.sync += [word.eq(Cat(*outputs)) for word, outputs in zip(words, words_read)]
        stage_r = delay({name: stage_b2[name] for name in stage_b2 if name != "valid"}, "r")
        weights_c = [[Signal(signed(ww), name=f"w_{j}_{p}") for p in range(lanes)]
                     for j in range(readers)]
        for j in range(readers):  # each reader's valid bit in copies of CLEAR_LANES lanes
            valid_r = replicas(f"valid_r_{j}", lanes)
            m.d.sync += [copy.eq(stage_b2["valid"][j]) for copy in valid_r]
            m.d.sync += [weights_c[j][p].eq(Mux(valid_r[p // CLEAR_LANES],
                                                words[j][p * ww:(p + 1) * ww].as_signed(), 0))
                         for p in range(lanes)]
        stage_c = delay(stage_r, "c")
        sums = [Signal(signed(sw), name=f"sum_{p}") for p in range(lanes)]
        levels = plan.sum_levels
        for p in range(lanes):
            terms = [weights_c[j][p] for j in range(readers)]
            for level in range(1, levels + 1):
                pairs = []
                for k in range(0, len(terms), 2):
                    pair = (sums[p] if level == levels else
                            Signal(signed(ww + level), name=f"sum_{p}_{level}_{k // 2}"))
                    m.d.sync += pair.eq(sum(terms[k:k + 2]))
                    pairs.append(pair)
                terms = pairs
        stage_d = stage_c
        for level in range(1, levels + 1):
            before_d = stage_d
            stage_d = delay(stage_d, "d" if level == levels else f"d{level}")
        ends = replicas("end_d", lanes)  # the item's end: no one net drives every accumulator
        m.d.sync += [end.eq(before_d["end"]) for end in ends]
        acc = [Signal(signed(sw), name=f"acc_{p}") for p in range(lanes)]
        total = [Signal(signed(sw), name=f"total_{p}") for p in range(lanes)]
        for p in range(lanes):
            with m.If(ends[p // CLEAR_LANES]):
                m.d.sync += [total[p].eq(acc[p] + sums[p]), acc[p].eq(0)]
            with m.Else():
                m.d.sync += acc[p].eq(acc[p] + sums[p])
        m.d.comb += [s.bias_read.addr.eq(stage_d["group"]),
                     s.threshold_read.addr.eq(stage_d["group"])]
        s.stage_d, s.total = stage_d, total
        s.stage_e = delay({name: stage_d[name] for name in
                           ("end", "first", "last_group", "group", "index", "state")}, "e")

    def _choose_piece(self, m, name: str, piece_a: Value, kept: list) -> Value:
        """The word of piece ``piece_a`` (the high address bits, in stage a) among the
        pieces' words ``kept`` (registers, stage b), in stage b2: first the choice within
        each run of :data:`.PIECE_CHOICE` pieces, in registers, then the choice among
        those runs. Each level's choice comes in copies, one per :data:`.CLEAR_LANES` lanes
        of the word."""
        width, chunk = len(kept[0]), CLEAR_LANES * self._plan.layer.weight_width
        inner = (PIECE_CHOICE - 1).bit_length()

        def choose(words, choices):
            return Cat(*(Cat(*(word[i * chunk:(i + 1) * chunk] for word in words)).word_select(
                choice, min(chunk, width - i * chunk)) for i, choice in enumerate(choices)))

        piece = Signal(len(piece_a), name=f"piece_{name}_a2")
        chosen = replicas(f"piece_{name}_b", width, per=chunk, width=min(inner, len(piece)))
        m.d.sync += [piece.eq(piece_a), *(c.eq(piece[:inner]) for c in chosen)]
        runs = []
        for r, first in enumerate(range(0, len(kept), PIECE_CHOICE)):
            run = Signal(width, name=f"piece_{name}_run_{r}")
            words = kept[first:first + PIECE_CHOICE]
            m.d.sync += run.eq(words[0] if len(words) == 1 else choose(words, chosen))
            runs.append(run)
        if len(runs) == 1:
            return runs[0]
        outer_b = Signal(len(piece) - inner, name=f"piece_{name}_outer_b")
        outer = replicas(f"piece_{name}_b2", width, per=chunk, width=len(outer_b))
        m.d.sync += [outer_b.eq(piece[inner:]), *(c.eq(outer_b) for c in outer)]
        return choose(runs, outer)

    def _neurons(self, m, s) -> None:
        """At an item's end: charge ``V = acc + b + (0 if t == 0 else V)``, then IF fires,
        resets and collects the lane group's spikes into the output word; ASG keeps ``A``
        (its spikes come from the regeneration)."""
        plan, layer = self._plan, self._plan.layer
        lanes, groups, sw, timesteps = plan.lanes, plan.lane_groups, layer.state_width, \
            layer.timesteps
        stage_e = s.stage_e
        bias = lanes_of(s.bias_read.data, lanes, sw)
        threshold = lanes_of(s.threshold_read.data, lanes, sw)
        if timesteps > 1:
            m.d.comb += s.state_read.addr.eq(s.stage_d["state"])  # the regeneration's, below
            previous = [Mux(stage_e["first"], 0, v)
                        for v in lanes_of(s.state_read.data, lanes, sw)]
        else:
            previous = [Const(0, signed(sw))] * lanes
        charged = [Signal(signed(sw), name=f"charged_{p}") for p in range(lanes)]
        m.d.comb += [c.eq(v) for c, v in zip(charged, charge(s.total, bias, previous))]
        spikes = fire(charged, threshold)
        spike_word = Signal(groups * lanes)
        write_pending, write_index = Signal(), Signal.like(s.out_index)
        m.d.sync += write_pending.eq(0)
        regenerates = plan.regenerates
        with m.If(stage_e["end"]):
            if timesteps > 1:
                kept = charged if regenerates else reset(charged, spikes, threshold)
                m.d.comb += [s.state_write.addr.eq(stage_e["state"]), s.state_write.en.eq(1),
                             s.state_write.data.eq(Cat(*(v[:sw] for v in kept)))]
            if not regenerates:
                self._collect(m, spike_word, stage_e["group"], spikes, lanes, groups)
                m.d.sync += [write_pending.eq(stage_e["last_group"]),
                             write_index.eq(stage_e["index"])]
        if regenerates:
            s.regeneration = self._regeneration(m, s.state_read, s.threshold_read, threshold,
                                                spike_word, write_pending, write_index)
        s.spike_word, s.write_pending, s.write_index = spike_word, write_pending, write_index

    def _output(self, m, s) -> None:
        """Each finished output word onto the word memory's write port (in buffer
        ``out_bank``)."""
        out_bank = Signal()
        m.d.comb += [self.out_en.eq(s.write_pending), self.out_index.eq(s.write_index),
                     self.out_data.eq(s.spike_word[:self._plan.layer.out_shape[0]]),
                     self.out_bank.eq(out_bank)]
        s.out_bank = out_bank

    def _hand_over(self, m, s) -> None:
        m.d.sync += [s.out_bank.eq(~s.out_bank), self.out_full.eq(1)]

    def _next_position(self, m, s) -> None:
        """Advance (ox, oy, t) and the running sums that follow them."""
        layer = self._plan.layer
        _, height, width = layer.in_shape
        _, out_h, out_w = layer.out_shape
        (sh, sx), (ph, pw) = layer.stride, layer.padding
        m.d.sync += s.out_index.eq(s.out_index + 1)
        with m.If(s.ox == out_w - 1):
            self._set_k(m, s, advance=False)
            m.d.sync += [s.ox.eq(0), s.origin_x.eq(-pw)]
            with m.If(s.oy == out_h - 1):
                next_row = s.step_base + height * width - ph * width
                m.d.sync += [s.oy.eq(0), s.origin_y.eq(-ph), s.t.eq(s.t + 1),
                             s.state_index.eq(0),
                             s.step_base.eq(s.step_base + height * width),
                             s.row_base.eq(next_row), s.position_base.eq(next_row - pw)]
            with m.Else():
                m.d.sync += [s.oy.eq(s.oy + 1), s.origin_y.eq(s.origin_y + sh),
                             s.row_base.eq(s.row_base + sh * width),
                             s.position_base.eq(s.row_base + sh * width - pw)]
        with m.Else():
            self._set_k(m, s, advance=False, shift=True)
            m.d.sync += [s.ox.eq(s.ox + 1), s.origin_x.eq(s.origin_x + sx),
                         s.position_base.eq(s.position_base + sx)]

    def _item_control(self, m, s) -> None:
        """The registers that step through a position's items, outside the FSM: each
        enable is a function of a few flip-flops, not of a decode of the FSM's state and
        of counter compares. ``window_last`` is the last cycle of ``WINDOW`` (set the
        cycle before), ``in_item`` is high in ``ITEM``, and ``last_kgroup`` and
        ``last_group`` say that ``kgroup`` and ``group`` hold their last values (set with
        them); ``item_last`` is the last item of the position."""
        plan = self._plan
        kernel_groups, lane_groups = plan.kernel_groups, plan.lane_groups
        window_last, in_item, last_kgroup, last_group, item_last = (
            s.window_last, s.in_item, s.last_kgroup, s.last_group, s.item_last)
        m.d.sync += window_last.eq(0)
        with m.If(window_last):
            m.d.sync += [s.group.eq(0), s.kgroup.eq(0), s.weight_base.eq(0),
                         last_kgroup.eq(kernel_groups == 1), last_group.eq(lane_groups == 1),
                         in_item.eq(1), *s.load_items]
        with m.If(in_item):
            m.d.comb += s.issue.eq(1)
            with m.If(s.item_done):
                m.d.sync += s.next_item
                with m.If(item_last):
                    m.d.sync += [s.state_index.eq(s.state_index + 1), in_item.eq(0)]
                    self._next_position(m, s)
                with m.Else():
                    m.d.sync += s.weight_base.eq(s.weight_base + plan.class_depth)
                    with m.If(last_kgroup):
                        m.d.sync += [s.kgroup.eq(0), s.group.eq(s.group + 1),
                                     s.state_index.eq(s.state_index + 1),
                                     last_kgroup.eq(kernel_groups == 1),
                                     last_group.eq(s.group == lane_groups - 2)]
                    with m.Else():
                        m.d.sync += [s.kgroup.eq(s.kgroup + 1),
                                     last_kgroup.eq(s.kgroup == kernel_groups - 2)]
            with m.Else():
                m.d.sync += s.stay_in_item

    def _control_states(self, m, s) -> None:
        """``IDLE``, ``WINDOW`` (read the window, one word per cycle), ``ITEM``
        (the (lane group, kernel group) items of the position, one cycle per pending channel
        of the busiest kernel lane and class: :meth:`_item_control`) and ``DRAIN`` (the
        pipeline empties)."""
        plan, layer = self._plan, self._plan.layer
        width = layer.in_shape[2]
        _, out_h, out_w = layer.out_shape
        ph, pw = layer.padding
        positions = plan.kernel_positions
        last_position = ((s.t == layer.timesteps - 1) & (s.oy == out_h - 1)
                         & (s.ox == out_w - 1))
        with m.State("IDLE"):
            with m.If(self.in_full):
                bank = 0 if plan.input_register else Mux(s.in_bank, plan.in_words, 0)
                m.d.sync += [s.t.eq(0), s.oy.eq(0), s.ox.eq(0), s.origin_y.eq(-ph),
                             s.origin_x.eq(-pw), s.step_base.eq(bank),
                             s.row_base.eq(bank - ph * width),
                             s.position_base.eq(bank - ph * width - pw),
                             s.out_index.eq(0), s.state_index.eq(0)]
                self._set_k(m, s, advance=False)
                m.next = "WINDOW"
        with m.State("WINDOW"):
            m.d.sync += [s.asking_inside.eq(s.inside), s.asking.eq(s.k < positions),
                         s.window_last.eq(s.k == positions + WINDOW_LATENCY - 2)]
            self._set_k(m, s, advance=True)
            with m.If(s.window_last):
                m.next = "ITEM"
        with m.State("ITEM"):
            with m.If(s.item_done & s.item_last):
                with m.If(last_position):
                    m.d.sync += s.drain.eq(0)
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "WINDOW"
        with m.State("DRAIN"):
            m.d.sync += s.drain.eq(s.drain + 1)
            with m.If(s.drain == plan.drain_cycles - 1):
                m.next = "REGENERATE" if plan.regenerates else "DONE"

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
        potentials = [Signal(signed(sw), name=f"potential_{p}") for p in range(lanes)]
        m.d.comb += [u.eq(value) for u, value in zip(potentials, regenerate(
            lanes_of(potential_read.data, lanes, sw), lanes_of(state_read.data, lanes, sw),
            tags["first"]))]
        spikes = fire(potentials, threshold)
        with m.If(tags["valid"]):
            m.d.comb += [potential_write.addr.eq(tags["item"]), potential_write.en.eq(1),
                         potential_write.data.eq(Cat(*(
                             u[:sw] for u in reset(potentials, spikes, threshold))))]
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
