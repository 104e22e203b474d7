"""The dense layer stage of the dataflow design (:class:`spikewright.hdl_gen.stream_plan.DenseStagePlan`)."""

from contextlib import nullcontext
from types import SimpleNamespace

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from spikewright.golden.ir import Neuron

from ..spram import spram_instance, write_layout
from ..stream_plan import BANK_LANES, SCAN_WIDTH, DenseStagePlan, bank_words
from .hand_over import hand_over_states, word_address_width
from .lanes import lowest_set
from .neuron import charge, fire, lanes_of, regenerate, reset
from .replicas import CLEAR_LANES, copies, follow_while_not_full, replicas
from .scan import PlainScan, PrefetchScan

__all__ = ["DenseStage"]


class DenseStage(wiring.Component):
    """One dense layer as a stage: ``P`` lanes, ``G = ceil(N / P)`` groups, IF, ASG or readout.

    For each step ``t`` and each group ``g`` (a pass), with ``e_k`` the input events of step
    ``t`` (found by scanning the input bitmap, :data:`.stream_plan.SCAN_WIDTH` bits at a
    time)::

        acc_p = sum_k W[g*P + p, e_k]              # one weight word per event: adds only
        IF:      V = (0 if t == 0 else V) + acc + b;  s = V >= theta;  V = V - theta if s
        ASG:     A = (0 if t == 0 else A) + acc + b; after the last step's pass the
                 regeneration (:meth:`_regeneration`) gives the spikes of every step
        readout: L = (0 if t == 0 else L) + acc + b

    ``s`` goes to bit ``t * G*P + g*P + p`` of the output bitmap; the readout's logits are
    handed over after the last pass. Cycles: :meth:`.DenseStagePlan.cycles_of_scans`.

    Where a conv stage feeds it (``plan.word_scan``), the scan reads the conv's word memory
    a chunk of a word at a time in place of a bitmap register (:meth:`_word_chunks`), the
    weights in that order.

    With ``plan.events`` E > 1 each cycle takes up to E events, the lowest pending one of
    each residue class ``e mod E``, reads their words from E memories
    (:meth:`.DenseStagePlan.class_words`) and adds ``sum_j W[g*P + p, e_j]`` (a tree of
    registered pairwise sums, then the accumulator): the same sums in fewer cycles.

    Where its weights lie in SPRAM (``plan.spram``), ``weights`` writes them (one word per
    cycle, taken only while the stage is idle and before it starts an image).

    Attributes
    ----------
    in_bits, in_full, in_release : In, In(1), Out(1)
        The input bitmap's hand-over (module docstring).
    in_addr, in_data : Out, In(C) (in place of ``in_bits`` where a conv stage feeds it)
        A read port on the conv's double-buffered word memory: the word at ``in_addr``
        (``t * H * W + position``, past ``T * H * W`` the second buffer) arrives the next
        cycle.
    out_bits (IF) or logits (readout), out_full, out_release : Out, Out(1), In(1)
        The output's hand-over.
    weights : In(stream.Signature(spram.write_layout(target)))
        SPRAM designs only: a word for bank ``bank - plan.spram.first_bank``.
    """

    def __init__(self, plan: DenseStagePlan, target=None):
        self._plan = plan
        layer = plan.layer
        self._readout = layer.neuron is Neuron.NONE
        if plan.word_scan is None:
            members = {"in_bits": In(layer.timesteps * plan.in_stride)}
        else:
            words = layer.timesteps * plan.word_scan.positions
            members = {"in_addr": Out(word_address_width(words)),
                       "in_data": In(plan.word_scan.channels)}
        members |= {
            "in_full": In(1),
            "in_release": Out(1),
            "out_full": Out(1),
            "out_release": In(1),
        }
        if self._readout:
            members["logits"] = Out(data.ArrayLayout(signed(layer.state_width),
                                                     layer.out_features))
        else:
            members["out_bits"] = Out(layer.timesteps * plan.out_bits)
        if plan.spram is not None:
            members["weights"] = In(stream.Signature(write_layout(target)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        plan, layer = self._plan, self._plan.layer
        timesteps, chunks = layer.timesteps, plan.chunks
        events = plan.events
        base = Signal(range(max(plan.first_word + layer.groups * plan.class_depth, 2)),
                      name="base")
        suffixes = [""] if events == 1 else [f"_{j}" for j in range(events)]
        event_valid = ([Signal()] if events == 1  # "$signal", as verified designs name it
                       else [Signal(name=f"event_valid_{j}") for j in range(events)])
        event_address = [Signal(range(max(chunks * plan.scan_width // events, 2)),
                                name=f"event_address{x}") for x in suffixes]
        idle = Signal(name="idle")
        bank_data = [self._weight_banks(m, base, address, idle, j, valid)
                     for j, (address, valid) in enumerate(zip(event_address, event_valid))]
        bias_read, threshold_read, state = self._lane_memories(m)
        t = Signal(range(max(timesteps, 2)), name="t")
        group = Signal(range(max(layer.groups, 2)), name="group")
        chunk = Signal(range(max(chunks, 2)), name="chunk")
        fetching = plan.word_scan is not None
        if events == 1 and not plan.prefetch and not fetching:
            scan = PlainScan(chunk, chunks)
        else:
            scan = PrefetchScan(chunk, chunks, events, plan.scan_width, fetching)
        total = [Signal(signed(layer.state_width), name=f"total_{p}")
                 for p in range(layer.lanes)]
        reader = self._word_chunks(m, scan) if fetching else None
        lowest = self._lowest_events(m, scan, t, reader)
        acc = self._accumulate(m, event_valid, bank_data)
        m.d.comb += bias_read.addr.eq(group)
        work, previous, threshold, out_work = self._neuron_inputs(m, group, threshold_read,
                                                                  state)
        s = SimpleNamespace(
            t=t, group=group, chunk=chunk, base=base, scan=scan, lowest=lowest, idle=idle,
            event_valid=event_valid, event_address=event_address, acc=acc, total=total,
            bias=lanes_of(bias_read.data, layer.lanes, layer.state_width), previous=previous,
            threshold=threshold, work=work, out_work=out_work, state=state,
            last_pass=(t == timesteps - 1) & (group == layer.groups - 1), reader=reader,
            drain=Signal(range(plan.drain_cycles + 1), name="drain"))
        with m.If(self.out_release):
            m.d.sync += self.out_full.eq(0)
        self._replicated_enables(m, s)
        scan.between_passes(m)
        with m.FSM():
            self._scan_states(m, s)
            self._neuron_states(m, s)
            if plan.regenerates:
                self._regeneration(m, s)
            hand_over_states(m, self, lambda: self._hand_over(m, s))
        return m

    def _replicated_enables(self, m, s) -> None:
        """Where a stage has more lanes than :data:`.replicas.CLEAR_LANES`, the enables that
        would fan out from one decode to every lane come from copies (:mod:`.replicas`):
        ``summing`` (set as ``SUM`` begins) enables the totals, ``firing`` (``summing`` a
        cycle later: ``FIRE``) the spikes' write, and ``full`` (a copy of ``out_full``)
        the output bitmap, which follows the bitmap being built while nothing is handed
        over (the consumer reads it only while ``out_full``). Same cycles as one decode."""
        layer = self._plan.layer
        many = copies(layer.lanes) > 1
        s.summing = replicas("summing", layer.lanes) if many else []
        m.d.sync += [summing.eq(0) for summing in s.summing]
        spiking = many and not self._readout and not self._plan.regenerates
        s.firing = replicas("firing", layer.lanes) if spiking else []
        m.d.sync += [firing.eq(summing) for firing, summing in zip(s.firing, s.summing)]
        for p, (total, value) in enumerate(zip(s.total, self._charge(s) if many else [])):
            with m.If(s.summing[p // CLEAR_LANES]):
                m.d.sync += total.eq(value)
        if s.firing:
            self._write_spikes(m, s.out_work, s.group, s.t, fire(s.total, s.threshold),
                               s.firing)
        s.fulls = replicas("full", len(self.out_bits)) if many and not self._readout else []

        def follow(b, bits):
            m.d.sync += self.out_bits[bits].eq(s.out_work[bits])

        follow_while_not_full(m, s.fulls, self.out_release, CLEAR_LANES, follow)

    def _weight_banks(self, m, base, event_address, idle, j: int = 0, valid=None) -> list:
        """The weights (of residue class ``j`` where ``plan.events`` > 1) in banks of
        BANK_LANES lanes (or SPRAM banks), each read at its own address register (copies,
        kept apart, so that no one register drives every RAM; one register for all where
        the clock target does not need the copies). Where ``plan.events`` > 1 a cycle
        without an event of class ``j`` (``valid`` low), and every cycle from reset, reads
        the memory's word 0, zero (:meth:`.DenseStagePlan.class_words`), so the words are
        summed ungated.
        Returns each bank's read data."""
        plan, layer = self._plan, self._plan.layer
        lanes, ww, spram = layer.lanes, layer.weight_width, plan.spram
        bank_data = []
        lanes_per_bank = BANK_LANES if spram is None else spram.lanes_per_bank
        all_words = layer.weight_words if plan.events == 1 else plan.class_words(j)
        prefix = "" if plan.events == 1 else f"{j}_"
        for index, (width, words) in enumerate(bank_words(all_words, lanes, ww, lanes_per_bank)):
            if spram is None:
                m.submodules[f"weights_{prefix}{index}"] = bank = memory.Memory(
                    shape=unsigned(width), depth=len(words), init=words,
                    attrs=dict(plan.weight_attrs))
                read = bank.read_port()
                address, data_out = read.addr, read.data
            else:
                write = self.weights
                address = Signal(len(write.payload.address), name=f"spram_address_{index}")
                data_out = Signal(len(write.payload.data), name=f"spram_data_{index}")
                here = Signal(name=f"spram_write_{index}")
                m.d.comb += here.eq(write.valid & idle
                                    & (write.payload.bank == spram.first_bank + index))
                m.submodules[f"weights_{index}"] = spram_instance(
                    Mux(here, write.payload.address, address), write.payload.data, here,
                    data_out)
            if plan.prefetch or index == 0:
                register = Signal(len(address), name=f"address_{prefix}{index}",
                                  attrs={"keep": 1})
                if plan.events == 1:
                    m.d.sync += register.eq(base + event_address)
                else:
                    m.d.sync += register.eq(Mux(valid, base + event_address, 0))
            m.d.comb += address.eq(register)
            bank_data.append(data_out[:width])
        if spram is not None:
            m.d.comb += self.weights.ready.eq(idle)
        return bank_data

    def _lane_memories(self, m):
        """``(bias, threshold, state)``: read ports on the bias and threshold words of each
        lane group (no threshold for the readout) and the (read, write) ports of the
        membrane (IF) or accumulation (ASG) state of each lane group (T > 1 only)."""
        layer, width = self._plan.layer, self._plan.layer.lanes * self._plan.layer.state_width
        m.submodules.bias = bias_rom = memory.Memory(
            shape=unsigned(width), depth=layer.groups, init=layer.bias_words)
        bias_read = bias_rom.read_port()
        threshold_read = state = None
        if not self._readout:
            m.submodules.threshold = threshold_rom = memory.Memory(
                shape=unsigned(width), depth=layer.groups, init=layer.threshold_words)
            threshold_read = threshold_rom.read_port()
        if not self._readout and layer.timesteps > 1:
            m.submodules.state = state_mem = memory.Memory(
                shape=unsigned(width), depth=layer.groups, init=[])
            state_read, state_write = state_mem.read_port(), state_mem.write_port()
            state = (state_read, state_write)
        return bias_read, threshold_read, state

    def _word_chunks(self, m, scan) -> SimpleNamespace:
        """Where a conv stage feeds it: chunk ``c`` of step ``t`` is piece ``c mod pieces``
        of word ``t * H * W + c // pieces`` of the word memory
        (:class:`.word_scan.WordScan`), read a cycle ahead: every cycle the word of chunk
        ``scan.ahead_next`` (the chunk ``ahead`` names from the next cycle on), or in
        ``FETCH`` (``fetch_first``) of chunk 0, whose first piece ``FIRST`` keeps in
        ``first``. ``step_base`` (the step's first word, in the buffer read) is set by the
        FSM. Returns these signals and ``fetched`` (the chunk read the cycle before)."""
        width, pieces = self._plan.word_scan.width, self._plan.word_scan.pieces
        shift = (pieces - 1).bit_length()
        r = SimpleNamespace(
            fetch_first=Signal(name="fetch_first"), first=Signal(width, name="first_chunk"),
            step_base=Signal(len(self.in_addr), name="step_base"),
            in_bank=Signal(name="in_bank"), fetched=Signal(width, name="fetched"))
        fetch = Signal.like(scan.ahead_next, name="fetch_chunk")
        m.d.comb += [fetch.eq(Mux(r.fetch_first, 0, scan.ahead_next)),
                     self.in_addr.eq(r.step_base + (fetch >> shift))]
        word = Signal(pieces * width, name="word_read")
        m.d.comb += word.eq(self.in_data)
        if pieces > 1:
            piece = Signal(shift, name="piece")
            m.d.sync += piece.eq(fetch[:shift])
            m.d.comb += r.fetched.eq(word.word_select(piece, width))
        else:
            m.d.comb += r.fetched.eq(word)
        with m.If(self.in_release):
            m.d.sync += r.in_bank.eq(~r.in_bank)
        return r

    def _word_states(self, m, s) -> None:
        """``FETCH`` (chunk 0's word read) and ``FIRST`` (chunk 0 kept, chunk 1's word read),
        before each pass's ``LOAD`` where a conv stage feeds it
        (:data:`.stream_plan.WORD_FETCH_CYCLES`)."""
        with m.State("FETCH"):
            m.d.comb += s.reader.fetch_first.eq(1)
            m.next = "FIRST"
        with m.State("FIRST"):
            m.d.sync += s.reader.first.eq(s.reader.fetched)
            m.next = "LOAD"

    def _lowest_events(self, m, scan, t, reader=None) -> list:
        """The lowest pending event of the scan's chunk (``scan.mask``; of each residue
        class's mask, ``scan.masks``, where ``plan.events`` > 1); the scan's chunk
        multiplexers over step ``t``'s input bitmap, or the chunks of ``reader``
        (:meth:`_word_chunks`)."""
        plan, timesteps, chunks = self._plan, self._plan.layer.timesteps, self._plan.chunks
        width = plan.scan_width

        def bits_of(s, c):
            low = s * plan.in_stride + c * SCAN_WIDTH
            return self.in_bits[low:s * plan.in_stride + min((c + 1) * SCAN_WIDTH, plan.in_bits)]

        def chunk_of(step, index, name):
            """Bits ``index * SCAN_WIDTH ..`` of step ``step``'s input bitmap (chunk 0 where
            ``index`` is None)."""
            value = Signal(SCAN_WIDTH, name=name)
            if index is None:
                selector = step
            else:  # one step: the chunk alone (the step register's value is always 0)
                selector = index if timesteps == 1 else Cat(index, step)
            with m.Switch(selector):
                for s in range(timesteps):
                    for c in range(1 if index is None else chunks):
                        key = s if index is None else c | (s << len(index))
                        with m.Case(key):
                            m.d.comb += value.eq(bits_of(s, c))
                with m.Default():
                    m.d.comb += value.eq(0)
            return value

        if plan.events == 1:
            lowest = Signal(range(width), name="lowest")
            for bit in reversed(range(width)):
                with m.If(scan.mask[bit]):
                    m.d.comb += lowest.eq(bit)
            lowest = [lowest]
        else:
            lowest = [Signal(range(width // plan.events), name=f"lowest_{j}")
                      for j in range(plan.events)]
            m.d.comb += [index.eq(lowest_set(mask)) for index, mask in zip(lowest, scan.masks)]
        if reader is None:
            scan.connect(m, lambda index, name: chunk_of(t, index, name))
        else:
            scan.connect(m, lambda index, name: reader.first if index is None
                         else reader.fetched)
        return lowest

    def _accumulate(self, m, event_valid, bank_data) -> list:
        """The pipeline event register -> weight read (block RAM) -> weight register ->
        add: ``acc_p += W[.., e]`` for each event; with several events per cycle, each lane's
        words (zero words where a class has no event) are summed in a tree of registered
        pairwise adds (one carry chain each: Yosys maps an adder of several operands to
        logic, not carry chains) before the add. Returns the lanes' accumulators."""
        layer = self._plan.layer
        lanes, ww = layer.lanes, layer.weight_width
        acc = [Signal(signed(layer.state_width), name=f"acc_{p}") for p in range(lanes)]
        self._clears = self._clear_registers(m, acc)
        if len(event_valid) == 1:
            word_valid, word = Signal(name="word_valid"), Signal(lanes * ww, name="word")
            address_valid, read_valid = Signal(name="address_valid"), Signal(name="read_valid")
            m.d.sync += [event_valid[0].eq(0), address_valid.eq(event_valid[0]),
                         read_valid.eq(address_valid), word_valid.eq(read_valid),
                         word.eq(Cat(*bank_data[0]))]
            with m.If(word_valid):
                m.d.sync += [acc[p].eq(acc[p] + word[p * ww:(p + 1) * ww].as_signed())
                             for p in range(lanes)]
            self._clear(m, acc)
            return acc
        words = []
        for j, (valid, data_out) in enumerate(zip(event_valid, bank_data)):
            word = Signal(lanes * ww, name=f"word_{j}")
            m.d.sync += [valid.eq(0), word.eq(Cat(*data_out))]
            words.append(word)
        for p in range(lanes):
            terms = [word[p * ww:(p + 1) * ww].as_signed() for word in words]
            level = 0
            while len(terms) > 1:  # a tree of registered pairwise sums, one level per cycle
                level += 1
                pairs = []
                for k in range(0, len(terms), 2):
                    pair = Signal(signed(ww + level), name=f"weights_{p}_{level}_{k // 2}")
                    m.d.sync += pair.eq(terms[k] + terms[k + 1])
                    pairs.append(pair)
                terms = pairs
            m.d.sync += acc[p].eq(acc[p] + terms[0])
        self._clear(m, acc)
        return acc

    def _clear_registers(self, m, acc) -> list:
        """With the prefetching scan (:func:`.stream_plan.prefetches`): one register per
        :data:`CLEAR_LANES` lanes, set in ``LOAD`` and clearing those accumulators the
        cycle after (before the pass's first weight reaches them, a pipeline of
        :data:`.stream_plan.DRAIN_CYCLES` later), so that no decode of the state drives
        every accumulator."""
        if not self._plan.prefetch:
            return []
        clears = replicas("clear", len(acc))
        m.d.sync += [clear.eq(0) for clear in clears]
        return clears

    def _clear(self, m, acc) -> None:
        for b, clear in enumerate(self._clears):
            with m.If(clear):
                m.d.sync += [a.eq(0) for a in acc[b * CLEAR_LANES:(b + 1) * CLEAR_LANES]]

    def _neuron_inputs(self, m, group, threshold_read, state):
        """``(work, previous, threshold, out_work)`` of lane group ``group``: the readout's
        logits (``work``), each lane's value before this step (the logit, the state memory's
        word, or 0 at T = 1), its threshold and the output bitmap being built."""
        layer = self._plan.layer
        lanes, groups, sw = layer.lanes, layer.groups, layer.state_width
        work = threshold = out_work = None
        if self._readout:
            work = [Signal(signed(sw), name=f"logit_{n}") for n in range(layer.out_features)]
            previous = [Signal(signed(sw), name=f"previous_{p}") for p in range(lanes)]
            with m.Switch(group):
                for g in range(groups):
                    with m.Case(g):
                        for p in range(lanes):
                            if g * lanes + p < layer.out_features:
                                m.d.comb += previous[p].eq(work[g * lanes + p])
        elif state is not None:
            m.d.comb += [state[0].addr.eq(group), state[1].addr.eq(group)]
            previous = lanes_of(state[0].data, lanes, sw)
        else:
            previous = [Const(0, signed(sw))] * lanes
        if not self._readout:
            m.d.comb += threshold_read.addr.eq(group)
            threshold = lanes_of(threshold_read.data, lanes, sw)
            out_work = Signal(layer.timesteps * self._plan.out_bits, name="out_work")
        return work, previous, threshold, out_work

    def _hand_over(self, m, s) -> None:
        if self._readout:
            m.d.sync += [self.logits[n].eq(s.work[n])
                         for n in range(self._plan.layer.out_features)]
        elif not s.fulls:
            m.d.sync += self.out_bits.eq(s.out_work)
        m.d.sync += [self.out_full.eq(1), *(full.eq(1) for full in s.fulls)]

    def _next_pass(self, m, s) -> None:
        """After a pass: the next lane group (or the next step's first), or ``DONE``."""
        layer = self._plan.layer
        with m.If(s.last_pass):
            m.next = "DONE"
        with m.Else():
            with m.If(s.group == layer.groups - 1):
                m.d.sync += [s.group.eq(0), s.base.eq(self._plan.first_word), s.t.eq(s.t + 1)]
                if s.reader is not None:
                    positions = self._plan.word_scan.positions
                    m.d.sync += s.reader.step_base.eq(s.reader.step_base + positions)
            with m.Else():
                m.d.sync += [s.group.eq(s.group + 1),
                             s.base.eq(s.base + self._plan.class_depth)]
            m.next = "LOAD" if s.reader is None else "FETCH"

    def _scan_states(self, m, s) -> None:
        """``IDLE`` (wait for an input), ``LOAD`` (a pass's first chunk), ``SCAN`` (one event
        per cycle into the pipeline) and ``DRAIN`` (the pipeline empties)."""
        spram, chunks = self._plan.spram, self._plan.chunks
        with m.State("IDLE"):
            m.d.comb += s.idle.eq(1)
            writing = self.weights.valid if spram is not None else Const(0, 1)
            with m.If(self.in_full & ~writing):
                m.d.sync += [s.t.eq(0), s.group.eq(0), s.base.eq(self._plan.first_word)]
                if s.reader is None:
                    m.next = "LOAD"
                else:
                    words = self._plan.layer.timesteps * self._plan.word_scan.positions
                    m.d.sync += s.reader.step_base.eq(Mux(s.reader.in_bank, words, 0))
                    m.next = "FETCH"
        if s.reader is not None:
            self._word_states(m, s)
        with m.State("LOAD"):
            s.scan.load(m)
            # set the clear registers, or where there are none clear every accumulator
            m.d.sync += [clear.eq(1) for clear in self._clears] or [a.eq(0) for a in s.acc]
            m.next = "SCAN"
        with m.State("SCAN"):
            m.d.sync += [statement for valid, address, lowest, mask in zip(
                s.event_valid, s.event_address, s.lowest, s.scan.masks)
                for statement in (valid.eq(mask != 0), address.eq(Cat(lowest, s.chunk)))]
            with m.If(s.scan.advance):  # this chunk's last event (or none): on to the next
                with m.If(s.chunk == chunks - 1):
                    m.d.sync += s.drain.eq(0)
                    m.next = "DRAIN"
                with m.Else():
                    m.d.sync += s.chunk.eq(s.chunk + 1)
                    s.scan.on_advance(m)
            with m.Else():
                s.scan.on_stay(m)
        with m.State("DRAIN"):
            m.d.sync += s.drain.eq(s.drain + 1)
            with m.If(s.drain == self._plan.drain_cycles - 1):
                m.d.sync += [summing.eq(1) for summing in s.summing]
                m.next = "SUM"

    def _neuron_states(self, m, s) -> None:
        """``SUM`` (charge: ``total = V + acc + b``) and ``FIRE`` (the readout keeps its
        logits; ASG keeps ``A`` for the regeneration; IF fires, resets and writes the step's
        spikes)."""
        layer = self._plan.layer
        lanes, groups, timesteps = layer.lanes, layer.groups, layer.timesteps
        with m.State("SUM"):
            if not s.summing:  # else :meth:`_replicated_enables`
                m.d.sync += [total.eq(value) for total, value in zip(s.total, self._charge(s))]
            m.next = "FIRE"
        with m.State("FIRE"):
            if self._readout:
                with m.Switch(s.group):
                    for g in range(groups):
                        with m.Case(g):
                            for p in range(lanes):
                                if g * lanes + p < layer.out_features:
                                    m.d.sync += s.work[g * lanes + p].eq(s.total[p])
            elif self._plan.regenerates:  # accumulate A; its spikes come in REGENERATE
                m.d.comb += [s.state[1].en.eq(1), s.state[1].data.eq(Cat(*s.total))]
            else:
                spikes = fire(s.total, s.threshold)
                if timesteps > 1:
                    kept = [Signal(signed(layer.state_width), name=f"reset_{p}")
                            for p in range(lanes)]
                    m.d.comb += [k.eq(v) for k, v in
                                 zip(kept, reset(s.total, spikes, s.threshold))]
                    m.d.comb += [s.state[1].en.eq(1), s.state[1].data.eq(Cat(*kept))]
                if not s.firing:
                    self._write_spikes(m, s.out_work, s.group, s.t, spikes)
            if self._plan.regenerates:
                with m.If(s.t == timesteps - 1):
                    m.next = "REGENERATE"
                with m.Else():
                    self._next_pass(m, s)
            else:
                self._next_pass(m, s)

    @staticmethod
    def _charge(s) -> list:
        """Each lane's ``total`` at the end of a pass: ``(0 if t == 0 else V) + acc + b``."""
        first = s.t == 0
        return charge([Mux(first, 0, v) for v in s.previous], s.acc, s.bias)

    def _write_spikes(self, m, out_work, group, step, spikes, enables=None) -> None:
        """Lane group ``group``'s ``spikes`` of step ``step`` into the output bitmap being
        built (bits ``step * G*P + group*P ..``); with ``enables`` (:func:`.replicas`)
        each copy's lanes where that copy is set."""
        plan, layer = self._plan, self._plan.layer
        if enables is None:
            blocks = [(0, layer.lanes, None)]
        else:
            blocks = [(b * CLEAR_LANES, min(layer.lanes, (b + 1) * CLEAR_LANES), enable)
                      for b, enable in enumerate(enables)]
        for first, end, enable in blocks:
            with m.If(enable) if enable is not None else nullcontext():
                with m.Switch(Cat(group, step)):
                    for s in range(layer.timesteps):
                        for g in range(layer.groups):
                            with m.Case(g | (s << len(group))):
                                low = s * plan.out_bits + g * layer.lanes
                                m.d.sync += out_work[low + first:low + end].eq(
                                    spikes if enable is None else spikes[first:end])

    def _regeneration(self, m, s) -> None:
        """The ASG regeneration of lane group ``group`` after its last step's pass (``total``
        holds ``A``), one output step ``s`` per cycle (:func:`.neuron.regenerate`)::

            U = (0 if s == 0 else U) + A;  spike = U >= T*theta;  U = U - T*theta if spike

        ``spike`` goes to bit ``s * G*P + g*P + p`` of the output bitmap."""
        layer = self._plan.layer
        lanes, sw, timesteps = layer.lanes, layer.state_width, layer.timesteps
        step = Signal(range(timesteps), name="regenerate_step")
        held = [Signal(signed(sw), name=f"potential_{p}") for p in range(lanes)]
        potentials = [Signal(signed(sw), name=f"next_potential_{p}") for p in range(lanes)]
        m.d.comb += [u.eq(value) for u, value in
                     zip(potentials, regenerate(held, s.total, step == 0))]
        spikes = fire(potentials, s.threshold)
        with m.State("REGENERATE"):
            m.d.sync += [u.eq(value) for u, value in
                         zip(held, reset(potentials, spikes, s.threshold))]
            self._write_spikes(m, s.out_work, s.group, step, spikes)
            with m.If(step == timesteps - 1):
                m.d.sync += step.eq(0)
                self._next_pass(m, s)
            with m.Else():
                m.d.sync += step.eq(step + 1)
