"""The input encoder core: uint8 pixels to input spike events of every step."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .plan import EncoderPlan, counter_width

__all__ = ["InputEncoder"]


class InputEncoder(wiring.Component):
    """Encode one image of pixels into per-step input events, with comparators and adders.

    For each pixel ``p`` (in C, H, W order) and each encoded channel ``e`` of its source
    channel (one cycle each)::

        n = sum_j (p >= tau[e, j])                      # spike count, T comparators
        V = 0; for t in 0..T-1: V += n; s_t = V >= T; V -= T*s_t   # unrolled
        for every t with s_t: push address e*H*W + y*W + x to the event list of step t

    The pixel is accepted (``pixels.ready``) in the cycle of its last encoded channel; a
    pixel channel with no encoded channel still takes one cycle.

    Attributes
    ----------
    pixels : In(stream.Signature(8))
        The pixel stream.
    enable : In(1)
        Accept pixels (the top holds it while loading an image).
    push_valid : Out(T)
        Bit ``t``: append ``push_address`` to the event list of step ``t``.
    push_address : Out
        Address of the encoded neuron: flat, or packed ``(x, y, e)`` fields when the first
        layer is a conv (``plan.output``).
    trace_address : Out
        The flat address, always.
    done : Out(1)
        High in the cycle the image's last pixel is accepted.
    """

    def __init__(self, plan: EncoderPlan):
        self._plan = plan
        self._flat_width = counter_width(plan.inputs - 1)
        self._address_width = (plan.output.total_width if plan.output is not None
                               else self._flat_width)
        super().__init__({
            "pixels": In(stream.Signature(8)),
            "enable": In(1),
            "push_valid": Out(plan.timesteps),
            "push_address": Out(self._address_width),
            "trace_address": Out(self._flat_width),
            "done": Out(1),
        })

    @property
    def address_width(self):
        return self._address_width

    def elaborate(self, platform):
        m = Module()
        plan = self._plan
        timesteps = plan.timesteps
        slots = [list(chs) or [None] for chs in plan.channels_of_source]
        max_slots = max(len(s) for s in slots)

        source = Signal(range(max(len(slots), 2)))
        position = Signal(range(max(plan.positions, 2)))
        slot = Signal(range(max(max_slots, 2)))
        last_slot = Signal()
        real = Signal()
        channel = Signal(range(max(len(plan.thresholds), 2)))
        channel_base = Signal(self._flat_width)
        x = Signal(range(max(plan.pixel_shape[2], 2)))
        y = Signal(range(max(plan.pixel_shape[1], 2)))
        count = Signal(range(timesteps + 1))
        pixel = self.pixels.payload

        with m.Switch(Cat(slot, source)):
            for c, channel_slots in enumerate(slots):
                for k, e in enumerate(channel_slots):
                    with m.Case(k | (c << len(slot))):
                        m.d.comb += last_slot.eq(k == len(channel_slots) - 1)
                        if e is not None:
                            m.d.comb += [real.eq(1), channel.eq(e),
                                         channel_base.eq(e * plan.positions),
                                         count.eq(sum(pixel >= Const(t, 9)
                                                      for t in plan.thresholds[e]))]

        step_spikes = []
        v = Const(0, range(2 * timesteps + 1))
        for t in range(timesteps):
            charged = Signal(range(2 * timesteps + 1), name=f"v_charged_{t}")
            m.d.comb += charged.eq(v + count)
            fired = Signal(name=f"spike_{t}")
            m.d.comb += fired.eq(charged >= timesteps)
            step_spikes.append(fired)
            v = Mux(fired, charged - timesteps, charged)

        active = self.enable & self.pixels.valid
        m.d.comb += [
            self.pixels.ready.eq(self.enable & last_slot),
            self.trace_address.eq(channel_base + position),
            self.push_valid.eq(Mux(active & real, Cat(*step_spikes), 0)),
        ]
        if plan.output is not None:
            fmt = plan.output
            m.d.comb += self.push_address.eq(Cat(x[:fmt.x_width], y[:fmt.y_width],
                                                 channel[:fmt.c_width]))
        else:
            m.d.comb += self.push_address.eq(self.trace_address)
        last_pixel = (source == len(slots) - 1) & (position == plan.positions - 1)
        with m.If(active):
            with m.If(~last_slot):
                m.d.sync += slot.eq(slot + 1)
            with m.Else():
                m.d.sync += slot.eq(0)
                with m.If(x == plan.pixel_shape[2] - 1):
                    m.d.sync += [x.eq(0), y.eq(y + 1)]
                with m.Else():
                    m.d.sync += x.eq(x + 1)
                with m.If(position == plan.positions - 1):
                    m.d.sync += [position.eq(0), y.eq(0)]
                    with m.If(last_pixel):
                        m.d.sync += source.eq(0)
                        m.d.comb += self.done.eq(1)
                    with m.Else():
                        m.d.sync += source.eq(source + 1)
                with m.Else():
                    m.d.sync += position.eq(position + 1)
        return m
