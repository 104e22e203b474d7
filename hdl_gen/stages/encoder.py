"""The encoder stage: pixels to the input bitmap of every step."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..stream_plan import EncoderStagePlan
from .replicas import follow_while_not_full, replicas

__all__ = ["EncoderStage"]

#: Output bitmap bits under one copy of the encoder's enables (:meth:`EncoderStage._follow`).
BITMAP_BITS = 64


class EncoderStage(wiring.Component):
    """Pixels to the input bitmap of every step, ``pixels_per_beat`` pixels per cycle.

    For each pixel ``p`` of a beat and each encoded channel ``e`` of its source channel::

        n = sum_j (p >= tau[e, j])                       # spike count, T comparators
        V = 0; for t in 0..T-1: V += n; s_t = V >= T; V -= T*s_t   # unrolled

    ``s_t`` shifts into the bitmap register of step ``t`` at neuron ``e*H*W + y*W + x``.
    The bitmap is handed over in the cycle of an image's last beat (or, while the previous
    one is held, as soon as it is released). With one buffer (``plan.buffers``) the working
    register is the bitmap handed over, and no beat is taken while it is held. Cycles:
    :meth:`.EncoderStagePlan.stage_cycles`.

    Attributes
    ----------
    pixels : In(stream.Signature(8 * pixels_per_beat))
        Pixels in C, H, W order, the first of a beat in the low byte.
    out_bits : Out(T * channels * H * W)
        The bitmap: bit ``t * inputs + neuron``.
    out_full, out_release : Out(1), In(1)
        The hand-over (module docstring).
    """

    def __init__(self, plan: EncoderStagePlan):
        self._plan = plan
        encoder = plan.encoder
        self._bits = encoder.timesteps * encoder.inputs
        super().__init__({
            "pixels": In(stream.Signature(8 * plan.pixels_per_beat)),
            "out_bits": Out(self._bits),
            "out_full": Out(1),
            "out_release": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        plan, encoder = self._plan, self._plan.encoder
        beat_pixels, timesteps = plan.pixels_per_beat, encoder.timesteps
        positions = encoder.positions
        beats_per_channel = positions // beat_pixels
        sources = len(encoder.channels_of_source)

        beat = Signal(range(max(beats_per_channel, 2)))
        source = Signal(range(max(sources, 2)))
        last_beat = (beat == beats_per_channel - 1) & (source == sources - 1)
        pixels = [self.pixels.payload[8 * j:8 * (j + 1)] for j in range(beat_pixels)]
        accept = self.pixels.valid & self.pixels.ready

        # working registers: one per (step, encoded channel), the newest beat at the top;
        # with two buffers each BITMAP_BITS of them shift under their copy of ``accepting``
        encoded = len(encoder.thresholds)
        accepting = (replicas("accepting", self._bits, per=BITMAP_BITS, init=1)
                     if plan.buffers == 2 else None)
        registers, following = {}, {}
        for c, channels in enumerate(encoder.channels_of_source):
            for e in channels:
                steps = [self._step_spikes(m, encoder.thresholds[e], p, timesteps, e, j)
                         for j, p in enumerate(pixels)]
                for t in range(timesteps):
                    register = Signal(positions, name=f"work_{e}_{t}")
                    shifted = Signal(positions, name=f"next_{e}_{t}")
                    new_bits = Cat(*(steps[j][t] for j in range(beat_pixels)))
                    m.d.comb += shifted.eq(Cat(register[beat_pixels:], new_bits)
                                           if positions > beat_pixels else new_bits)
                    if accepting is None:
                        with m.If(accept & (source == c)):
                            m.d.sync += register.eq(shifted)
                    else:
                        self._shift(m, register, shifted, (t * encoded + e) * positions,
                                    [self.pixels.valid & a & (source == c) for a in accepting])
                    registers[e, t] = register
                    # at the last beat, only the last source channel's registers shift
                    following[e, t] = shifted if c == sources - 1 else register

        def bitmap(values):
            return Cat(*(values[e, t] if (e, t) in values else Const(0, positions)
                         for t in range(timesteps) for e in range(encoded)))

        with m.If(self.out_release):
            m.d.sync += self.out_full.eq(0)
        with m.If(accept):
            with m.If(beat == beats_per_channel - 1):
                m.d.sync += [beat.eq(0), source.eq(Mux(source == sources - 1, 0, source + 1))]
            with m.Else():
                m.d.sync += beat.eq(beat + 1)
        if plan.buffers == 1:
            m.d.comb += [self.pixels.ready.eq(~self.out_full),
                         self.out_bits.eq(bitmap(registers))]
            with m.If(accept & last_beat):
                m.d.sync += self.out_full.eq(1)
            return m
        fulls = self._follow(m, accepting, bitmap(registers), bitmap(following))
        with m.FSM():
            with m.State("ACCEPT"):
                m.d.comb += self.pixels.ready.eq(1)
                with m.If(self.pixels.valid & last_beat):
                    with m.If(~self.out_full):
                        m.d.sync += [self.out_full.eq(1), *(f.eq(1) for f in fulls)]
                    with m.Else():
                        m.d.sync += [a.eq(0) for a in accepting]
                        m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(~self.out_full):
                    m.d.sync += [self.out_full.eq(1), *(f.eq(1) for f in fulls),
                                 *(a.eq(1) for a in accepting)]
                    m.next = "ACCEPT"
        return m

    @staticmethod
    def _shift(m, register, shifted, first: int, enables) -> None:
        """``register`` (bits ``first ..`` of the bitmap) to ``shifted``, each
        :data:`BITMAP_BITS` bits of the bitmap under its own enable."""
        end = first + len(register)
        for b in range(first // BITMAP_BITS, (end - 1) // BITMAP_BITS + 1):
            low, high = max(first, b * BITMAP_BITS) - first, min(end, (b + 1) * BITMAP_BITS) - first
            with m.If(enables[b]):
                m.d.sync += register[low:high].eq(shifted[low:high])

    def _follow(self, m, accepting, held, following):
        """The output bitmap under copies of its enables (:mod:`.replicas`), one per
        :data:`BITMAP_BITS` bits: ``accepting`` (high in ``ACCEPT``) and ``full`` (a copy
        of ``out_full``). While nothing is handed over, the bitmap follows what it would
        take: the working registers after this cycle's beat (``following``) while a beat
        is taken, else as they are (``held``); the consumer reads it only while
        ``out_full``. Returns the copies of ``full``."""
        fulls = replicas("full", self._bits, per=BITMAP_BITS)

        def follow(b, bits):
            with m.If(accepting[b] & self.pixels.valid):
                m.d.sync += self.out_bits[bits].eq(following[bits])
            with m.Else():
                m.d.sync += self.out_bits[bits].eq(held[bits])

        follow_while_not_full(m, fulls, self.out_release, BITMAP_BITS, follow)
        return fulls

    @staticmethod
    def _step_spikes(m, thresholds, pixel, timesteps, e, j):
        count = Signal(range(timesteps + 1), name=f"count_{e}_{j}")
        m.d.comb += count.eq(sum(pixel >= Const(t, 9) for t in thresholds))
        spikes, v = [], Const(0, range(2 * timesteps + 1))
        for t in range(timesteps):
            charged = v + count
            fired = Signal(name=f"spike_{e}_{j}_{t}")
            m.d.comb += fired.eq(charged >= timesteps)
            spikes.append(fired)
            v = Mux(fired, charged - timesteps, charged)
        return spikes
